"""The search query language: parse a query into a small tree, compile it to SQLite FTS5.

Syntax: words (all must match), ``"exact phrase"``, ``alz*`` prefix, ``alz~`` fuzzy (within two
edits as Lucene reads it, a swap of adjacent letters one; ``alz~1`` within one, ``alz~0``
exact), ``OR`` between two items (binds tighter than the implicit AND), ``-excluded`` and
``field:term`` / ``field:"phrase"`` / ``field:pre*`` on :data:`FIELDS`. Case does not matter.

Parsing never raises: a query with unbalanced quotes is read as plain words, and lone operators
and stray symbols are ignored. Words are split like the FTS5 ``unicode61`` tokenizer does (on
anything :meth:`str.isalnum` rejects), and every word is emitted as an FTS5 string, so no input
can inject FTS5 operators or column filters into the MATCH expression.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby

FIELDS = ("title", "description", "keyword", "publisher", "dictionary", "field")
MAX_TERMS = 32  # words kept from a query; the rest are ignored
MAX_LENGTH = 64  # characters kept from a word
MAX_FUZZY = 2  # the edit distance of ``word~``, and the largest of ``word~n``


@dataclass(frozen=True)
class Term:
    """One word, lower-cased, maybe restricted to a field, a prefix or fuzzy."""
    text: str
    field: str | None = None
    prefix: bool = False
    fuzzy: int = 0


@dataclass(frozen=True)
class Phrase:
    """Words that must appear together in this order."""
    words: tuple[str, ...]
    field: str | None = None


@dataclass(frozen=True)
class Not:
    """An exclusion: what must not match."""
    node: Node


@dataclass(frozen=True)
class And:
    """Everything must match."""
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one must match."""
    nodes: tuple[Node, ...]


Node = Term | Phrase | Not | And | Or
_OR = "OR"  # the OR keyword among the lexed items


def parse(text: str) -> Node | None:
    """The query's tree, or None when it holds no searchable word."""
    text = unicodedata.normalize("NFC", text)
    if text.count('"') % 2:  # unbalanced quotes: the query cannot be parsed
        return _join([Term(word) for word in _split(text)[:MAX_TERMS]])
    return _join(_group(_lex(text)))


def words(node: Node | None) -> list[str]:
    """The positive (not excluded) words of a tree, for highlighting and fuzzy expansion."""
    return list(dict.fromkeys(_positive(node)))


def to_fts5(node: Node, expand: Callable[[str, int], list[str]] | None = None,
            columns: Mapping[str, str] | None = None) -> str | None:
    """The FTS5 MATCH expression for a tree; None if nothing can match (only exclusions)."""
    return _compile(node, expand, columns or {})


def within(word: str, candidates: Iterable[str], distance: int, limit: int = 20) -> list[str]:
    """Candidates within ``distance`` edits of ``word`` (:func:`edits`; closest first, then
    alphabetical), at most ``limit``; the word itself excluded."""
    found: dict[str, int] = {}
    lacked = str.maketrans("", "", word)  # what is left of a candidate is what word lacks
    for candidate in set(candidates):
        # Each letter the word lacks costs an edit, so candidates with too many are cheaply
        # left out before the edits are counted.
        if candidate != word and abs(len(candidate) - len(word)) <= distance \
                and len(candidate.translate(lacked)) <= distance:
            d = edits(word, candidate, distance)
            if d is not None:
                found[candidate] = d
    return sorted(found, key=lambda c: (found[c], c))[:max(limit, 0)]


def grams(word: str) -> set[str]:
    """The pairs of adjacent letters of ``^word$``: what the vocabulary is indexed by."""
    padded = f"^{word}$"
    return {padded[i:i + 2] for i in range(len(padded) - 1)}


def shared_grams(word: str, distance: int) -> int:
    """How many of the :func:`grams` of ``word`` every word within ``distance`` edits of it
    (:func:`edits`) shares, but those :func:`swapped` gives. Zero or less: no pair need be
    shared.

    An edit breaks at most three pairs: an insertion one, a deletion or a substitution two
    (``xay`` loses ``xa`` and ``ay``), a swap three (``xaby`` to ``xbay`` loses ``xa``, ``ab``
    and ``by``); a pair that occurs twice is lost only if both are. So ``distance`` edits
    break at most ``3 * distance - 1`` pairs, unless every one of them is a swap."""
    return len(grams(word)) - (3 * distance - 1) if distance > 0 else len(grams(word))


def swapped(word: str, count: int, start: int = 0) -> set[str]:
    """The words ``count`` swaps of two adjacent letters away from ``word``, no letter moved
    twice: the words within ``count`` edits that may share fewer pairs than
    :func:`shared_grams` says."""
    if count <= 0:
        return {word}
    found = set()
    for i in range(start, len(word) - 1):
        if word[i] != word[i + 1]:
            found |= swapped(word[:i] + word[i + 1] + word[i] + word[i + 2:], count - 1, i + 2)
    return found


def edits(a: str, b: str, limit: int) -> int | None:
    """The edits that turn ``a`` into ``b``, each inserting, deleting or substituting a
    letter or swapping two adjacent ones (the optimal string alignment distance, which
    Lucene's fuzzy terms use: no letter is edited twice), or None once more than ``limit``
    are needed."""
    if limit < 0:
        return None
    before, previous = [], list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and ca != cb:
                cost = min(cost, before[j - 2] + 1)
            row.append(cost)
        # A row's least cost is at most one more than the row before's: once a row's is past
        # the limit, the row before's is at least the limit, so no later row, even through a
        # swap reaching back to that row, comes back within it.
        if min(row) > limit:
            return None
        before, previous = previous, row
    return previous[-1] if previous[-1] <= limit else None


# Parsing


def _split(text: str) -> list[str]:
    """The words of ``text`` as the unicode61 tokenizer sees them, lower-cased and shortened."""
    return ["".join(run).lower()[:MAX_LENGTH] for alnum, run in groupby(text, str.isalnum)
            if alnum]


def _lex(text: str) -> Iterator[Node | str]:
    """The items of a query with balanced quotes, and :data:`_OR` for each OR keyword."""
    budget = MAX_TERMS
    i, n = 0, len(text)
    while i < n and budget > 0:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-"
        while i < n and text[i] == "-":
            i += 1
        if i == n or text[i].isspace():  # a lone minus
            continue
        field, i = _field(text, i)
        if text[i] == '"':
            end = text.index('"', i + 1)  # there is one: the quotes are balanced
            node, used = _phrase(text[i + 1:end], field, budget)
            i = end + 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] != '"':
                end += 1
            chunk, i = text[i:end], end
            if chunk == _OR and not negated and field is None:
                yield _OR
                continue
            node, used = _chunk(chunk, field, budget)
        budget -= used
        if node is not None:
            yield Not(node) if negated else node


def _field(text: str, i: int) -> tuple[str | None, int]:
    """The field named at ``text[i:]`` (``name:`` before something) and where its term starts."""
    colon = text.find(":", i, i + 12)
    if colon > i and colon + 1 < len(text) and not text[colon + 1].isspace():
        name = text[i:colon].lower()
        if name in FIELDS:
            return name, colon + 1
    return None, i


def _phrase(content: str, field: str | None, budget: int) -> tuple[Node | None, int]:
    """The node of a quoted phrase and how many words it used."""
    found = _split(content)[:budget]
    if len(found) > 1:
        return Phrase(tuple(found), field), len(found)
    return (Term(found[0], field), 1) if found else (None, 0)


def _chunk(chunk: str, field: str | None, budget: int) -> tuple[Node | None, int]:
    """The node of an unquoted piece of query (``word``, ``pre*``, ``word~2``, ``a-b``...)."""
    body, prefix, fuzzy = _modifiers(chunk)
    found = _split(body)
    kept = found[:budget]
    if not kept:
        return None, 0
    terms = [Term(word, field) for word in kept]
    if len(kept) == len(found) and body[-1].isalnum():  # the modifier touches the last word
        terms[-1] = Term(kept[-1], field, prefix, fuzzy)
    return (terms[0] if len(terms) == 1 else And(tuple(terms))), len(terms)


def _modifiers(chunk: str) -> tuple[str, bool, int]:
    """``chunk`` without its trailing ``*`` or ``~n``, whether it is a prefix, its fuzziness."""
    if chunk.endswith("*"):
        return chunk.rstrip("*"), True, 0
    tilde = chunk.rfind("~")
    tail = chunk[tilde + 1:]
    if tilde < 0 or not (tail == "" or tail.isascii() and tail.isdigit()):
        return chunk, False, 0
    if not tail:
        return chunk[:tilde], False, MAX_FUZZY
    fuzzy = MAX_FUZZY if len(tail.lstrip("0")) > 1 else min(int(tail[-1]), MAX_FUZZY)
    return chunk[:tilde], False, fuzzy


def _group(items: Iterable[Node | str]) -> list[Node]:
    """The items ANDed together, OR joining the positive items on both of its sides."""
    groups: list[list[Node]] = []
    joining = False
    for item in items:
        if isinstance(item, str):
            joining = bool(groups)
        elif joining and not isinstance(item, Not) and not isinstance(groups[-1][-1], Not):
            groups[-1].append(item)
            joining = False
        else:
            groups.append([item])
            joining = False
    return [group[0] if len(group) == 1 else Or(tuple(group)) for group in groups]


def _join(nodes: list[Node]) -> Node | None:
    """``nodes`` ANDed (nested ANDs flattened), the node itself if alone, None if none."""
    flat = [part for node in nodes for part in (node.nodes if isinstance(node, And) else (node,))]
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def _positive(node: Node | None) -> Iterator[str]:
    """The words of ``node`` outside exclusions, in order."""
    if isinstance(node, Term):
        yield node.text
    elif isinstance(node, Phrase):
        yield from node.words
    elif isinstance(node, (And, Or)):
        for child in node.nodes:
            yield from _positive(child)


# Compiling


def _quote(word: str) -> str:
    """``word`` as an FTS5 string: never an operator, a column filter or a syntax error."""
    return '"' + word.replace("\x00", "").replace('"', '""') + '"'


def _filter(field: str | None, columns: Mapping[str, str]) -> str:
    """The FTS5 column filter of ``field`` (``{col ...} : ``), or nothing."""
    return "" if field is None else "{" + columns.get(field, field) + "} : "


def _compile(node: Node, expand: Callable[[str, int], list[str]] | None,
             columns: Mapping[str, str], nested: bool = False) -> str | None:
    """The FTS5 expression of ``node`` (parenthesized if compound and ``nested``); None if it
    holds nothing positive."""
    if isinstance(node, Term):
        return _term(node, expand, columns)
    if isinstance(node, Phrase):
        return _filter(node.field, columns) + _quote(" ".join(node.words))
    if isinstance(node, Or):
        parts = _compiled(node.nodes, expand, columns)
        return None if not parts else parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"
    if isinstance(node, And):
        return _and(node, expand, columns, nested)
    return None  # a Not alone: nothing positive to match


def _compiled(nodes: Iterable[Node], expand: Callable[[str, int], list[str]] | None,
              columns: Mapping[str, str]) -> list[str]:
    """The nested expressions of those ``nodes`` that hold something positive."""
    parts = (_compile(node, expand, columns, nested=True) for node in nodes)
    return [part for part in parts if part is not None]


def _term(term: Term, expand: Callable[[str, int], list[str]] | None,
          columns: Mapping[str, str]) -> str:
    """A word, its prefix or its fuzzy alternatives, with its column filter."""
    alternatives = [term.text]
    if term.fuzzy and expand is not None:
        alternatives = list(dict.fromkeys([term.text, *expand(term.text, term.fuzzy)]))
    column, star = _filter(term.field, columns), " *" if term.prefix else ""
    parts = [column + _quote(word) + star for word in alternatives if word.replace("\x00", "")]
    return parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"


def _and(node: And, expand: Callable[[str, int], list[str]] | None,
         columns: Mapping[str, str], nested: bool) -> str | None:
    """``(a AND b) NOT c NOT d``: the positive part first, then each exclusion."""
    positive = _compiled((n for n in node.nodes if not isinstance(n, Not)), expand, columns)
    excluded = _compiled((n.node for n in node.nodes if isinstance(n, Not)), expand, columns)
    if not positive:
        return None
    if len(positive) == 1:
        head = positive[0]
    else:
        head = " AND ".join(positive)
        head = f"({head})" if excluded or nested else head
    if not excluded:
        return head
    expression = head + "".join(f" NOT {part}" for part in excluded)
    return f"({expression})" if nested else expression
