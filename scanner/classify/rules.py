"""Explainable keyword rules: which taxonomy tags an item's title and text speak of, and why.

`RuleMatcher(taxonomy)` compiles every keyword once into token indexes (exact words and their
Snowball stems, prefixes, suffixes, infixes; a phrase is looked for around its rarest word),
and remembers what each distinct token matched, so an item costs a few set operations in C plus
a little work per matching word.

Scoring, per tag: each distinct matched word gives evidence (words sharing a stem count once,
however many of the tag's keywords they match): `TITLE_WEIGHT` when it is in the title, plus
`1 + REPEAT·ln(n)` when it occurs n times in the text (scaled down for texts longer than
`REFERENCE_TOKENS` words, so a passing mention in a long text counts less). A tag's evidence
is the sum over its distinct words and those of its children (children roll up),
times the tag's `weight`; its score is `1 - exp(-RATE·evidence)`: one mention in the text
≈ 0.26, two distinct terms ≈ 0.45, three ≈ 0.59, a term in the title ≈ 0.53 (title and text
≈ 0.65). So 0.5 means "a term in the title, or three different terms in the text": a passing
mention is not enough, as the taxonomy spec asks. (RATE and TITLE_WEIGHT were chosen on the
labelled items: these two global numbers, not the keywords, set where 0.5 falls.) An `exclude`
term vetoes a tag and all its children.
"""

from __future__ import annotations

import html
import math
import re
from collections import _count_elements  # Counter's C loop, without Counter's Python __init__
from collections.abc import Callable, KeysView
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

from scanner.classify.text import Atom, parse_keyword, stem, tokens
from scanner.models import Taxonomy, built

TITLE_WEIGHT = 2.5
REPEAT = 0.3
RATE = 0.3
REFERENCE_TOKENS = 300
THRESHOLD = 0.5
CACHE_LIMIT = 300_000  # distinct tokens remembered before the cache starts over

_HTML_TAG = re.compile(r"<[^<>]{0,1000}>")
_KEYWORD, _EXCLUDE, _RELEVANCE = "keyword", "exclude", "relevance"
_MATCHED = {"": {"": (1.0, ())}}  # relevance evidence that says only that a term matched
_COMMON = frozenset(
    "i och som för av på med till om det att en ett mer ny nya nytt e the of and in to a for on "
    "mot alla andra vara kommer har är kan ska vill får sig sin sina från under efter eller men "
    "när där hur vad nu också även mellan genom inom utan här samt uppdrag sverige sveriges "
    "myndigheten medier miljoner kronor år tid arbete arbetet verksamhet stöd samhället".split())
_COMMON_STARTS = ("bibliotek", "folkbibliotek", "digital", "svensk", "sverige", "tillgänglig",
                  "information", "nationell", "stat", "kommun", "region", "bok", "böcker", "läs",
                  "barn", "ung", "librar", "book", "read")

Ref = tuple[int, int]  # (term index, word position in the term)


@dataclass(frozen=True)
class RuleHit:
    """A tag the rules found: score 0..1 and the matched terms (as written in the YAML): why."""

    tag: str
    score: float
    terms: tuple[str, ...]


@dataclass(frozen=True)
class _Term:
    owner: str  # tag id; "" for relevance terms
    role: str  # keyword | exclude | relevance
    label: str  # as written in taxonomy.yaml
    atoms: tuple[Atom, ...]


Units = dict[str, tuple[float, tuple[str, ...]]]  # unit -> (evidence, term labels)
Evidence = dict[str, dict[str, Units]]  # role -> owner -> units


@dataclass(frozen=True)
class RuleEvidence:
    """What the rules found in one item: the score of every tag with evidence (> 0), whether
    it is about libraries at all (a relevance term matched, or the taxonomy has none), and the
    matched terms of a tag, worked out when asked for."""

    scores: dict[str, float]
    relevant: bool
    _units: dict[str, Units]

    def terms(self, tag_id: str) -> tuple[str, ...]:
        """The terms (as written in the YAML) that speak for a tag, strongest first."""
        units = self._units.get(tag_id)
        if not units:
            return ()
        if len(units) == 1:
            return next(iter(units.values()))[1]
        return _ranked(units)


def _rule_evidence(scores: dict[str, float], relevant: bool,
                   units: dict[str, Units]) -> RuleEvidence:
    """RuleEvidence(scores, relevant, units) without the frozen dataclass's __init__ (it runs
    for every item)."""
    return built(RuleEvidence, scores=scores, relevant=relevant, _units=units)


_Phrase = tuple[int, int, int, tuple[tuple[int, int], ...]]
# (term, words before its anchor, words after it, (offset from the anchor, ref code) of those
# words)
_Run = tuple[int, tuple[_Phrase, ...]]
# phrases in a row whose first other word is at the same offset from the anchor, and that offset


def _code(ref: Ref) -> int:
    """A (term, position) as one int: a set of ints is searched without hashing tuples."""
    term, position = ref
    return term << 16 | position


def _phrase(term: int, anchor: int, size: int) -> _Phrase:
    others = tuple((position - anchor, _code((term, position))) for position in range(size)
                   if position != anchor)
    return term, anchor, size - 1 - anchor, others


def _runs(phrases: list[_Phrase]) -> tuple[_Run, ...]:
    """The phrases, in their order, cut where the offset of their first other word changes."""
    runs: list[tuple[int, list[_Phrase]]] = []
    for phrase in phrases:
        first = phrase[3][0][0]
        if runs and runs[-1][0] == first:
            runs[-1][1].append(phrase)
        else:
            runs.append((first, [phrase]))
    return tuple((first, tuple(members)) for first, members in runs)


@dataclass(frozen=True)
class _Entry:
    """What one distinct token matches."""

    unit: str  # its stem: words sharing a stem are one piece of evidence
    singles: tuple[tuple[int, str], ...]  # (term, unit) of the one-word terms it matches
    anchors: tuple[_Run, ...]  # phrases whose anchor (rarest) word it can be
    members: frozenset[int]  # every (term, position) it can stand for, as _code


class RuleMatcher:
    """Keyword rules of a taxonomy, compiled once; `match` and `relevance` per item.

    It learns the vocabulary it meets (what each new word matches), so keep one matcher per
    process and reuse it; it is not meant to be shared between threads.
    """

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self._terms = _compile_terms(taxonomy)
        self._sizes = [len(term.atoms) for term in self._terms]
        self._anchor = [_anchor(term.atoms) for term in self._terms]
        # role, owner and (label,) of each term: the tuple shared by every hit of the term
        self._slots = [(term.role, term.owner, (term.label,)) for term in self._terms]
        # the relevance terms come first: terms below this index are relevance terms
        self._relevance_terms = sum(term.role == _RELEVANCE for term in self._terms)
        assert all(term.role == _RELEVANCE for term in self._terms[:self._relevance_terms])
        self._index = _TokenIndex(self._terms, self._anchor,
                                  [term.role == _RELEVANCE for term in self._terms])
        self._lineage = {tag.id: _lineage(taxonomy, tag.id) for tag in taxonomy.tags}
        self._weights = {tag.id: tag.weight for tag in taxonomy.tags}
        self._nested = any(tag.parent for tag in taxonomy.tags)
        self._order = {tag.id: (tag.priority, i) for i, tag in enumerate(taxonomy.tags)}
        self._last: tuple[str, str, Evidence] | None = None

    def match(self, title: str, text: str) -> dict[str, RuleHit]:
        """Every tag with evidence, best first; a child's hit is reported with its parent's."""
        found = self.evidence(title, text)
        hits = [RuleHit(tag_id, score, found.terms(tag_id))
                for tag_id, score in found.scores.items()]
        hits.sort(key=lambda hit: (-hit.score, self._order[hit.tag]))
        return {hit.tag: hit for hit in hits}

    def evidence(self, title: str, text: str) -> RuleEvidence:
        """The tags' scores and whether a relevance term matched; the terms only on request
        (the tagger explains the tags it gives, not every tag with a score)."""
        return self._judged(self._scan(title, text))

    def evidence_of_words(self, title_words: list[str], text_words: list[str]) -> RuleEvidence:
        """`evidence` of a title and a text already split by `words_of`."""
        return self._judged(self._word_evidence(title_words, text_words, False))

    def _judged(self, evidence: Evidence) -> RuleEvidence:
        found = evidence.get(_KEYWORD, {})
        vetoed = evidence.get(_EXCLUDE)
        if vetoed or self._nested:
            found = self._roll_up(found, set(vetoed or ()))
        relevant = not self.taxonomy.relevance_keywords or bool(evidence.get(_RELEVANCE))
        return _rule_evidence(self._scores(found), relevant, found)

    def relevance(self, title: str, text: str) -> tuple[str, ...]:
        """The relevance terms the item mentions (strongest first); () = not about libraries."""
        return _ranked(self._scan(title, text).get(_RELEVANCE, {}).get("", {}))

    def is_relevant(self, title: str, text: str) -> bool:
        """True when a relevance term matches, or the taxonomy defines none."""
        return not self.taxonomy.relevance_keywords or bool(self.relevance(title, text))

    def tags(self, title: str, text: str, threshold: float = THRESHOLD) -> dict[str, RuleHit]:
        """The hits at or above `threshold`, and none for an item that is not relevant."""
        if not self.is_relevant(title, text):
            return {}
        return {tag: hit for tag, hit in self.match(title, text).items() if hit.score >= threshold}

    # --- internals ----------------------------------------------------------------------------

    def _scan(self, title: str, text: str) -> Evidence:
        """The evidence of an item; the last item's is remembered (match + relevance scan once)."""
        last = self._last
        if last is not None and last[0] == title and last[1] == text:
            return last[2]
        evidence = self._word_evidence(words_of(title), words_of(text))
        self._last = (title, text, evidence)
        return evidence

    def _word_evidence(self, title_words: list[str], text_words: list[str],
                       relevance_terms: bool = True) -> Evidence:
        """`relevance_terms`: False when only whether a relevance term matched is asked (as
        RuleEvidence does), not which: their evidence is then not worked out."""
        return self._evidence(self._count(title_words), self._count(text_words),
                              len(text_words), relevance_terms)

    def _count(self, words: list[str]) -> dict[tuple[int, str], int]:
        """(term index, unit) -> occurrences in `words`."""
        counts: dict[tuple[int, str], int] = {}
        occurrences: dict[str, int] = {}
        _count_elements(occurrences, words)
        active = self._index.active
        for word in self._index.matching(occurrences.keys()):
            entry = active[word]
            if entry.singles:
                n = occurrences[word]
                for key in entry.singles:
                    counts[key] = counts.get(key, 0) + n
            if entry.anchors:
                self._count_phrases(words, word, occurrences[word], entry.anchors, counts)
        return counts

    def _count_phrases(self, words: list[str], word: str, times: int,
                       runs: tuple[_Run, ...], counts: dict) -> None:
        """The phrases anchored on `word`, looked for around each of its `times` places (the
        anchor itself matches by construction: only the other words are checked). A run of
        phrases is passed over at once where its first other word is missing or no word of
        any phrase."""
        hits, last, place = self._index.hits, len(words) - 1, -1
        for _ in range(times):
            place = words.index(word, place + 1)  # the scan runs in C
            for first, phrases in runs:
                at = place + first
                if at < 0 or at > last or words[at] not in hits:
                    continue
                for term, before, after, others in phrases:
                    if place < before or place + after > last:
                        continue
                    for offset, code in others:
                        entry = hits.get(words[place + offset])
                        if entry is None or code not in entry.members:
                            break
                    else:
                        key = (term, hits[words[place + after]].unit)
                        counts[key] = counts.get(key, 0) + 1

    def _evidence(self, title: dict, text: dict, text_tokens: int,
                  relevance_terms: bool = True) -> Evidence:
        """role -> owner -> {unit: (evidence, term labels)}, in the order the keys come;
        without `relevance_terms`, a matched relevance term's is `_MATCHED`. The counts `text`
        become its values (the caller's dicts of _count, used once)."""
        values = _text_values(text, min(1.0, math.sqrt(REFERENCE_TOKENS / max(1, text_tokens))))
        for key in title:
            values[key] = values.get(key, 0.0) + TITLE_WEIGHT
        evidence: Evidence = {}
        slots = self._slots
        unlabelled = 0 if relevance_terms else self._relevance_terms
        for (term, unit), value in values.items():
            if term < unlabelled:  # a relevance term: that one matched is all that is asked
                evidence[_RELEVANCE] = _MATCHED
                continue
            role, owner, labels = slots[term]
            owners = evidence.get(role)
            if owners is None:
                evidence[role] = {owner: {unit: (value, labels)}}
                continue
            units = owners.get(owner)
            if units is None:
                owners[owner] = {unit: (value, labels)}
                continue
            old = units.get(unit)
            if old is None:
                units[unit] = (value, labels)
            else:
                units[unit] = (value if value > old[0] else old[0], _with_label(old[1], labels[0]))
        return evidence

    def _roll_up(self, found: dict[str, Units], vetoed: set[str]) -> dict[str, Units]:
        """Children's evidence added to their ancestors; vetoed tags (and their children) out."""
        if not self._nested:  # every tag is its own lineage: the vetoed ones go, nothing merges
            return {tag_id: units for tag_id, units in found.items() if tag_id not in vetoed}
        merged: dict[str, Units] = {}
        for tag_id, units in found.items():
            if vetoed.isdisjoint(self._lineage[tag_id]):
                for ancestor in self._lineage[tag_id]:
                    _merge(merged.setdefault(ancestor, {}), units)
        return merged

    def _scores(self, found: dict[str, Units]) -> dict[str, float]:
        """The score of every tag with evidence above 0 (one loop: it runs for every item)."""
        weights, scores, known = self._weights, {}, _SCORE_OF
        for tag_id, units in found.items():
            if len(units) == 1:  # the sum of one (positive) value, without the list
                (value, _), = units.values()
                evidence = value * weights[tag_id]
            else:
                evidence = sum([value for value, _ in units.values()]) * weights[tag_id]
            score = known.get(evidence)
            if score is None:
                score = _score_of(evidence)
            if score > 0:
                scores[tag_id] = score
        return scores


class _TokenIndex:
    """Which terms a token matches, worked out once per distinct token and remembered."""

    def __init__(self, terms: list[_Term], anchors: list[int], pooled: list[bool]):
        self.text: dict[str, list[Ref]] = {}
        self.stem: dict[str, list[Ref]] = {}
        self.prefix: dict[str, list[Ref]] = {}
        self.suffix: dict[str, list[Ref]] = {}
        self.infix: list[tuple[str, Ref]] = []
        for term_index, term in enumerate(terms):
            for position, atom in enumerate(term.atoms):
                self._add(atom, (term_index, position))
        self.prefix_lengths = sorted({len(key) for key in self.prefix})
        self.suffix_lengths = sorted({len(key) for key in self.suffix})
        # the shortest prefix's worth of every prefix's start, of every suffix's end: a word
        # that starts (ends) otherwise matches no prefix (suffix) and needs no more lookups
        self.prefix_starts = {key[:self.prefix_lengths[0]] for key in self.prefix}
        self.suffix_ends = {key[-self.suffix_lengths[0]:] for key in self.suffix}
        # A word's stem starts the word (Snowball only cuts endings), so a stem of the index
        # starts the word, and a suffix's end is in it, where the stem can match: other words
        # are not stemmed unless they match something (a word's stem is its unit)
        self.stem_length = min(map(len, self.stem), default=0)
        self.stem_starts = {key[:self.stem_length] for key in self.stem}
        self.suffix_end_in = _search_for(self.suffix_ends)
        self.infix_in = _search_for(infix for infix, _ in self.infix)
        self.sizes = [len(term.atoms) for term in terms]
        self.anchors = anchors
        self.phrases = [_phrase(t, anchors[t], size) for t, size in enumerate(self.sizes)]
        self.pooled = pooled  # relevance terms: all their words are one piece of evidence
        self.seen: set[str] = set()  # every token looked up so far
        self.hits: dict[str, _Entry] = {}  # the tokens among them that match something
        self.active: dict[str, _Entry] = {}  # ... a one-word term or the anchor of a phrase

    def _add(self, atom: Atom, ref: Ref) -> None:
        if atom.kind == "word":
            self.text.setdefault(atom.text, []).append(ref)
            if atom.stem:
                self.stem.setdefault(atom.stem, []).append(ref)
        elif atom.kind == "prefix":
            self.prefix.setdefault(atom.text, []).append(ref)
        elif atom.kind == "suffix":
            self.suffix.setdefault(atom.text, []).append(ref)
        else:
            self.infix.append((atom.text, ref))

    def matching(self, words: KeysView[str]) -> set[str]:
        """Those of `words` that match a one-word term or anchor a phrase (set operations in C;
        a word never seen before is looked up once)."""
        # (set.difference looks each word up in seen; `words - seen` would first build their
        # intersection)
        new = None if self.seen.issuperset(words) else set(words).difference(self.seen)
        if new:
            if len(self.seen) + len(new) > CACHE_LIMIT:
                self.seen.clear()
                self.hits.clear()
                self.active.clear()
                new = set(words)
            for word in new:
                self._learn(word)
            self.seen |= new
        return words & self.active.keys()

    def _learn(self, word: str) -> None:
        stemmed = stem(word) if self._stem_can_match(word) else None
        refs = frozenset(self._find(word, stemmed))
        if refs:
            if stemmed is None:
                stemmed = stem(word)
            self.hits[word] = entry = _Entry(
                stemmed, tuple((t, "" if self.pooled[t] else stemmed)
                               for t, p in refs if p == 0 and self.sizes[t] == 1),
                _runs([self.phrases[t] for t, p in refs if self.sizes[t] > 1
                       and p == self.anchors[t]]), frozenset(map(_code, refs)))
            if entry.singles or entry.anchors:
                self.active[word] = entry

    def _stem_can_match(self, word: str) -> bool:
        """Whether the word's stem, which starts the word, can be a stem of the index or end
        with a suffix of it."""
        return (word[:self.stem_length] in self.stem_starts
                or self.suffix_end_in is not None and self.suffix_end_in(word) is not None)

    def _find(self, word: str, stemmed: str | None) -> list[Ref]:
        """The refs the word matches; `stemmed`: its stem, None where it cannot match."""
        found = [*self.text.get(word, ())]
        if stemmed is not None:
            found += self.stem.get(stemmed, ())
        if self.prefix and word[:self.prefix_lengths[0]] in self.prefix_starts:
            for length in self.prefix_lengths:
                if length > len(word):
                    break
                found += self.prefix.get(word[:length], ())
        for form in {word, stemmed or word}:
            if not self.suffix or form[-self.suffix_lengths[0]:] not in self.suffix_ends:
                continue
            for length in self.suffix_lengths:
                if length > len(form):
                    break
                found += self.suffix.get(form[-length:], ())
        if self.infix_in is not None and self.infix_in(word) is not None:
            found += [ref for infix, ref in self.infix if infix in word]
        return found


def _search_for(texts) -> Callable[[str], re.Match | None] | None:
    """The search method of a pattern that finds any of `texts` in a word (None for none):
    one pass in C where most words hold none of them."""
    texts = sorted(set(texts))
    return re.compile("|".join(map(re.escape, texts))).search if texts else None


def _compile_terms(taxonomy: Taxonomy) -> list[_Term]:
    terms = [_Term("", _RELEVANCE, keyword, parse_keyword(keyword))
             for keyword in taxonomy.relevance_keywords]
    for tag in taxonomy.tags:
        if tag.weight > 0:
            terms += [_Term(tag.id, _KEYWORD, k, parse_keyword(k)) for k in tag.keywords]
        terms += [_Term(tag.id, _EXCLUDE, k, parse_keyword(k)) for k in tag.exclude]
    return terms


def _anchor(atoms: tuple[Atom, ...]) -> int:
    """The position of a phrase's rarest word, where the search for it starts: the longest,
    whole words before wildcards, words everywhere in library news last. Only speed depends
    on the choice."""
    def rarity(atom: Atom) -> int:
        common = atom.text in _COMMON or atom.text.startswith(_COMMON_STARTS)
        return len(atom.text) + (4 if atom.kind == "word" else 0) - (50 if common else 0)

    return max(range(len(atoms)), key=lambda i: rarity(atoms[i]))


def _lineage(taxonomy: Taxonomy, tag_id: str) -> tuple[str, ...]:
    """The tag and its ancestors, nearest first."""
    chain = [tag_id]
    while (parent := taxonomy.by_id(chain[-1]).parent) is not None and parent not in chain:
        chain.append(parent)
    return tuple(chain)


def words_of(text: str) -> list[str]:
    """Folded tokens; markup that slipped through (tags, entities) is not taken for words."""
    if not text:
        return []
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return tokens(text)


@lru_cache(maxsize=50_000)
def _with_label(labels: tuple[str, ...], label: str) -> tuple[str, ...]:
    """The sorted labels with one more (remembered: the same few pairs meet in every item)."""
    return tuple(sorted({*labels, label}))


def round4(x: float) -> float:
    """`round(x, 4)`, several times faster for the usual scores. round() finds the decimal
    digits exactly (slowly); x·10⁴ in floating point is within 10⁻¹¹ of the exact product, so
    its fraction tells which way to round unless it is within 10⁻⁶ of a half, where round()
    decides. The quotient k / 10⁴ is the float nearest the decimal, as round() returns it."""
    if not 0.0 < x < 1e6:
        return round(x, 4)
    scaled = x * 10_000.0
    whole = math.floor(scaled)
    fraction = scaled - whole
    if abs(fraction - 0.5) < 1e-6:
        return round(x, 4)
    return (whole + (fraction > 0.5)) / 10_000.0


_SCORE_OF: dict[float, float] = {}  # evidence -> score: the same few sums recur in every batch


def _score_of(evidence: float) -> float:
    """A tag's score for its (weighted) evidence, remembered."""
    if len(_SCORE_OF) >= CACHE_LIMIT:
        _SCORE_OF.clear()
    score = _SCORE_OF[evidence] = round4(1.0 - math.exp(-RATE * evidence))
    return score


# 1 + REPEAT·ln(n), the evidence of a word that occurs n times in a text of REFERENCE_TOKENS:
_REPEATED = (0.0, 1.0) + tuple(1.0 + REPEAT * math.log(n) for n in range(2, 256))


def _text_values(text: dict, scale: float) -> dict:
    """The counts `text` turned in place (its order kept) into key -> (1 + REPEAT·ln(n)) · scale
    for each count n: no second dict is built, and the usual counts' values are looked up."""
    repeated, many = _REPEATED, len(_REPEATED)
    for key, n in text.items():
        text[key] = (repeated[n] if n < many else 1.0 + REPEAT * math.log(n)) * scale
    return text


def _merge(into: Units, units: Units) -> None:
    for unit, (value, labels) in units.items():
        if unit in into:
            old_value, old_labels = into[unit]
            value, labels = max(value, old_value), tuple(sorted({*old_labels, *labels}))
        into[unit] = (value, labels)


def _ranked(units: Units) -> tuple[str, ...]:
    """Term labels, those of the strongest evidence first, each once."""
    # (-evidence, labels) pairs sort as that key would sort the units: pairs that compare
    # equal have the same labels, so the order among them changes nothing
    ordered = sorted([(-value, labels) for value, labels in units.values()])
    return tuple(dict.fromkeys(chain.from_iterable([labels for _, labels in ordered])))
