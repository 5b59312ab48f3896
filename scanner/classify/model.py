"""The learned half of the tagger: one linear classifier per tag plus a relevance classifier.

Features are sublinear TF-IDF of word 1-2-grams and char_wb 3-5-grams over casefolded text, the
title repeated so it weighs more than the body. The char n-grams of a batch come from one sparse
product (documents x words) @ (words x n-grams), not from a Python loop per n-gram. Scores are
Platt-calibrated on out-of-fold decision values, and each tag gets the threshold that maximised
its F1 in cross-validation grouped by source; the classifier family (logistic regression or
linear SVM) is chosen by the same cross-validation. Only weights are kept.
"""

from __future__ import annotations

import hashlib
import html
import json
import pickle
import re
import time
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, repeat

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from scanner.classify.labels import LabelledText
from scanner.errors import ScannerError

FORMAT_VERSION = 1
MAGIC = b"scanner-tagmodel\n"
MAX_MODEL_CHARS = 20_000
TITLE_REPEAT = 3
MIN_POSITIVES = 3
SEED = 0
CANDIDATES = {
    "logreg": lambda: LogisticRegression(C=8.0, class_weight="balanced", solver="liblinear",
                                         dual=True, max_iter=1000, random_state=SEED),
    "svm": lambda: LinearSVC(C=0.5, class_weight="balanced", random_state=SEED),
}
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_MARKUP = re.compile(r"<[^<>]{0,2000}>")
_MOJIBAKE = re.compile(r"\S*[ÃÂ]\S*")
_WORD = re.compile(r"\w+")


class ModelFormatError(ScannerError):
    """Stored model bytes were written by another format or scikit-learn version."""


def clean_text(value: str) -> str:
    """Plain text: markup stripped defensively, entities decoded, common mojibake repaired."""
    if "<" in value:
        value = _MARKUP.sub(" ", _SCRIPT.sub(" ", value))
    if "&" in value:
        value = html.unescape(value)
    if "Ã" in value or "Â" in value:
        value = _MOJIBAKE.sub(_repair, value)
    return unicodedata.normalize("NFC", value)


def _repair(match: re.Match) -> str:
    try:
        return match.group().encode("cp1252").decode("utf-8")
    except UnicodeError:
        return match.group()


def model_text(title: str, text: str) -> str:
    """What the model reads: the title three times, then the first 20,000 characters of text."""
    body = clean_text((text or "")[: 2 * MAX_MODEL_CHARS])[:MAX_MODEL_CHARS]
    title = clean_text((title or "")[:2000])
    return ((title + " \n ") * TITLE_REPEAT + body).casefold()


_SEP = " SEP "  # upper case: never a token of casefolded text


def _tokens(docs: list[str]) -> list[str]:
    """Casefolded word tokens of a batch, documents separated by the token "SEP"."""
    return _WORD.findall(_SEP.join(map(str.casefold, docs)))


def _positions(ids: np.ndarray, sep: int):
    """(document, id) of every word token, and (document, first, second) of every bigram."""
    is_sep = ids == sep
    doc = np.cumsum(is_sep) - is_sep
    words, pair = ~is_sep, ~is_sep[:-1] & ~is_sep[1:]
    return (doc[words], ids[words]), (doc[:-1][pair], ids[:-1][pair], ids[1:][pair])


def _counts(rows, cols, shape) -> sp.csr_matrix:
    keep = cols >= 0
    ones = np.ones(int(keep.sum()), np.float32)
    return sp.csr_matrix((ones, (rows[keep], cols[keep])), shape=shape)


def _grams(word: str, low: int = 3, high: int = 5):
    padded = f" {word} "
    return (padded[i:i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1))


def _gram_matrix(words: list[str], index: dict) -> sp.csr_matrix:
    """Rows: words; columns: char_wb n-grams in `index` (unknown n-grams dropped)."""
    cols, lengths = [], []
    for word in words:
        before = len(cols)
        cols.extend(map(index.get, _grams(word), repeat(-1)))
        lengths.append(len(cols) - before)
    rows = np.repeat(np.arange(len(words)), lengths)
    return _counts(rows, np.asarray(cols, np.int64), (len(words), len(index)))


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    counts = counts.tocsr().astype(np.float32)
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    return normalize(counts)


def _idf(counts: sp.csr_matrix, keep_min: int) -> tuple[np.ndarray, np.ndarray]:
    df = np.asarray(counts.getnnz(axis=0))
    keep = np.flatnonzero(df >= keep_min)
    idf = np.log((1 + counts.shape[0]) / (1 + df[keep])) + 1.0
    return keep, idf.astype(np.float32)


class TextFeatures:
    """Word (1-2-gram) and char_wb (3-5-gram) sublinear TF-IDF, each block L2-normalised.

    Python touches each distinct word of a batch once; everything per token is numpy/scipy.
    """

    def __init__(self, min_df: int = 2, char_weight: float = 1.0, max_words: int = 300_000):
        self.min_df, self.char_weight, self.max_words = min_df, char_weight, max_words

    def fit(self, docs: list[str]) -> TextFeatures:
        tokens = _tokens(docs)
        vocabulary = [w for w in dict.fromkeys(tokens) if w != "SEP"]
        n = len(vocabulary)
        self.words = dict(zip(vocabulary, range(n)))
        self._rows = {**self.words, "SEP": n}
        (doc, ids), (pdoc, first, second) = _positions(self._lookup(tokens), n)
        unigrams = _counts(doc, ids, (len(docs), n))
        keep, uni_idf = _idf(unigrams, self.min_df)
        self._uni_col = np.full(n + 1, -1, np.int64)
        self._uni_col[keep] = np.arange(len(keep))
        codes, inverse = np.unique(first * n + second, return_inverse=True)
        pkeep, bi_idf = _idf(_counts(pdoc, inverse, (len(docs), len(codes))), self.min_df)
        self._bi_codes, self.term_idf = codes[pkeep], np.concatenate([uni_idf, bi_idf])
        self.terms = [vocabulary[i] for i in keep] + [
            f"{vocabulary[c // n]} {vocabulary[c % n]}" for c in self._bi_codes]
        self._fit_grams(vocabulary, unigrams)
        return self

    def _fit_grams(self, vocabulary: list[str], unigrams: sp.csr_matrix) -> None:
        grams: dict[str, int] = {}
        for word in vocabulary:
            for gram in _grams(word):
                grams.setdefault(gram, len(grams))
        keep, self.gram_idf = _idf(unigrams @ _gram_matrix(vocabulary, grams), self.min_df)
        names = list(grams)
        self.grams = {names[i]: j for j, i in enumerate(keep)}
        self._w = _gram_matrix(vocabulary + [""], self.grams)  # the row of "SEP" is empty

    def _lookup(self, tokens: list[str]) -> np.ndarray:
        return np.fromiter(map(self._rows.get, tokens, repeat(-1)), np.int64, len(tokens))

    def _token_ids(self, tokens: list[str]) -> np.ndarray:
        """Rows of the word -> n-gram matrix for every token, learning unseen words once."""
        ids = self._lookup(tokens)
        unseen = ids < 0
        if unseen.any():
            new = list(dict.fromkeys(compress(tokens, unseen)))
            if len(self._rows) + len(new) > self.max_words:  # forget what was learnt
                self._rows = {**self.words, "SEP": len(self.words)}
                self._w = self._w[: len(self._rows)]
                return self._token_ids(tokens)
            self._rows.update(zip(new, range(len(self._rows), len(self._rows) + len(new))))
            self._w = sp.vstack([self._w, _gram_matrix(new, self.grams)], format="csr")
            ids[unseen] = self._lookup(list(compress(tokens, unseen)))
        return ids

    def _term_counts(self, unigram, bigram, n_docs: int) -> sp.csr_matrix:
        n = len(self.words)
        (doc, ids), (pdoc, first, second) = unigram, bigram
        first, second = np.minimum(first, n), np.minimum(second, n)
        codes = first * n + second
        pos = np.minimum(np.searchsorted(self._bi_codes, codes), max(len(self._bi_codes) - 1, 0))
        found = (first < n) & (second < n)
        if len(self._bi_codes):
            found &= self._bi_codes[pos] == codes
        n_uni = len(self.terms) - len(self._bi_codes)
        cols = np.concatenate([self._uni_col[np.minimum(ids, n)], np.where(found, pos + n_uni, -1)])
        return _counts(np.concatenate([doc, pdoc]), cols, (n_docs, len(self.terms)))

    def blocks(self, docs: list[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The word block and the char block (already weighted) of a batch."""
        if not docs:
            return (sp.csr_matrix((0, len(self.terms)), dtype=np.float32),
                    sp.csr_matrix((0, len(self.grams)), dtype=np.float32))
        ids = self._token_ids(_tokens(docs))
        unigram, bigram = _positions(ids, len(self.words))
        words = _tfidf(self._term_counts(unigram, bigram, len(docs)), self.term_idf)
        per_word = _counts(*unigram, (len(docs), self._w.shape[0]))
        return words, _tfidf(per_word @ self._w, self.gram_idf) * self.char_weight

    def transform(self, docs: list[str]) -> sp.csr_matrix:
        """Rows of [word block | char block]; the first len(self.terms) columns are words."""
        return sp.hstack(self.blocks(docs), format="csr")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_rows"], state["_w"] = None, self._w[: len(self.words) + 1]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._rows = {**self.words, "SEP": len(self.words)}


@dataclass(frozen=True)
class ModelScore:
    """One tag's model score for one item: calibrated 0..1, and the words that pushed it up."""

    score: float
    passed_threshold: bool
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """What a trained model is: version, when, from how many labels of which origin, how good."""

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
    indices = np.arange(len(groups))
    return list(GroupKFold(n_splits=n_splits).split(indices, groups=groups))


def _fit_target(kind: str, x, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights of one binary scorer; a constant when the training side has one class only."""
    if y.min() == y.max():
        return np.zeros(x.shape[1], np.float32), 8.0 if y[0] else -8.0
    estimator = CANDIDATES[kind]().fit(x, y)
    return estimator.coef_.ravel().astype(np.float32), float(estimator.intercept_[0])


def _fit_all(kind: str, x, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fitted = [_fit_target(kind, x, targets[:, j]) for j in range(targets.shape[1])]
    return np.vstack([c for c, _ in fitted]), np.array([b for _, b in fitted])


def _out_of_fold(docs, targets, folds, kinds) -> dict[str, np.ndarray]:
    """Raw decision values of each classifier family for every example, from held-out folds."""
    raw = {kind: np.zeros(targets.shape, np.float64) for kind in kinds}
    for train, test in folds:
        features = TextFeatures().fit([docs[i] for i in train])
        x_train, x_test = features.transform([docs[i] for i in train]), \
            features.transform([docs[i] for i in test])
        for kind in kinds:
            coef, intercept = _fit_all(kind, x_train, targets[train])
            raw[kind][test] = np.asarray(x_test @ coef.T) + intercept
    return raw


def _platt(raw: np.ndarray, y: np.ndarray, kind: str) -> tuple[float, float]:
    if y.sum() < MIN_POSITIVES or y.min() == y.max():
        return (1.0 if kind == "logreg" else 2.0), 0.0
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


def f1_summary(y: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Micro and macro F1 over the columns that have at least one positive."""
    tp, fp, fn = ((predicted & y).sum(0), (predicted & ~y).sum(0), (~predicted & y).sum(0))
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    has = y.sum(0) > 0
    per = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return float(micro), float(per[has].mean()) if has.any() else 0.0


class TagModel:
    """Per-tag linear classifiers plus a relevance classifier over shared TF-IDF features."""

    def __init__(self, n_splits: int = 5, kinds: tuple[str, ...] = tuple(CANDIDATES)):
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
        coef, intercept = _fit_all(self.classifier, self._features.transform(docs), targets)
        self._heads = _Heads(np.ascontiguousarray(coef.T), intercept, platt, thresholds)
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

    def score_matrix(self, titles_and_texts: list[tuple[str, str]]):
        """(word features, scores): one row per item; score columns are the tags, then
        relevance. Pass the word features to `explain`."""
        if self._heads is None:
            raise ScannerError("the tag model is not trained; run training first")
        words, chars = self._features.blocks([model_text(t, b) for t, b in titles_and_texts])
        return words, self._heads.scores(words, chars)

    def predict(self, titles_and_texts: list[tuple[str, str]]) -> list[dict[str, ModelScore]]:
        """Every tag's score per item, with the top word features where the score is near or
        above the threshold."""
        x, scores = self.score_matrix(titles_and_texts)
        return [{tag: self.model_score(x, scores, i, j) for j, tag in enumerate(self.tag_ids)}
                for i in range(scores.shape[0])]

    def model_score(self, x, scores: np.ndarray, row: int, column: int) -> ModelScore:
        score, threshold = float(scores[row, column]), self._heads.thresholds[column]
        near = score >= threshold / 2
        return ModelScore(score, bool(score >= threshold), self.explain(x, row, column) if near else ())

    def explain(self, x, row: int, column: int, top: int = 3) -> tuple[str, ...]:
        """The word features of one item that add most to one tag's score."""
        cols = x.indices[x.indptr[row]:x.indptr[row + 1]]
        vals = x.data[x.indptr[row]:x.indptr[row + 1]]
        words = cols < len(self._features.terms)
        cols, contrib = cols[words], vals[words] * self._heads.weights[cols[words], column]
        best = np.argsort(-contrib, kind="stable")[:top]
        return tuple(self._features.terms[cols[k]] for k in best if contrib[k] > 0)

    def relevance(self, titles_and_texts: list[tuple[str, str]]) -> list[float]:
        return [float(s) for s in self.score_matrix(titles_and_texts)[1][:, -1]]

    def to_bytes(self) -> bytes:
        header = {"format_version": FORMAT_VERSION, "sklearn": sklearn.__version__,
                  "numpy": np.__version__}
        body = pickle.dumps(self.__dict__, protocol=5)
        return MAGIC + json.dumps(header).encode() + b"\n" + zlib.compress(body, 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> TagModel:
        """Load a model; refuse bytes of another format version or scikit-learn release."""
        header = _read_header(data)
        model = cls.__new__(cls)
        model.__dict__.update(pickle.loads(zlib.decompress(data.split(b"\n", 2)[2])))
        return model


def _read_header(data: bytes) -> dict:
    if not data.startswith(MAGIC):
        raise ModelFormatError("these bytes are not a scanner tag model; retrain the model")
    header = json.loads(data.split(b"\n", 2)[1])
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"the stored tag model has format version {header.get('format_version')}, this "
            f"scanner reads version {FORMAT_VERSION}; retrain the model from the labels")
    stored, running = header.get("sklearn", "?"), sklearn.__version__
    if stored.split(".")[:2] != running.split(".")[:2]:
        raise ModelFormatError(
            f"the stored tag model was trained with scikit-learn {stored}, this installation "
            f"has {running}; retrain the model from the labels (or install {stored})")
    return header


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
