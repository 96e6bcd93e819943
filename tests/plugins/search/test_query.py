"""The search query language: parsing, compiling to FTS5, fuzzy candidates, hostile input."""
from __future__ import annotations

import random
import re
import sqlite3

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fairhub_search import query

from fairhub_search.query import And, Not, Or, Phrase, Term, parse, to_fts5, within, words

COLUMNS = {"field": "field_names field_text"}


def T(text, field=None, prefix=False, fuzzy=0):
    return Term(text, field, prefix, fuzzy)


@pytest.mark.parametrize("text, tree", [
    ("alz", T("alz")),
    ("Alz BETA", And((T("alz"), T("beta")))),
    ('"Exact Phrase"', Phrase(("exact", "phrase"))),
    ('"one"', T("one")),
    ("alz*", T("alz", prefix=True)),
    ("alz***", T("alz", prefix=True)),
    ("alz~", T("alz", fuzzy=2)),  # Lucene's default
    ("alz~1", T("alz", fuzzy=1)),
    ("alz~2", T("alz", fuzzy=2)),
    ("alz~9", T("alz", fuzzy=2)),
    ("alz~0", T("alz")),
    ("a OR b", Or((T("a"), T("b")))),
    ("a OR b OR c", Or((T("a"), T("b"), T("c")))),
    ("a b OR c d", And((T("a"), Or((T("b"), T("c"))), T("d")))),
    ('"a b" OR c*', Or((Phrase(("a", "b")), T("c", prefix=True)))),
    ("a or b", And((T("a"), T("or"), T("b")))),
    ("-a b", And((Not(T("a")), T("b")))),
    ("--a b", And((Not(T("a")), T("b")))),
    ('a -"b c"', And((T("a"), Not(Phrase(("b", "c")))))),
    ("a -title:b", And((T("a"), Not(T("b", "title"))))),
    ("a OR -b", And((T("a"), Not(T("b"))))),
    ("-a OR b", And((Not(T("a")), T("b")))),
    ("title:Foo", T("foo", "title")),
    ("TITLE:foo", T("foo", "title")),
    ('title:"Big Data"', Phrase(("big", "data"), "title")),
    ("publisher:ox*", T("ox", "publisher", prefix=True)),
    ("keyword:demen~", T("demen", "keyword", fuzzy=2)),
    ("field:age description:x", And((T("age", "field"), T("x", "description")))),
    ("dictionary:a-b", And((T("a", "dictionary"), T("b", "dictionary")))),
    ("other:foo", And((T("other"), T("foo")))),
    ("title:", T("title")),
    ("title: foo", And((T("title"), T("foo")))),
    ("foo-bar baz", And((T("foo"), T("bar"), T("baz")))),
    ("foo-ba*", And((T("foo"), T("ba", prefix=True)))),
    ("foo-*", T("foo")),
    ("Über CAFÉ 日本語", And((T("über"), T("café"), T("日本語")))),
    ("Cafe\u0301", T("café")),  # decomposed accent: normalized first
    ('"unbalanced a -b OR c', And((T("unbalanced"), T("a"), T("b"), T("or"), T("c")))),
    ("OR a", T("a")),
    ("a OR", T("a")),
    ("a OR OR b", Or((T("a"), T("b")))),
    ("- a", T("a")),
    ("", None), ("   ", None), ("OR", None), ("OR OR", None), ("-", None), ("*", None),
    ("~~", None), (":::", None), ('""', None), ('" "', None),
    ("-title:", Not(T("title"))),
])
def test_parse(text, tree):
    assert parse(text) == tree


def test_parse_keeps_32_terms_of_64_characters():
    many = parse(" ".join(f"w{i}" for i in range(100)))
    assert words(many) == [f"w{i}" for i in range(32)]
    assert parse("x" * 100) == T("x" * 64)
    assert parse(" ".join(["a"] * 31) + ' "b c d"') == And((*[T("a")] * 31, T("b")))


def test_words_are_the_positive_ones_once():
    assert words(parse('a -b "c d" OR e -"f g" A title:h')) == ["a", "c", "d", "e", "h"]
    assert words(parse("-a")) == []
    assert words(None) == []


def fuzzy(word, distance):
    return {"alz": ["alx", "ala"], "wrd": ["wrd", "word", 'w"d', "word"]}.get(word, [])


@pytest.mark.parametrize("tree, expected", [
    (T("a"), '"a"'),
    (T("a", prefix=True), '"a" *'),
    (T("a", "title"), '{title} : "a"'),
    (T("a", "title", prefix=True), '{title} : "a" *'),
    (T("a", "field"), '{field_names field_text} : "a"'),
    (T("alz", fuzzy=1), '("alz" OR "alx" OR "ala")'),
    (T("alz", "keyword", fuzzy=2), '({keyword} : "alz" OR {keyword} : "alx" OR {keyword} : "ala")'),
    (T("wrd", fuzzy=1), '("wrd" OR "word" OR "w""d")'),
    (T("none", fuzzy=1), '"none"'),
    (Phrase(("a", "b", "c")), '"a b c"'),
    (Phrase(("a", "b"), "publisher"), '{publisher} : "a b"'),
    (Or((T("a"), T("b"))), '("a" OR "b")'),
    (And((T("a"), T("b"))), '"a" AND "b"'),
    (And((T("a"), T("b"), Not(T("c")), Not(T("d")))), '("a" AND "b") NOT "c" NOT "d"'),
    (And((Not(T("c")), T("a"))), '"a" NOT "c"'),
    (And((T("a"), Or((T("b"), T("c"))), T("d"))), '"a" AND ("b" OR "c") AND "d"'),
    (And((Or((T("a"), T("b"))), Not(Or((T("c"), T("d")))))), '("a" OR "b") NOT ("c" OR "d")'),
    (And((T("x"), Not(And((T("a"), T("b")))))), '"x" NOT ("a" AND "b")'),
    (Or((And((T("a"), T("b"))), T("c"))), '(("a" AND "b") OR "c")'),
    (Or((And((T("a"), Not(T("b")))), T("c"))), '(("a" NOT "b") OR "c")'),
    (Or((T("a"), Not(T("b")))), '"a"'),  # "or anything but b" has no FTS5 form
    (Not(T("a")), None),
    (And((Not(T("a")), Not(T("b")))), None),
    (Or((Not(T("a")), Not(T("b")))), None),
])
def test_to_fts5(tree, expected):
    assert to_fts5(tree, fuzzy, COLUMNS) == expected


def test_to_fts5_defaults():
    assert to_fts5(T("alz", "field", fuzzy=1)) == '{field} : "alz"'  # no expansion, own column


@pytest.mark.parametrize("candidates, distance, limit, expected", [
    (["alzheimer", "alzheimers", "alzhiemer", "alzheim", "alxheimer", "zzz"], 1, 20,
     ["alxheimer", "alzheimers", "alzhiemer"]),
    (["alzheimer", "alzheimers", "alzhiemer", "alzheim", "alxheimer", "lazhiemer", "zzz"], 2,
     20, ["alxheimer", "alzheimers", "alzhiemer", "alzheim", "lazhiemer"]),
    (["alzheimers", "alxheimer", "alxheimer"], 1, 1, ["alxheimer"]),
    (["alzheimers"], 1, 0, []),
    (["alzheimers"], 0, 20, []),
    ([], 2, 20, []),
])
def test_within(candidates, distance, limit, expected):
    assert within("alzheimer", candidates, distance, limit) == expected


@pytest.mark.parametrize("a, b, limit, expected", [
    ("kitten", "sitting", 3, 3), ("kitten", "sitting", 2, None), ("", "abc", 3, 3),
    ("abc", "abc", 0, 0), ("flaw", "lawn", 2, 2), ("日本", "日本語", 1, 1), ("a", "b", -1, None),
    # A swap of two adjacent letters is one edit, but no letter is edited twice: swapping
    # "ca" then inserting "b" between the two makes "abc" in two edits, which the optimal
    # string alignment does not count (three).
    ("alzheimer", "alzhiemer", 1, 1), ("ab", "ba", 1, 1), ("abcd", "badc", 2, 2),
    ("abcd", "badc", 1, None), ("alzheimer", "lazhiemer", 2, 2), ("ca", "abc", 3, 3),
    ("ca", "abc", 2, None), ("aab", "aba", 1, 1), ("abc", "acb", 0, None),
])
def test_edits(a, b, limit, expected):
    assert query.edits(a, b, limit) == expected
    assert query.edits(b, a, limit) == expected


def osa(a: str, b: str) -> int:
    """The optimal string alignment distance, by the whole table (no early stop)."""
    d = [[i + j if not i or not j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


SHORT = st.text("abcd", max_size=9)


@settings(max_examples=1000, deadline=None)
@given(SHORT, SHORT, st.integers(0, 3))
def test_edits_stop_early_only_past_the_limit(a, b, limit):
    distance = osa(a, b)
    assert query.edits(a, b, limit) == (distance if distance <= limit else None)


@settings(max_examples=300, deadline=None)
@given(SHORT, st.lists(SHORT, max_size=30), st.integers(0, 2))
def test_within_finds_every_candidate_near_enough(word, candidates, distance):
    near = {c: osa(word, c) for c in candidates if c != word and osa(word, c) <= distance}
    assert within(word, candidates, distance) == sorted(near, key=lambda c: (near[c], c))[:20]


def edited(word: str, steps: list[tuple[int, int, str]]) -> str:
    """``word`` after each step ``(kind, where, letter)``: substitute, insert, delete, swap."""
    for kind, where, letter in steps:
        i = where % (len(word) + 1)
        word = [word[:i] + letter + word[i + 1:], word[:i] + letter + word[i:],
                word[:i] + word[i + 1:], word[:i] + word[i + 1:i + 2] + word[i:i + 1]
                + word[i + 2:]][kind]
    return word


@settings(max_examples=1000, deadline=None)
@given(SHORT, st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9), st.sampled_from("abce")),
                       max_size=2), st.integers(1, 2))
@example("alzhiemer", [(3, 3, "a")], 1)
@example("asthma", [(3, 0, "a"), (3, 3, "a")], 2)
def test_words_within_reach_share_enough_pairs_or_are_swaps(word, steps, distance):
    """What fuzzy expansion asks of the index never leaves out a word within reach."""
    other = edited(word, steps)
    if query.edits(word, other, distance) is not None:
        shared = len(query.grams(word) & query.grams(other))
        assert shared >= query.shared_grams(word, distance) or (
            other in query.swapped(word, distance)), other


HOSTILE = [
    '"', '"""', 'a "b', '"a" "', "OR", "OR OR a OR", "-", "- - -", "a -", "NEAR(a b)",
    "NEAR(a b, 2)", "title:", "title:NEAR(a", ":::", "*", "**a", "~~", "a~9", "a~²",
    "a~" + "9" * 5000, "'; DROP TABLE x; --", "\x00", "a\x00b", '"a\x00b"', "\x01\x02\x1f\x7f",
    "a^b", "^a", "{title}: a", "{title description} : x", "title : x", "a:b:c", "a AND",
    "NOT a", "a NOT b", "(a", "a)", ")(", "+a", "a + b", "\ud800", '日本"語', "x" * 10000,
    "a " * 5000, " ".join(f"w{i}" for i in range(100)), '-title:"a b" OR OR -',
    'title:"' + "x" * 100 + '"', "description:* keyword:~", 'field:"" publisher:-',
    "title:title:x", "a\nb\tc\rd", "-a -b", 'a " b " c " d', "\\ \\\" '", "%_%",
    "a ~ b * c", "a OR -b OR c", "🙂 a🙂b", "İSTANBUL ǅ ß",
]
OUTSIDE = re.compile(r'"(?:[^"]|"")*"')  # an FTS5 string
SYNTAX = re.compile(r"\{(?:title|description|keyword|publisher|dictionary|field_names"
                    r"|field_text| )+\}|AND|OR|NOT|[():*\s]")


@pytest.fixture(scope="module")
def fts():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, description, keyword, publisher, "
               'dictionary, field_names, field_text, tokenize="unicode61 remove_diacritics 2")')
    db.executemany("INSERT INTO t (rowid, title, description, keyword, publisher, dictionary, "
                   "field_names, field_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (1, "Alzheimer cohort study", "Memory decline in older adults", "dementia",
         "Oxford University", "visits", "age sex", "Age at visit"),
        (2, "Diabetes registry", "Blood glucose and insulin", "diabetes",
         "Cambridge University", "labs", "glucose", "Fasting glucose"),
        (3, "Heart failure trial", "Alzheimer risk in cardiac patients", "cardiology",
         "Oxford Health", "visits", "ejection_fraction", "Ejection fraction"),
        (4, "Über Kaffee", "Café culture in 日本", "coffee", "Universität Zürich", "beans",
         "origin", "Country of origin"),
    ])
    db.execute("CREATE VIRTUAL TABLE vocabulary USING fts5vocab(t, 'row')")
    yield db
    db.close()


def search(db, text, fuzzy_too=True):
    """The rowids matching ``text``, expanding fuzzy words from the table's vocabulary."""
    vocabulary = [term for term, in db.execute("SELECT term FROM vocabulary")]
    expand = (lambda word, n: within(word, vocabulary, n)) if fuzzy_too else None
    expression = to_fts5(parse(text), expand, COLUMNS) if parse(text) else None
    if expression is None:
        return None
    rows = db.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rowid", (expression,))
    return [rowid for rowid, in rows]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_queries_compile_to_quoted_words_fts5_accepts(text, fts):
    assert_safe(text, fts)


def assert_safe(text, db):
    """``text`` compiles to words in FTS5 strings, operators and filters, which FTS5 runs."""
    tree = parse(text)
    expression = to_fts5(tree, lambda word, n: [word + '"x', "NEAR"], COLUMNS) if tree else None
    if expression is not None:
        assert not SYNTAX.sub("", OUTSIDE.sub("", expression)), expression
        assert "\x00" not in expression
        assert len(words(tree)) <= 32 and all(len(word) <= 64 for word in words(tree))
    search(db, text)  # no sqlite3.OperationalError


@pytest.mark.parametrize("text, rowids", [
    ("alzheimer", [1, 3]),
    ("ALZ*", [1, 3]),
    ("title:alz*", [1]),
    ("title:alzheimer", [1]),
    ('"cohort study"', [1]),
    ('"study cohort"', []),
    ("oxford -title:alzheimer", [3]),
    ("oxford -alzheimer", []),
    ("diabetes OR heart", [2, 3]),
    ("university OR health oxford", [1, 3]),
    ("publisher:oxford", [1, 3]),
    ('publisher:"oxford university"', [1]),
    ("field:glucose", [2]),
    ("field:age", [1]),
    ("field:fract*", [3]),
    ("dictionary:visits -keyword:dementia", [3]),
    ("alzhaimar~2", [1, 3]),
    ("alzhaimar~", [1, 3]),
    ("alzhaimar~1", []),
    ("alzheimr~", [1, 3]),
    ("alzhiemer~1", [1, 3]),
    ("alzhiemer~0", []),
    ("alzheimr", []),
    ("cafe", [4]), ("CAFÉ", [4]), ("uber", [4]), ("Über", [4]), ("日本", [4]), ("zurich", [4]),
    ("-alzheimer", None),
])
def test_queries_find_the_expected_rows(text, rowids, fts):
    assert search(fts, text) == rowids


def test_fuzzy_without_expansion_is_exact(fts):
    assert search(fts, "alzheimr~", fuzzy_too=False) == []
    assert search(fts, "alzheimer~", fuzzy_too=False) == [1, 3]


def test_random_queries_never_break(fts):
    pieces = ['"', "-", "*", "~", "~2", ":", "(", ")", "{", "}", "^", " ", " OR ", "NEAR", "AND",
              "NOT", "title:", "field:", "a", "é", "日", "\x00", "\n", "'", ";", "alz", "9"]
    rng = random.Random(6)
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        assert_safe(text, fts)
