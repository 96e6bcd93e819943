"""Spec section 6 through HTTP: relevance, the query language, facets, filters, paging,
highlights, the [compat] shape and hostile queries (the index following every change is in
test_search_index).

The same expectations hold on SQLite (FTS5) and PostgreSQL (tsvector): run the suite with and
without ``--fairhub-db=postgresql``.
"""
from __future__ import annotations

import pytest
from fairhub import db
from fairhub.testing import assert_error, signed_in

from .support import (  # noqa: F401  (corpus and steward are fixtures)
    ALL, ASTHMA, CORPUS, PUBLISHERS, URL, corpus, facet, found, mismatches, ok, search, steward)


# Shared by the parametrized checks that only search, or whose request is refused: a search
# writes nothing a search reads (only the search log), so each check sees what a fresh app
# with the same datasets would show, at a fraction of the cost of building one per case.

PLUGINS = ["datasets", "search"]  # the search tests' fairhub_plugins


@pytest.fixture(scope="module")
def shared_steward(make_shared_app):
    return signed_in(make_shared_app(PLUGINS), "data-steward")


@pytest.fixture(scope="module")
def shared_corpus(make_shared_app):
    steward = signed_in(make_shared_app(PLUGINS), "data-steward")
    for body in CORPUS:
        ok(steward.post("/api/datasets", json=body), 201)
    return steward


@pytest.fixture(scope="module")
def shared_few(make_shared_app):
    """The first three datasets of the corpus: enough for the hostile queries."""
    steward = signed_in(make_shared_app(PLUGINS), "data-steward")
    for body in CORPUS[:3]:
        ok(steward.post("/api/datasets", json=body), 201)
    return steward


# Relevance: which dataset must come first.

FIRST = [
    ("asthma", "asthma_cohort"),  # title (and keyword) before two descriptions
    ("eczema", "skin_eczema"),  # title before description
    ("genetics", "genome_panel"),  # keyword before description
    ("ASTHMA", "asthma_cohort"),
    ("asthma lung", "asthma_cohort"),
    ("asth*", "asthma_cohort"),
    ("field:mmse", "dementia_trial"),
    ("field:fev1", "asthma_cohort"),
    ('field:"minutes awake"', "sleep_shift"),
    ("dictionary:actigraphy", "sleep_shift"),
    ("dictionary:spirometry", "asthma_cohort"),
    ("mmse", "dementia_trial"),
    # Prefix and fuzzy terms rank too (the best match is not the first created).
    ("ecz*", "skin_eczema"),
    ("eczena~", "skin_eczema"),
    ("genetic*", "genome_panel"),
    ("genetocs~", "genome_panel"),
    ("ecz* OR genetic*", "skin_eczema"),
]


def test_relevance_puts_the_best_match_first(corpus):
    assert mismatches(corpus, FIRST, lambda codes, first: codes[:1] == [first]) == {}


def test_title_description_and_keyword_matches_all_come_back_best_first(corpus):
    body = search(corpus, "asthma")
    assert body["items"][0]["code"] == "asthma_cohort"
    assert {item["code"] for item in body["items"]} == ASTHMA
    scores = [item["@search.score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True) and all(isinstance(s, float) for s in scores)
    assert scores[0] > scores[1]  # a title match outranks, it does not merely tie


# The query language: exactly which datasets match.

MATCHES = [
    ("asthma", ASTHMA),
    ("asth*", ASTHMA),
    ("derma*", {"skin_eczema"}),
    # Fuzzy as Lucene reads it: "~" is within two edits, "~1" one, "~0" none; a swap of two
    # adjacent letters is one edit.
    ("asthna~", ASTHMA),  # one edit
    ("asthna~1", ASTHMA),
    ("asthna~0", set()),
    ("asthma~0", ASTHMA),
    ("azthna~", ASTHMA),  # two edits
    ("azthna~2", ASTHMA),
    ("azthna~1", set()),
    ("azthna~0", set()),
    ("azthna", set()),
    ("asthna", set()),
    ("alzhiemer~", {"dementia_trial"}),  # a swap
    ("alzhiemer~1", {"dementia_trial"}),
    ("alzhiemer~0", set()),
    ("alzhiemer", set()),
    ("alzhiemr~", {"dementia_trial"}),  # a swap and a deletion
    ("alzhiemr~1", set()),
    ("atsham~", ASTHMA),  # two swaps, sharing one pair of letters with "asthma"
    ("atsham~1", set()),
    ("keyword:alzhiemer~", {"dementia_trial"}),
    ("title:alzhiemer~", set()),
    ('"night shift"', {"sleep_shift"}),  # phrase: adjacent, in order
    ('"shift night"', set()),
    ("night shift", {"sleep_shift", "cafe_workers"}),  # words: all, anywhere
    ("dementia OR diabetes", {"dementia_trial", "diabetes_study"}),
    ("dementia diabetes", set()),
    ("asthma -pollution", {"asthma_cohort", "allergy_registry"}),
    ('asthma -"particulate matter"', {"asthma_cohort", "allergy_registry"}),
    ("asthma -title:pollution", {"asthma_cohort", "allergy_registry"}),
    ("asthma -keyword:respiratory", {"air_pollution"}),
    ('asthma -field:"fine particles"', {"asthma_cohort", "allergy_registry"}),
    ("-title:asthma", set()),
    ("title:asthma", {"asthma_cohort"}),
    ("title:eczema", {"skin_eczema"}),
    ("description:eczema", {"allergy_registry"}),
    ("keyword:occupation", {"sleep_shift", "cafe_workers"}),
    ("keyword:alzheimer", {"dementia_trial"}),
    ("keyword:asthma", {"asthma_cohort"}),
    ("publisher:cambridge", {"dementia_trial", "genome_panel"}),
    ('publisher:"data trust"', {"allergy_registry", "air_pollution", "diabetes_study"}),
    ("publisher:camb*", {"dementia_trial", "genome_panel"}),
    ("title:asthma OR title:eczema", {"asthma_cohort", "skin_eczema"}),
    ("field:mmse", {"dementia_trial"}),
    ("field:referral", {"allergy_registry"}),
    ("dictionary:monitors", {"air_pollution"}),
    ("dictionary:spirometry", {"asthma_cohort"}),
    ("mmse_total", {"dementia_trial"}),
    # Case, accents, stemming.
    ("CAFÉ", {"cafe_workers"}),
    ("cafe", {"cafe_workers"}),
    ("Cafés", {"cafe_workers"}),
    ("GENÈVE", {"cafe_workers", "sleep_shift"}),
    ("universite", {"cafe_workers", "sleep_shift"}),
    ("studies", {"diabetes_study"}),
    ("nurse", {"sleep_shift"}),
    ("admission", {"air_pollution"}),
    ("Children", {"asthma_cohort"}),
    ("nothingmatchesthis", set()),
    # Stop words match as other words do, on both databases.
    ("the", {"asthma_cohort", "allergy_registry", "air_pollution", "sleep_shift",
             "dementia_trial", "diabetes_study"}),
    ('"and the genetics"', {"diabetes_study"}),
    ('"the and genetics"', set()),
    ("the genetics of obesity", {"diabetes_study"}),
    ("patients with eczema", {"allergy_registry"}),
    ('"patients with eczema"', {"allergy_registry"}),
]


def test_query_language_matches_exactly(corpus):
    assert mismatches(corpus, MATCHES, lambda codes, expected: set(codes) == expected) == {}


@pytest.mark.parametrize("distance", [1, 2])
def test_fuzzy_candidates_are_every_word_near_enough(app, corpus, distance):
    """The vocabulary's indexes find what comparing the word with every word would."""
    from fairhub_search import service
    from fairhub_search.models import SearchWord
    from fairhub_search.query import within

    with app.app_context():
        vocabulary = db.session.scalars(db.select(SearchWord.word)).all()
        expand = service._expander(db.session.connection())
        for word in ("a", "of", "nut", "lung", "asthna", "genève", "vistt", "fev2", "zzzzzz",
                     "spirometry", "mmse_totl", "x" * 64, "atsham", "psiormetry", "alzhiemer",
                     "lazhiemer", "cezeam", "demnetai", "spiromerty", "ilke"):
            assert expand(word, distance) == within(service.fold(word), vocabulary, distance)


def test_empty_query_lists_everything_visible(corpus):
    for params in ({}, {"query": ""}, {"query": "   "}):
        body = ok(corpus.get(URL, query_string={"index": "fair-index", "page_size": 100,
                                               **params}))
        assert {item["code"] for item in body["items"]} == ALL
        assert body["paging"]["total"] == len(ALL)
    assert found(corpus, "-asthma") == []  # only exclusions: nothing positive to match


def test_paging_walks_every_result_once(corpus):
    pages = [search(corpus, "", page=page, page_size=4) for page in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [4, 4, 1, 0]
    assert {p["paging"]["total"] for p in pages} == {len(ALL)}
    assert [p["paging"]["page"] for p in pages] == [1, 2, 3, 4]
    assert {p["paging"]["page_size"] for p in pages} == {4}
    codes = [item["code"] for p in pages for item in p["items"]]
    assert sorted(codes) == sorted(ALL)
    ranked = search(corpus, "asthma", page_size=1, page=2)
    assert ranked["paging"]["total"] == 3 and len(ranked["items"]) == 1
    assert ranked["items"][0]["code"] != "asthma_cohort"
    default = search(corpus, "")
    assert default["paging"]["page"] == 1 and default["paging"]["page_size"] == 25


@pytest.mark.parametrize("params", [{"page": 0}, {"page_size": 0}, {"page": "x"},
                                    {"page": 10_000_001}, {"page_size": -1}])
def test_bad_paging_is_422(shared_steward, params):
    assert_error(shared_steward.get(URL, query_string={"query": "a", **params}), 422)


def test_page_size_is_capped(corpus):
    body = search(corpus, "", page_size=100_000)
    assert 25 <= body["paging"]["page_size"] < 100_000
    assert len(body["items"]) == len(ALL)


def test_facets_count_every_match_not_only_the_page(corpus):
    body = search(corpus, "", page_size=1)
    assert set(body["facets"]) == {"keyword", "publisher", "license", "accessRights",
                                   "visibility"}
    assert facet(body, "visibility") == {"public": 2, "internal": 7}
    assert facet(body, "license") == {"CC-BY-4.0": 5, "CC0-1.0": 4}
    assert facet(body, "accessRights") == {"open": 4, "restricted": 5}
    assert facet(body, "publisher") == {PUBLISHERS["oxford"]: 2, PUBLISHERS["leeds"]: 3,
                                        PUBLISHERS["geneva"]: 2, PUBLISHERS["cambridge"]: 2}
    keywords = facet(body, "keyword")
    assert keywords["respiratory"] == 2 and keywords["occupation"] == 2
    assert keywords["asthma"] == 1 and sum(keywords.values()) == 13
    counts = [entry["count"] for entry in body["facets"]["keyword"]]
    assert counts == sorted(counts, reverse=True)
    asthma = search(corpus, "asthma")
    assert facet(asthma, "keyword") == {"asthma": 1, "respiratory": 2, "allergy": 1,
                                        "environment": 1}
    assert facet(asthma, "visibility") == {"public": 2, "internal": 1}


FILTERS = [
    ({"keyword": "respiratory"}, {"asthma_cohort", "allergy_registry"}),
    ({"keyword": "asth"}, set()),  # a facet value, not a word
    ({"visibility": "public"}, {"asthma_cohort", "air_pollution"}),
    ({"license": "CC0-1.0"}, {"allergy_registry", "sleep_shift", "genome_panel", "skin_eczema"}),
    ({"publisher": PUBLISHERS["geneva"]}, {"cafe_workers", "sleep_shift"}),
    ({"accessRights": "open"}, {"asthma_cohort", "air_pollution", "cafe_workers",
                                "skin_eczema"}),
    ({"query": "asthma", "visibility": "public"}, {"asthma_cohort", "air_pollution"}),
    ({"query": "asthma", "keyword": "respiratory", "license": "CC0-1.0"},
     {"allergy_registry"}),
    ({"keyword": "occupation", "visibility": "public"}, set()),
]


@pytest.mark.parametrize("params, expected", FILTERS)
def test_filters_narrow_items_totals_and_facets(shared_corpus, params, expected):
    body = search(shared_corpus, **{"page_size": 100, **params})
    assert {item["code"] for item in body["items"]} == expected
    assert body["paging"]["total"] == len(expected)
    assert sum(facet(body, "visibility").values()) == len(expected)


def test_bad_filter_value_is_422(steward):
    assert_error(steward.get(URL, query_string={"visibility": "secret"}), 422)


def test_items_carry_the_compat_keys_and_highlights(corpus):
    body = search(corpus, "asthma")
    assert set(body) >= {"items", "paging", "facets"}
    item = body["items"][0]
    assert isinstance(item["@search.score"], float) and item["@search.score"] > 0
    assert item["code"] == "asthma_cohort"
    assert item["name"] == "Asthma cohort"
    assert item["catalogue__title"] == "Asthma cohort"
    assert item["catalogue__keyword"] == ["asthma", "respiratory"]
    assert item["catalogue__publisher__name"] == PUBLISHERS["oxford"]
    assert item["catalogue__license"] == "CC-BY-4.0"
    assert "catalogue__description" in item and "catalogue__identifier" in item  # null, present
    assert "<em>" in item["@search.highlights"]["catalogue__title"]
    assert "<em>Asthma</em>" in item["@search.highlights"]["catalogue__title"]
    described = {i["code"]: i for i in body["items"]}["air_pollution"]
    assert "<em>asthma</em>" in described["@search.highlights"]["catalogue__description"]
    # Accents and stems are highlighted too.
    cafe = search(corpus, "CAFE")["items"][0]
    assert "<em>Café</em>" in cafe["@search.highlights"]["catalogue__title"]
    for query in ("asth*", "asthna~", "title:asthma", '"asthma cohort"', "asthma OR xyz"):
        item = search(corpus, query)["items"][0]
        assert "<em>Asthma" in item["@search.highlights"]["catalogue__title"], query
    listed = search(corpus, "")["items"][0]
    assert {"@search.score", "code", "name", "catalogue__title"} <= set(listed)


def test_highlights_are_escaped(steward):
    ok(steward.post("/api/datasets", json={"code": "html", "catalogue": {
        "title": "Asthma <script>alert(1)</script>", "description": "x"}}), 201)
    item = search(steward, "asthma")["items"][0]
    assert item["catalogue__title"] == "Asthma <script>alert(1)</script>"  # the data: as is
    title = item["@search.highlights"]["catalogue__title"]  # HTML: escaped, words marked
    assert title == "<em>Asthma</em> &lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.mark.parametrize("index", ["other", "", "FAIR-INDEX"])
def test_an_index_other_than_fair_index_is_422(shared_steward, index):
    assert_error(shared_steward.get(URL, query_string={"index": index, "query": "a"}), 422)


def test_trailing_slash_and_missing_index(corpus):
    assert found(corpus, "asthma", index=None) == found(corpus, "asthma")
    slash = ok(corpus.get(URL + "/", query_string={"query": "asthma"}))
    assert slash["paging"]["total"] == 3


# Hostile queries: 200 (or a clear 4xx in the error shape), never a 500.

HOSTILE = [
    '"unbalanced', 'a "b c', '"""', '"', "OR", "AND", "NOT", "OR OR", "a OR", "OR a", "-",
    "--", "- -", "*", "~", "~2", "a~99999999999999999999", "*a", "a**", "~~", ":", "title:",
    "title:*", "title:~", "field:", "-a", "-a -b", '-"a b"', "-title:a",
    "'; DROP TABLE datasets; --", "' OR 1=1 --", "\"; DELETE FROM search_documents; --",
    "NEAR(a b)", "NEAR(a b, 2)", "{title}:x", "{title description}:x", "^a", "a + b", "(a",
    "a)", "()", "a AND (b OR", "title:(a OR b)", "col:x", "search_fts:x", "rank:x",
    "a:b:c", "\\", "\\\"", "%", "_", "%_%", "a' || 'b", "$$", "$1", ":*", "a:*", "a & b",
    "a | b", "!a", "<->", "a <-> b", "a <2> b", "'a'", "asthma\u200b", "\u0301", "日本語",
    "🙂 asthma", "\t\n\r", "a\x01b", "\x1f\x7f", "\x0b\x0c", "x" * 64 + "y" * 10,
    " ".join(["asthma"] * 200), " OR ".join(["a"] * 200), "-" * 500, '"' * 501,
    "a~2 " * 100, "a* " * 100, "x" * 10_000,
    # Letters and digits that PostgreSQL's unaccent turns into tsquery syntax.
    "x⑴", "⑴⑵ asthma", "a⒜b", "½", "aʼb", "aʼ*", "aː*", "ˆa", "title:aʼb", '"aʼb c⑴"',
    "aʼb~", "ŉ", "\\", "asthma -aʼb", "ß İ ǅ ﬁsh Ⅻ ™", "the", "the*", "-the asthma",
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q[:30]))
def test_hostile_queries_never_fail(shared_few, query):
    response = shared_few.get(URL, query_string={"query": query})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) >= {"items", "paging", "facets"}
    assert body["paging"]["total"] == len(body["items"]) or len(body["items"]) == 25
    assert found(shared_few, "asthma")[0] == "asthma_cohort"  # the index survived


def test_hostile_queries_as_filters_never_fail(corpus):
    for value in ("'; DROP TABLE datasets; --", '"', "%", "NEAR(a b)", "\x01", "x" * 200):
        for name in ("keyword", "publisher", "license", "accessRights"):
            response = corpus.get(URL, query_string={"query": "asthma", name: value})
            assert response.status_code == 200, (name, value, response.get_data(as_text=True))
            assert response.get_json()["paging"]["total"] == 0
    assert search(corpus, "")["paging"]["total"] == len(ALL)


@pytest.mark.parametrize("query, status", [
    ("query=" + "x" * 10_001, 422), ("query=a%00b", 400), ("query=%00", 400),
    ("query=title:%00", 400), ("keyword=%00", 400)])
def test_unacceptable_queries_are_clear_4xx(shared_corpus, query, status):
    assert_error(shared_corpus.get(URL, query_string=query), status)


@pytest.mark.parametrize("raw", ["query=%ED%A0%80", "query=%FF", "query=%C3", "query=%",
                                 "query=%zz", "query&query=a", "query=a&query=b"])
def test_malformed_query_strings_never_fail(shared_corpus, raw):
    response = shared_corpus.get(URL, query_string=raw)
    if response.status_code != 200:  # refusing is fine, in the error shape
        assert_error(response, response.status_code)
        assert 400 <= response.status_code < 500


def test_sparse_and_repetitive_catalogues(steward):
    ok(steward.post("/api/datasets", json={"code": "sparse", "catalogue": {
        "title": "Sparse asthma", "description": "x", "keyword": None, "publisher": None,
        "license": None}}), 201)
    ok(steward.post("/api/datasets", json={"code": "twice", "catalogue": {
        "title": "Twice", "description": "asthma", "keyword": ["asthma", "asthma", "Asthma"]}}),
        201)
    body = search(steward, "asthma")
    assert {item["code"] for item in body["items"]} == {"sparse", "twice"}
    assert body["facets"]["publisher"] == [] and body["facets"]["license"] == []
    keywords = facet(body, "keyword")
    assert keywords.get("asthma") == 1  # one dataset, however often it repeats the keyword
    assert found(steward, "", keyword="asthma") == ["twice"]
