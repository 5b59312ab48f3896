"""How good is the tagging: per-tag precision, recall, F1 and support, micro and macro averages,
relevance accuracy, and honest cross-validation of rules alone, model alone and both together.

Macro averages run over the tags that occur in the gold labels (support > 0); a tag nobody
labelled has no recall to measure. `cross_validate` splits by group (source), trains on the other
folds (plus any `fixed_train` examples, which are never tested) and predicts the held-out fold,
so no figure of the model or the combination comes from items it was trained or tuned on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from scanner.classify.combine import TagDecision, Tagger, TagScore, fit_tagger
from scanner.classify.labels import LabelledText
from scanner.classify.model import TagModel, grouped_folds
from scanner.classify.rules import RuleMatcher
from scanner.models import Taxonomy

METHODS = ("rules", "model", "combined")


@dataclass(frozen=True)
class TagMetrics:
    """Counts and ratios for one tag, or for a micro/macro average (tag "micro"/"macro")."""

    tag: str
    precision: float
    recall: float
    f1: float
    support: int
    tp: int = 0
    fp: int = 0
    fn: int = 0


@dataclass(frozen=True)
class Evaluation:
    """Per-tag metrics, their micro and macro averages, and relevance accuracy."""

    per_tag: dict[str, TagMetrics]
    micro: TagMetrics
    macro: TagMetrics
    relevance_accuracy: float
    items: int

    def table(self, title: str = "") -> str:
        """A fixed-width table: one line per tag, then micro, macro and relevance."""
        lines = [title] if title else []
        lines.append(f"{'tag':<24}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}")
        for metrics in [*self.per_tag.values(), self.micro, self.macro]:
            lines.append(f"{metrics.tag:<24}{metrics.precision:>10.2f}{metrics.recall:>8.2f}"
                         f"{metrics.f1:>7.2f}{metrics.support:>9}")
        lines.append(f"relevance accuracy {self.relevance_accuracy:.2f} over {self.items} items")
        return "\n".join(lines)


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def tag_metrics(tag: str, tp: int, fp: int, fn: int) -> TagMetrics:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return TagMetrics(tag, precision, recall, _ratio(2 * tp, 2 * tp + fp + fn), tp + fn,
                      tp, fp, fn)


def evaluate(gold: list[LabelledText], predicted: list[TagDecision],
             tag_ids: list[str] | None = None) -> Evaluation:
    """Compare decisions with gold labels item by item (same order, same length)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold items but {len(predicted)} decisions")
    found = [set(decision.tag_ids) for decision in predicted]
    if tag_ids is None:
        tag_ids = sorted({t for g in gold for t in g.tags} | set().union(*found))
    per_tag = {tag: _count(tag, gold, found) for tag in tag_ids}
    correct = sum(g.relevant == d.relevant for g, d in zip(gold, predicted))
    return Evaluation(per_tag, _micro(per_tag.values()), _macro(per_tag.values()),
                      _ratio(correct, len(gold)), len(gold))


def _count(tag: str, gold: list[LabelledText], found: list[set[str]]) -> TagMetrics:
    tp = sum(tag in g.tags and tag in f for g, f in zip(gold, found))
    fp = sum(tag not in g.tags and tag in f for g, f in zip(gold, found))
    fn = sum(tag in g.tags and tag not in f for g, f in zip(gold, found))
    return tag_metrics(tag, tp, fp, fn)


def _micro(metrics) -> TagMetrics:
    metrics = list(metrics)
    tp, fp, fn = (sum(getattr(m, key) for m in metrics) for key in ("tp", "fp", "fn"))
    return tag_metrics("micro", tp, fp, fn)


def _macro(metrics) -> TagMetrics:
    present = [m for m in metrics if m.support > 0]
    if not present:
        return TagMetrics("macro", 0.0, 0.0, 0.0, 0)
    mean = [float(np.mean([getattr(m, key) for m in present]))
            for key in ("precision", "recall", "f1")]
    return TagMetrics("macro", *mean, sum(m.support for m in present))


@dataclass(frozen=True)
class Fold:
    """One split: the ids and groups tested, and the groups trained on (fixed examples aside)."""

    test_ids: tuple[str, ...]
    test_groups: frozenset[str]
    train_groups: frozenset[str]


@dataclass(frozen=True)
class CrossValidation:
    """Held-out evaluations of rules alone, the model alone and the combination."""

    rules: Evaluation
    model: Evaluation
    combined: Evaluation
    folds: tuple[Fold, ...]

    def summary(self) -> str:
        lines = [f"{'method':<10}{'micro-F1':>10}{'macro-F1':>10}{'relevance':>11}"]
        for name in METHODS:
            result = getattr(self, name)
            lines.append(f"{name:<10}{result.micro.f1:>10.3f}{result.macro.f1:>10.3f}"
                         f"{result.relevance_accuracy:>11.3f}")
        return "\n".join(lines)


def cross_validate(examples: list[LabelledText], taxonomy: Taxonomy, rules: RuleMatcher,
                   now: datetime, n_splits: int = 5, fixed_train: list[LabelledText] = (),
                   groups: list[str] | None = None,
                   model_factory: Callable[[], TagModel] = TagModel) -> CrossValidation:
    """Grouped k-fold over `examples` (groups default to each example's source)."""
    groups = groups or [e.source or e.id for e in examples]
    tag_ids = [tag.id for tag in taxonomy.tags]
    found = {method: [None] * len(examples) for method in METHODS}
    folds = []
    for train, test in grouped_folds(groups, n_splits):
        tested = [examples[i] for i in test]
        training = list(fixed_train) + [examples[i] for i in train]
        tagger, _ = fit_tagger(taxonomy, rules, training, now, model=model_factory())
        for method, decisions in _decide_all(tagger, tested).items():
            for i, decision in zip(test, decisions):
                found[method][i] = decision
        folds.append(Fold(tuple(e.id for e in tested), frozenset(groups[i] for i in test),
                          frozenset(groups[i] for i in train)))
    if not folds:
        raise ValueError("cross-validation needs examples from at least 2 groups (sources)")
    results = {m: evaluate(examples, found[m], tag_ids) for m in METHODS}
    return CrossValidation(**results, folds=tuple(folds))


def _decide_all(tagger: Tagger, tested: list[LabelledText]) -> dict[str, list[TagDecision]]:
    items = [(e.title, e.text, ()) for e in tested]
    rules_only = Tagger(tagger.taxonomy, tagger.rules, None)
    return {"rules": rules_only.tag_many(items), "model": model_decisions(tagger.model, items),
            "combined": tagger.tag_many(items)}


def model_decisions(model: TagModel, items) -> list[TagDecision]:
    """What the model alone decides: the tags past their thresholds, relevant when the
    relevance score passes too."""
    pairs = [(item[0], item[1]) for item in items]
    decisions = []
    for scores, relevance in zip(model.predict(pairs), model.relevance(pairs)):
        tags = tuple(TagScore(tag, s.score, "modell: " + ", ".join(s.features), "model")
                     for tag, s in scores.items() if s.passed_threshold)
        relevant = bool(tags) and relevance >= model.relevance_threshold
        decisions.append(TagDecision(relevant, tags if relevant else (), ""))
    return decisions
