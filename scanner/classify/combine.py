"""Rules and model together: which tags an item gets, how sure, why, and whether it is relevant.

A tag is given when the model passes its own threshold, or the rules fire strongly, or both
agree moderately: with q the model score mapped so that its threshold sits at 0.5, and r the
rule score, the tag is given when q >= model_alone, r >= rule_alone, or
w·q + (1-w)·r >= agree while both are above zero. The four numbers (`Blend`) are tuned by
`fit_blend` on out-of-fold model scores of the training examples, never on the items scored;
there the bundled examples together weigh as much as the real labels (shared, human) together.

Relevance: an item is relevant when it has at least one rule or model tag and the relevance
evidence agrees (the relevance model's score reaches `Blend.relevance`, or a relevance keyword
of taxonomy.yaml matches). An item judged not relevant keeps no rule or model tags.

Source tags (sources.yaml `tags:`) are added as given, score 1.0, origin "source", but do not
by themselves make an item relevant: staff tag a source by what it usually covers, while
relevance is about what this item says. Without a model the rules decide alone, at their own
threshold (rules.THRESHOLD).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from itertools import chain, product, repeat

import numpy as np

from scanner.classify.labels import LabelledText
from scanner.classify.features import (
    MAX_MODEL_CHARS, MAX_MODEL_TITLE_CHARS, TITLE_REPEAT, clean_text_and_plain,
)
from scanner.classify.model import TagModel, TrainReport, f1_summary
from scanner.classify.rules import THRESHOLD, RuleEvidence, RuleMatcher, words_of
from scanner.classify.text import plain_lowered
from scanner.errors import ScannerError
from scanner.models import Taxonomy, built
from scanner.plaintext import plain_utf8

MAX_RULE_CHARS = 200_000  # rules read this much of a text; the model reads its first 20,000
MAX_TITLE_CHARS = 2_000
ORIGINS = ("rule", "model", "rule+model", "source")
# Characters on which the rules' words and the model's tokens of plain text differ: markup
# and entities (the rules and model_text clean them), "_" (a word character for the model
# only), é (e for the rules; É lower-cases to it).
_NOT_SHARED = ("<", "&", "_", "é", "É")


class TaggingError(ScannerError):
    """One item could not be tagged; nothing of it was kept."""


@dataclass(frozen=True)
class TagScore:
    """One tag given to an item: score 0..1, the reason in words, and who gave it."""

    id: str
    score: float
    why: str
    origin: str  # rule | model | rule+model | source


@dataclass(frozen=True)
class TagDecision:
    """The complete tagging of one item: its tags (best first), relevance and language."""

    relevant: bool
    tags: tuple[TagScore, ...]
    lang: str

    @property
    def tag_ids(self) -> tuple[str, ...]:
        return tuple(tag.id for tag in self.tags)


@dataclass(frozen=True)
class Blend:
    """How rule and model scores combine (see the module docstring)."""

    model_alone: float = 0.5
    rule_alone: float = 0.8
    weight: float = 0.5
    agree: float = 0.45
    relevance: float = 0.0


def model_strength(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Model scores mapped piecewise-linearly so that each tag's threshold becomes 0.5."""
    thresholds = np.clip(thresholds, 1e-6, 1 - 1e-6)
    low = 0.5 * scores / thresholds
    high = 0.5 + 0.5 * (scores - thresholds) / (1 - thresholds)
    return np.clip(np.where(scores < thresholds, low, high), 0.0, 1.0)


def blend_scores(rule: np.ndarray, strength: np.ndarray, blend: Blend):
    """(given, score, origin code) arrays: origin 1 = rule, 2 = model, 3 = rule+model."""
    agreed = blend.weight * strength + (1 - blend.weight) * rule
    by_rule = rule >= blend.rule_alone
    by_model = strength >= blend.model_alone
    by_both = (agreed >= blend.agree) & (rule > 0) & (strength > 0)
    given = by_rule | by_model | by_both
    origin = np.where(by_both | (by_rule & by_model), 3, np.where(by_model, 2, 1))
    score = np.maximum(agreed, np.maximum(rule * by_rule, strength * by_model))
    return given, score, origin


def fit_blend(rule: np.ndarray, strength: np.ndarray, gold: np.ndarray,
              relevance: np.ndarray, rule_relevant: np.ndarray, relevant: np.ndarray,
              weights=None) -> Blend:
    """The blend with the best mean of micro and macro F1 on these (out-of-fold) scores, rows
    weighted by `weights`, then the relevance cut with the best relevance accuracy."""
    best, best_value = Blend(), -1.0
    for model_alone, rule_alone, weight, agree in product(
            (0.4, 0.5, 0.6, 0.7, 2.0), (0.6, 0.7, 0.8, 0.9, 2.0), (0.3, 0.5, 0.7),
            np.arange(0.3, 0.71, 0.05)):
        blend = Blend(model_alone, rule_alone, weight, float(round(agree, 2)))
        value = sum(f1_summary(gold, blend_scores(rule, strength, blend)[0], weights))
        if value > best_value + 1e-9:
            best, best_value = blend, value
    has_tag = blend_scores(rule, strength, best)[0].any(axis=1)
    cuts = [c for c in np.arange(0.0, 0.96, 0.05)]
    accuracy = [((has_tag & ((relevance >= c) | rule_relevant)) == relevant).mean() for c in cuts]
    return Blend(**{**asdict(best), "relevance": float(round(cuts[int(np.argmax(accuracy))], 2))})


class Tagger:
    """Tags items with rules and, when given, a trained model; one model call per batch.

    `detect_language(text) -> "sv" | "en" | "other"` is injected by the caller (the parse stage
    owns language detection); without it, and without a `lang` per item, `lang` is "".
    `language_of_plain(words, parts, characters)`, when given, is detect_language's answer for
    an item of plain text from the words the rules split it into and the bytes
    (text.plain_lowered) of the title and text those words come from (None: ask
    detect_language).
    """

    def __init__(self, taxonomy: Taxonomy, rules: RuleMatcher, model: TagModel | None = None,
                 blend: Blend | None = None,
                 detect_language: Callable[[str], str] | None = None,
                 language_of_plain: Callable[[list[str], tuple[bytes, ...], int], str | None]
                 | None = None):
        self.taxonomy, self.rules, self.model = taxonomy, rules, model
        self.tag_ids = tuple(tag.id for tag in taxonomy.tags)
        self._priority = {tag.id: tag.priority for tag in taxonomy.tags}
        self._priorities = np.array([tag.priority for tag in taxonomy.tags])
        self._columns = {tag: j for j, tag in enumerate(self.tag_ids)}
        stored = model.blend if model is not None and model.blend else {}
        self.blend = blend or Blend(**{f.name: stored[f.name] for f in fields(Blend)
                                       if f.name in stored})
        self.detect_language = detect_language
        self.language_of_plain = language_of_plain if detect_language is not None else None
        self._model_columns, self._thresholds = self._model_constants()

    def _model_constants(self) -> tuple[np.ndarray, np.ndarray]:
        """Each taxonomy tag's column among the model's scores (-1: the model has none) and the
        model's thresholds: worked out once, not per batch."""
        if self.model is None:
            return np.full(len(self.tag_ids), -1), np.zeros(0)
        known = {tag: j for j, tag in enumerate(self.model.tag_ids)}
        return (np.array([known.get(tag, -1) for tag in self.tag_ids], np.int64),
                np.array(list(self.model.thresholds.values())))

    def tag(self, title: str, text: str, source_tags=(), lang: str | None = None) -> TagDecision:
        return self.tag_many([(title, text, source_tags, lang)])[0]

    def tag_many(self, items) -> list[TagDecision]:
        """Items are (title, text, source_tags) or (title, text, source_tags, lang).

        TaggingError names the first item that could not be tagged; no decision is partial."""
        with cyclic_gc_paused():
            return [_decision(relevant, tuple([_tag_score(*tag) for tag in tags]), lang)
                    for relevant, tags, lang in self._tag_many(items)]

    def tag_rows(self, items) -> list[tuple[bool, list[tuple[str, float, str, str]], str]]:
        """`tag_many`'s decisions as plain values, for a caller that builds its own objects of
        them: (relevant, [(tag id, score, why, origin) of each tag, best first], lang)."""
        with cyclic_gc_paused():
            return self._tag_many(items)

    def _tag_many(self, items) -> list[tuple[bool, list[tuple[str, float, str, str]], str]]:
        both = [_prepared(index, item) for index, item in enumerate(items)]
        if not both:
            return []
        prepared, plains = [item for item, _ in both], [plain for _, plain in both]
        found, rule, rule_relevant, tokens, plain_words = self._rule_scores(prepared, plains)
        given, score, origin, relevant, model = self._given(prepared, rule, rule_relevant,
                                                            tokens)
        relevant &= given.any(axis=1)  # an item with no tag is not relevant
        rows, columns, scores = self._given_in_order(given & relevant[:, None], score)
        features = self._model_features(rows, columns, model)
        per_item: list[list] = [[] for _ in prepared]
        for i, j, value, code, words in zip(rows.tolist(), columns.tolist(), scores.tolist(),
                                            origin[rows, columns].tolist(), features):
            per_item[i].append((j, value, code, words))
        return [self._decide(*item_and_findings) for item_and_findings in
                zip(prepared, found, per_item, relevant.tolist(), plain_words)]

    def _given_in_order(self, given: np.ndarray, score: np.ndarray):
        """(row, column, score rounded by round4) of each given tag, per row best first: by
        rounded score, then priority, then column (the order _decide's sort keeps for items
        without source tags), for the whole batch at once."""
        rows, columns = np.nonzero(given)
        scores = round4_many(score[rows, columns])
        order = np.lexsort((columns, self._priorities[columns], -scores, rows))
        return rows[order], columns[order], scores[order]

    def _rule_scores(self, prepared, plains):
        """The rules' evidence, scores and relevance per item, the model's tokens of each item
        where they are the rules' words (else None), and for the same items those words and
        their bytes for language_of_plain (None for the others, or without it). `plains`: the
        plain_utf8 of each item's title and text, where _prepared knows it."""
        found, tokens, words = [], [], []
        for_language = self.language_of_plain is not None
        for i, ((title, text, _, _), plain) in enumerate(zip(prepared, plains)):
            try:
                title_words, text_words, model_tokens, lowered = _item_words(title, text, *plain)
                found.append(self.rules.evidence_of_words(title_words, text_words))
            except Exception as exc:  # noqa: BLE001 - reported per item, nothing kept
                raise TaggingError(f"item {i} ('{title[:60]}'): the rules failed: {exc}") from exc
            tokens.append(model_tokens)
            words.append((title_words + text_words, lowered)
                         if for_language and model_tokens is not None else None)
        relevant = np.fromiter((f.relevant for f in found), bool, len(found))
        return found, _score_matrix(found, self._columns), relevant, tokens, words

    def _given(self, prepared, rule: np.ndarray, rule_relevant: np.ndarray, tokens: list):
        if self.model is None:
            given = rule >= THRESHOLD
            return given, rule, np.ones(rule.shape, int), rule_relevant, None
        x, scores = self.model.score_matrix(
            [(title, text) for title, text, _, _ in prepared], tokens)
        strength = self._strength(scores)
        given, score, origin = blend_scores(rule, strength, self.blend)
        relevant = rule_relevant | (scores[:, -1] >= self.blend.relevance)
        return given, score, origin, relevant, (x, strength)

    def _strength(self, scores: np.ndarray) -> np.ndarray:
        """Model strength per taxonomy tag (0 for tags the model was not trained on)."""
        strength = model_strength(scores[:, :-1], self._thresholds)
        columns = self._model_columns
        if not len(columns) or columns.max() < 0:
            return np.zeros((len(scores), len(columns)))
        per_tag = strength[:, np.maximum(columns, 0)]
        per_tag[:, columns < 0] = 0.0
        return per_tag

    def _model_features(self, rows: np.ndarray, columns: np.ndarray, model) -> list:
        """The model's words for each given tag (row, column) whose model strength is at least
        0.25 (half its threshold), () for the others: explained in one pass for the batch."""
        if model is None:
            return [()] * len(rows)
        x, strength = model
        model_column = self._model_columns[columns]
        wanted = np.flatnonzero((strength[rows, columns] >= 0.25) & (model_column >= 0))
        features = [()] * len(rows)
        for k, words in zip(wanted.tolist(),
                            self.model.explain_many(x, rows[wanted], model_column[wanted])):
            features[k] = words
        return features

    def _decide(self, item, found: RuleEvidence, given: list, relevant: bool,
                plain_words: tuple[list[str], tuple[bytes, bytes]] | None = None
                ) -> tuple[bool, list[tuple[str, float, str, str]], str]:
        """`given`: (column, rounded score, origin code, model words) of each tag the item
        gets, best first (`_given_in_order`); `plain_words`: the item's words and their bytes
        for language_of_plain, when known."""
        title, text, source_tags, lang = item
        if source_tags:  # back in column order: sorted again below, with the source's tags,
            given = sorted(given, key=_column)  # ties keep that order
        tag_ids, scored = self.tag_ids, []
        for j, score, code, words in given:  # one column per tag: no tag twice
            tag = tag_ids[j]
            scored.append((tag, score, _why(found.terms(tag), words), ORIGINS[code - 1]))
        if source_tags:
            scored = _with_source_tags(scored, source_tags)
            if len(scored) > 1:
                scored.sort(key=lambda t: (-t[1], self._priority.get(t[0], 9)))
        return relevant, scored, lang or self._language(title, text, plain_words)

    def _language(self, title: str, text: str,
                  plain_words: tuple[list[str], tuple[bytes, bytes]] | None = None) -> str:
        if self.detect_language is None:
            return ""
        if plain_words is not None:  # only given with language_of_plain
            words, parts = plain_words
            lang = self.language_of_plain(words, parts, len(title) + 1 + len(text))
            if lang is not None:
                return lang
        return self.detect_language(f"{title}\n{text[:5000]}")


_gc_pauses = 0
_gc_resume = False
_gc_lock = threading.Lock()


@contextmanager
def cyclic_gc_paused():
    """No cyclic garbage collection while a batch is tagged. A batch makes hundreds of thousands
    of short-lived objects and no reference cycles (reference counting frees them all), but
    each collection that their number sets off would re-scan every object of the process —
    a tenth of the tagging time. Nested and concurrent pauses resume it once, at the last."""
    global _gc_pauses, _gc_resume
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_resume:
                gc.enable()


def _column(given: tuple) -> int:
    return given[0]


def round4_many(values: np.ndarray) -> np.ndarray:
    """rules.round4 of every value, by its float operations on the whole array (numpy's are
    the same IEEE operations); the values round4 leaves to round() are rounded one by one."""
    with np.errstate(invalid="ignore"):  # infinities: left to round()
        scaled = values * 10_000.0
        whole = np.floor(scaled)
        fraction = scaled - whole
        rounded = (whole + (fraction > 0.5)) / 10_000.0
        by_round = ~((values > 0.0) & (values < 1e6)) | (np.abs(fraction - 0.5) < 1e-6)
    for k in np.flatnonzero(by_round).tolist():
        rounded[k] = round(float(values[k]), 4)
    return rounded


def _with_source_tags(scored: list[tuple], source_tags) -> list[tuple]:
    """The item's (tag, score, why, origin) with its source's tags: score 1.0, in place of the
    same tag's own."""
    tags = {tag[0]: tag for tag in scored}
    for tag in dict.fromkeys(source_tags):
        why = "; ".join(filter(None, ["källans tagg", tags[tag][2] if tag in tags else ""]))
        tags[tag] = (tag, 1.0, why, "source")
    return list(tags.values())


def _tag_score(id: str, score: float, why: str, origin: str) -> TagScore:
    """TagScore(id, score, why, origin) without the frozen dataclass's __init__ (it runs for
    every tag of every item)."""
    return built(TagScore, id=id, score=score, why=why, origin=origin)


def _decision(relevant: bool, tags: tuple[TagScore, ...], lang: str) -> TagDecision:
    """TagDecision(relevant, tags, lang), built as _tag_score builds a TagScore."""
    return built(TagDecision, relevant=relevant, tags=tags, lang=lang)


def _why(terms: tuple[str, ...], words: tuple[str, ...]) -> str:
    """"träffar: <rule terms>; modell: <model features>", each part only when it has words."""
    if terms:
        rule = "träffar: " + ", ".join(terms[:5])
        return rule + "; modell: " + ", ".join(words) if words else rule
    return "modell: " + ", ".join(words) if words else ""


def item_words(title: str, text: str, plain_title: bytes | None = None,
               plain_text: bytes | None = None) -> tuple[list[str], list[str], list[str] | None]:
    """The rules' words of a (prepared) title and text, and the model's tokens of the item
    when they are the same words, split once: for plain text (`plain_utf8`) that neither the
    rules nor `model_text` clean or cut. None: the model reads the item itself. `plain_title`
    and `plain_text`, when given, are plain_utf8(title) and plain_utf8(text)."""
    return _item_words(title, text, plain_title, plain_text)[:3]


def _item_words(title: str, text: str, plain_title: bytes | None = None,
                plain_text: bytes | None = None):
    """`item_words`, and the plain_lowered bytes of the title and the text the words were split
    from where the model's tokens are known (else None)."""
    if (len(title) <= MAX_MODEL_TITLE_CHARS and len(text) <= MAX_MODEL_CHARS
            and _shareable(title) and _shareable(text)):
        if plain_title is None:
            plain_title = plain_utf8(title)
        if plain_text is None:
            plain_text = plain_utf8(text)
        if plain_title is not None and plain_text is not None:
            lowered = plain_lowered(plain_title), plain_lowered(plain_text)
            title_words, text_words = lowered[0].decode().split(), lowered[1].decode().split()
            return title_words, text_words, title_words * TITLE_REPEAT + text_words, lowered
    return words_of(title), words_of(text), None, None


def _shareable(text: str) -> bool:
    for character in _NOT_SHARED:  # each `in` is a fast scan; a regex class is not
        if character in text:
            return False
    return True


def _prepare(index: int, item) -> tuple[str, str, tuple[str, ...], str | None]:
    return _prepared(index, item)[0]


def _prepared(index: int, item) -> tuple[tuple[str, str, tuple[str, ...], str | None],
                                         tuple[bytes | None, bytes | None]]:
    """(title, text, source tags, lang) of an item, cleaned and cut, and the plain_utf8 of
    that title and text where cleaning found it (None: not plain, or cut since)."""
    try:
        title, text, source_tags = item[0], item[1], item[2] if len(item) > 2 else ()
        lang = item[3] if len(item) > 3 else None
        title, plain_title = clean_text_and_plain(str(title or "")[: 2 * MAX_TITLE_CHARS])
        if len(title) > MAX_TITLE_CHARS:
            title, plain_title = title[:MAX_TITLE_CHARS], None
        text, plain_text = clean_text_and_plain(str(text or "")[: 2 * MAX_RULE_CHARS])
        if len(text) > MAX_RULE_CHARS:
            text, plain_text = text[:MAX_RULE_CHARS], None
        return (title, text, tuple(source_tags or ()), lang), (plain_title, plain_text)
    except Exception as exc:  # noqa: BLE001
        raise TaggingError(f"item {index}: cannot read title and text ({exc})") from exc


def rule_matrix(rules: RuleMatcher, examples: list[LabelledText], tag_ids) -> tuple:
    """Rule scores (rows: examples, columns: tag_ids) and whether a relevance keyword matched."""
    found = [rules.evidence(e.title, e.text) for e in examples]
    columns = {tag: j for j, tag in enumerate(tag_ids)}
    return _score_matrix(found, columns), np.array([f.relevant for f in found], bool)


def _score_matrix(found: list[RuleEvidence], columns: dict[str, int]) -> np.ndarray:
    """Rows: items; columns: the tags of `columns`, 0 where the rules found nothing."""
    matrix = np.zeros((len(found), len(columns)))
    scores = [evidence.scores for evidence in found]
    lengths = list(map(len, scores))
    n = sum(lengths)
    cols = np.fromiter(map(columns.get, chain.from_iterable(scores), repeat(-1)), np.int64, n)
    values = np.fromiter(chain.from_iterable(map(dict.values, scores)), np.float64, n)
    rows = np.repeat(np.arange(len(found)), lengths)
    known = cols >= 0
    if not known.all():
        rows, cols, values = rows[known], cols[known], values[known]
    matrix[rows, cols] = values
    return matrix


def fit_tagger(taxonomy: Taxonomy, rules: RuleMatcher, examples: list[LabelledText],
               now: datetime, model: TagModel | None = None,
               detect_language: Callable[[str], str] | None = None
               ) -> tuple[Tagger, TrainReport]:
    """Train a model on `examples`, tune the blend on its out-of-fold scores, keep the blend with
    the model, and return the Tagger that uses both."""
    model = model or TagModel()
    tag_ids = [tag.id for tag in taxonomy.tags]
    report = model.train(examples, tag_ids, now)
    rule, rule_relevant = rule_matrix(rules, examples, tag_ids)
    strength = model_strength(report.oof_scores, np.array(list(model.thresholds.values())))
    gold = np.array([[t in e.tags for t in tag_ids] for e in examples])
    blend = fit_blend(rule, strength, gold, report.oof_relevance, rule_relevant,
                      np.array([e.relevant for e in examples]), label_weights(examples))
    model.blend = asdict(blend)
    model.info.scores["blend"] = dict(model.blend)
    return Tagger(taxonomy, rules, model, detect_language=detect_language), report


def label_weights(examples: list[LabelledText]) -> np.ndarray | None:
    """Weights for tuning the blend: the project's bundled examples together weigh as much as
    all real labels (shared, human) together, which show the items the tagger really meets."""
    bundled = np.array([e.origin == "bundled" for e in examples])
    if bundled.all() or not bundled.any():
        return None
    return np.where(bundled, 1.0 / bundled.sum(), 1.0 / (~bundled).sum())
