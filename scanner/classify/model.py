"""The learned half of the tagger: one linear classifier per tag plus a relevance classifier.

Features: features.TextFeatures (word 1-2-gram and char_wb 3-5-gram sublinear TF-IDF). Scores are
Platt-calibrated on out-of-fold decision values, and each tag gets the threshold that maximised
its F1 in cross-validation grouped by source; the classifier family (logistic regression or
linear SVM) is chosen by the same cross-validation. Only weights are kept.

scikit-learn is imported by the training functions only: a process that loads a stored model
and tags never imports it (the parse workers stay small).
"""

from __future__ import annotations

import hashlib
import pickle
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

import numpy as np

from scanner.classify.features import TextFeatures, model_text
from scanner.classify.labels import LabelledText
from scanner.classify.model_format import (
    FORMAT_VERSION,
    ModelFormatError,
    envelope,
    sklearn_version,
    unpacked_body,
)
from scanner.errors import ScannerError

MIN_POSITIVES = 3
EXPLAIN_MIN_IDF = 2.0  # features in more than about a third of the training texts are not shown
SEED = 0
CANDIDATES = ("logreg", "svm")


def _estimator(kind: str):
    """A fresh, unfitted classifier of one candidate family."""
    if kind == "logreg":
        from sklearn.linear_model import LogisticRegression
        return LogisticRegression(C=8.0, class_weight="balanced", solver="liblinear", dual=True,
                                  max_iter=1000, random_state=SEED)
    from sklearn.svm import LinearSVC
    return LinearSVC(C=0.5, class_weight="balanced", random_state=SEED)


@dataclass(frozen=True)
class ModelScore:
    """One tag's model score for one item: calibrated 0..1, and the words that pushed it up."""
    score: float
    passed_threshold: bool
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """What a trained model is: version, when, from how many labels of which origin, how good
    (scores: cross-validated micro/macro F1, per tag F1/threshold/support, the blend)."""
    version: str
    trained_at: datetime
    labels: int
    label_sources: dict[str, int]
    scores: dict


@dataclass(frozen=True)
class TrainReport:
    """Training outcome plus the out-of-fold scores (rows: examples, columns: tags)."""
    info: ModelInfo
    classifier: str
    thresholds: dict[str, float]
    seconds: float
    example_ids: tuple[str, ...]
    tag_ids: tuple[str, ...]
    oof_scores: np.ndarray = field(repr=False)
    oof_relevance: np.ndarray = field(repr=False)


@dataclass
class _Heads:
    """Linear scorers, one column per target (the tags, then relevance)."""
    weights: np.ndarray  # features x targets
    intercept: np.ndarray
    platt: np.ndarray
    thresholds: np.ndarray

    def scores(self, words, chars) -> np.ndarray:
        n = words.shape[1]
        raw = np.asarray(words @ self.weights[:n]) + np.asarray(chars @ self.weights[n:])
        return _sigmoid((raw + self.intercept) * self.platt[:, 0] + self.platt[:, 1])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def grouped_folds(groups: list[str], n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs in which no group is on both sides."""
    n_splits = min(n_splits, len(set(groups)))
    if n_splits < 2:
        return []
    from sklearn.model_selection import GroupKFold
    indices = np.arange(len(groups))
    return list(GroupKFold(n_splits=n_splits).split(indices, groups=groups))


def _fit_target(kind: str, x, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights of one binary scorer; a constant when the training side has one class only."""
    if y.min() == y.max():
        return np.zeros(x.shape[1], np.float32), 8.0 if y[0] else -8.0
    estimator = _estimator(kind).fit(x, y)
    return estimator.coef_.ravel().astype(np.float32), float(estimator.intercept_[0])


def _fit_all(kind: str, x, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features x targets weights, intercepts)."""
    fitted = [_fit_target(kind, x, targets[:, j]) for j in range(targets.shape[1])]
    return np.column_stack([c for c, _ in fitted]), np.array([b for _, b in fitted])


def _out_of_fold(docs, targets, folds, kinds) -> dict[str, np.ndarray]:
    """Raw decision values of each classifier family for every example, from held-out folds."""
    raw = {kind: np.zeros(targets.shape, np.float64) for kind in kinds}
    for train, test in folds:
        features = TextFeatures().fit([docs[i] for i in train])
        x_train = features.transform([docs[i] for i in train])
        x_test = features.transform([docs[i] for i in test])
        for kind in kinds:
            weights, intercept = _fit_all(kind, x_train, targets[train])
            raw[kind][test] = np.asarray(x_test @ weights) + intercept
    return raw


def _platt(raw: np.ndarray, y: np.ndarray, kind: str) -> tuple[float, float]:
    """Sigmoid scale and shift fitted to out-of-fold decision values; a fixed one for rare tags."""
    if y.sum() < MIN_POSITIVES or y.min() == y.max():
        return (1.0 if kind == "logreg" else 2.0), 0.0
    from sklearn.linear_model import LogisticRegression
    fit = LogisticRegression(C=1.0).fit(raw.reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def best_threshold(scores: np.ndarray, y: np.ndarray, default: float = 0.5) -> float:
    """The cut between two sorted scores that maximises F1; `default` with too few positives."""
    if y.sum() < MIN_POSITIVES:
        return default
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], y[order]
    tp = np.cumsum(hits)
    f1 = 2 * tp / (np.arange(1, len(y) + 1) + y.sum())
    cut = int(np.argmax(f1))
    below = ranked[cut + 1] if cut + 1 < len(ranked) else 0.0
    return float(np.clip((ranked[cut] + below) / 2, 0.05, 0.95))


def _calibrate(raw: np.ndarray, targets: np.ndarray, kind: str):
    platt = np.array([_platt(raw[:, j], targets[:, j], kind) for j in range(raw.shape[1])])
    scores = _sigmoid(raw * platt[:, 0] + platt[:, 1])
    thresholds = np.array([best_threshold(scores[:, j], targets[:, j])
                           for j in range(raw.shape[1])])
    return platt, thresholds, scores


def f1_summary(y: np.ndarray, predicted: np.ndarray, weights=None) -> tuple[float, float]:
    """Micro and macro F1 over the columns that have at least one positive (rows weighted)."""
    w = np.ones((len(y), 1)) if weights is None else np.asarray(weights).reshape(-1, 1)
    tp, fp, fn = ((w * (predicted & y)).sum(0), (w * (predicted & ~y)).sum(0),
                  (w * (~predicted & y)).sum(0))
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    has = y.sum(0) > 0
    per = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return float(micro), float(per[has].mean()) if has.any() else 0.0


class TagModel:
    """Per-tag linear classifiers plus a relevance classifier over shared TF-IDF features."""

    def __init__(self, n_splits: int = 5, kinds: tuple[str, ...] = CANDIDATES):
        self.n_splits, self.kinds = n_splits, kinds
        self.tag_ids: tuple[str, ...] = ()
        self.classifier, self.info = "", None
        self.blend: dict[str, float] | None = None  # set by combine.fit_tagger; kept with it
        self._features: TextFeatures | None = None
        self._heads: _Heads | None = None

    def train(self, examples: list[LabelledText], tag_ids: list[str], now: datetime) -> TrainReport:
        """Fit on `examples`; thresholds and family come from grouped out-of-fold scores."""
        if len(examples) < 2:
            raise ScannerError("training the tag model needs at least 2 labelled examples")
        started, self.tag_ids = time.perf_counter(), tuple(tag_ids)
        docs = [model_text(e.title, e.text) for e in examples]
        targets = np.array([[t in e.tags for t in tag_ids] + [e.relevant] for e in examples])
        raw = _out_of_fold(docs, targets, grouped_folds(_groups(examples), self.n_splits),
                           self.kinds)
        self.classifier, (platt, thresholds, oof), summary = _choose(raw, targets, self.kinds)
        self._features = TextFeatures().fit(docs)
        weights, intercept = _fit_all(self.classifier, self._features.transform(docs), targets)
        self._heads = _Heads(weights, intercept, platt, thresholds)
        self._explainable = np.array([len(t) > 2 for t in self._features.terms]) & \
            (self._features.term_idf >= EXPLAIN_MIN_IDF)
        self.info = _info(examples, self.tag_ids, now, summary, thresholds, targets, oof)
        return TrainReport(self.info, self.classifier, self.thresholds,
                           time.perf_counter() - started, tuple(e.id for e in examples),
                           self.tag_ids, oof[:, :-1], oof[:, -1])

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(zip(self.tag_ids, map(float, self._heads.thresholds)))

    @property
    def relevance_threshold(self) -> float:
        return float(self._heads.thresholds[-1])

    def score_matrix(self, titles_and_texts: list[tuple[str, str]], tokens=None):
        """(word features, scores): one row per item; score columns are the tags, then
        relevance. Pass the word features to `explain`. `tokens`, when given, holds per item
        the tokens of its `model_text` where they are known already (else None)."""
        if self._heads is None:
            raise ScannerError("the tag model is not trained; run training first")
        docs = [model_text(t, b) for t, b in titles_and_texts] if tokens is None else [
            model_text(t, b) if known is None else known
            for (t, b), known in zip(titles_and_texts, tokens)]
        words, chars = self._features.blocks(docs)
        return words, self._heads.scores(words, chars)

    def predict(self, titles_and_texts: list[tuple[str, str]]) -> list[dict[str, ModelScore]]:
        """Every tag's score per item; features where the score is at least half the threshold."""
        x, scores = self.score_matrix(titles_and_texts)
        thresholds = self._heads.thresholds[:-1]
        rows, columns = np.nonzero(scores[:, :-1] >= thresholds / 2)
        features = dict(zip(zip(rows.tolist(), columns.tolist()),
                            self.explain_many(x, rows, columns)))
        passed = (scores[:, :-1] >= thresholds).tolist()
        return [{tag: ModelScore(float(scores[i, j]), passed[i][j], features.get((i, j), ()))
                 for j, tag in enumerate(self.tag_ids)} for i in range(scores.shape[0])]

    def explain(self, x, row: int, column: int, top: int = 3) -> tuple[str, ...]:
        """The word features of one item that add most to one tag's score; x holds word
        features only (as `score_matrix` returns them). Common and one- or two-letter words
        explain nothing and are left out."""
        return self.explain_many(x, [row], [column], top)[0]

    def explain_many(self, x, rows, columns, top: int = 3) -> list[tuple[str, ...]]:
        """`explain` for many (row, column) pairs at once: the products of every pair's word
        features and weights in one pass, sorted by pair, contribution (descending) and place
        in the row (so ties keep the row's order)."""
        rows, columns = np.asarray(rows, np.int64), np.asarray(columns, np.int64)
        # x's explainable features only, before each pair's row is copied out
        useful = self._explainable[x.indices]
        indices, data = x.indices[useful], x.data[useful]
        indptr = np.concatenate(([0], np.cumsum(useful)))[x.indptr]
        starts, lengths = indptr[rows], indptr[rows + 1] - indptr[rows]
        pair = np.repeat(np.arange(len(rows)), lengths)
        first = np.repeat(np.cumsum(lengths) - lengths, lengths)
        place = np.repeat(starts, lengths) + np.arange(len(pair)) - first
        cols = indices[place]
        contrib = data[place] * self._heads.weights[cols, columns[pair]]
        positive = contrib > 0
        pair, cols, contrib = pair[positive], cols[positive], contrib[positive]
        # the pairs are in order and each pair's places too: a stable sort keeps that order
        # among equal contributions
        order = np.lexsort((-contrib, pair))
        pair, cols = pair[order], cols[order]
        rank = np.arange(len(pair)) - np.searchsorted(pair, pair)
        best = rank < top
        shown = map(self._features.terms.__getitem__, cols[best].tolist())
        return [tuple(islice(shown, n))
                for n in np.bincount(pair[best], minlength=len(rows)).tolist()]

    def relevance(self, titles_and_texts: list[tuple[str, str]]) -> list[float]:
        return [float(s) for s in self.score_matrix(titles_and_texts)[1][:, -1]]

    def to_bytes(self) -> bytes:
        header = {"format_version": FORMAT_VERSION, "sklearn": sklearn_version(),
                  "numpy": np.__version__}
        return envelope(header, pickle.dumps(self.__dict__, protocol=5))

    @classmethod
    def from_bytes(cls, data: bytes) -> TagModel:
        """Load a model; refuse bytes of another format version or scikit-learn release."""
        body = unpacked_body(data)
        model = cls.__new__(cls)
        try:
            model.__dict__.update(pickle.loads(body))
        except (pickle.UnpicklingError, EOFError, AttributeError) as exc:
            raise ModelFormatError(f"the stored tag model is damaged ({exc}); retrain it") from exc
        return model


def _groups(examples: list[LabelledText]) -> list[str]:
    sources = [e.source or e.id for e in examples]
    return sources if len(set(sources)) >= 2 else [e.id for e in examples]


def _choose(raw: dict, targets: np.ndarray, kinds):
    """The family with the best mean of micro and macro F1 over the tags, out of fold."""
    results = {}
    for kind in kinds:
        platt, thresholds, scores = _calibrate(raw[kind], targets, kind)
        micro, macro = f1_summary(targets[:, :-1], scores[:, :-1] >= thresholds[:-1])
        results[kind] = ((platt, thresholds, scores), {"cv_micro_f1": micro, "cv_macro_f1": macro})
    best = max(kinds, key=lambda k: sum(results[k][1].values()))
    summary = {"classifier": best, **results[best][1],
               "candidates": {k: results[k][1] for k in kinds}}
    return best, results[best][0], summary


def _info(examples, tag_ids, now, summary, thresholds, targets, oof) -> ModelInfo:
    per_tag = {}
    for j, tag in enumerate(tag_ids):
        predicted = oof[:, j] >= thresholds[j]
        _, f1 = f1_summary(targets[:, [j]], predicted[:, None])
        per_tag[tag] = {"f1": f1, "threshold": float(thresholds[j]),
                        "support": int(targets[:, j].sum())}
    relevance = float(((oof[:, -1] >= thresholds[-1]) == targets[:, -1]).mean())
    scores = {**summary, "relevance_accuracy": relevance, "per_tag": per_tag}
    digest = hashlib.sha1(repr(sorted((e.id, e.tags, e.relevant) for e in examples)).encode())
    sources = dict(Counter(e.origin or "unknown" for e in examples))
    return ModelInfo(f"tm{FORMAT_VERSION}-{digest.hexdigest()[:10]}", now, len(examples),
                     sources, scores)
