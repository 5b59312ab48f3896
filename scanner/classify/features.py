"""What the tag model reads: clean text, and sublinear TF-IDF of word 1-2-grams and char_wb
3-5-grams over casefolded text, the title repeated so it weighs more than the body.

Char n-grams are those of each \\w+ word padded with spaces (scikit-learn's char_wb splits on
whitespace only, so it also sees punctuation). A batch costs one regex pass and one dictionary
lookup per token; the char n-grams come from one sparse product (documents x words) @
(words x n-grams), each unseen word's n-grams computed once and remembered (up to `max_words`).
The word block equals scikit-learn's TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
token_pattern=r"\\w+") on the same text (a test checks it).
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from scanner.classify.text import lowering_table
from scanner.plaintext import plain_utf8

MAX_MODEL_CHARS = 20_000
MAX_MODEL_TITLE_CHARS = 2_000
TITLE_REPEAT = 3
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_MARKUP = re.compile(r"<[^<>]{0,2000}>")
_MOJIBAKE = re.compile(r"\S*[ÃÂ]\S*")
_WORD = re.compile(r"\w+")
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7F](?<!\w)")
# ASCII bytes that are not word characters become spaces; UTF-8 lead/trail bytes stay:
_SEPARATE = bytes(b if b >= 128 or chr(b).isalnum() or b == ord("_") else 32 for b in range(256))


def clean_text(value: str) -> str:
    """Plain text: markup stripped defensively, entities decoded, common mojibake repaired."""
    return _nfc(_decoded(value))


def clean_text_and_plain(value: str) -> tuple[str, bytes | None]:
    """clean_text(value), and its plain_utf8 when it is plain text. Plain text is NFC as it
    is (ASCII, the precomposed letters of PLAIN_LETTERS and the marks of PLAIN_MARKS, none of
    which combines with another character), so only other text is checked."""
    value = _decoded(value)
    plain = plain_utf8(value)
    return (value, plain) if plain is not None else (_nfc(value), None)


def _decoded(value: str) -> str:
    """Markup stripped, entities decoded, common mojibake repaired."""
    if not value:
        return ""
    if "<" in value:
        value = _MARKUP.sub(" ", _SCRIPT.sub(" ", value))
    if "&" in value:
        value = html.unescape(value)
    if "Ã" in value or "Â" in value:
        value = _MOJIBAKE.sub(_repair, value)
    return value


def _nfc(value: str) -> str:
    return value if unicodedata.is_normalized("NFC", value) else unicodedata.normalize("NFC", value)


def _repair(match: re.Match) -> str:
    try:
        return match.group().encode("cp1252").decode("utf-8")
    except UnicodeError:
        return match.group()


def model_text(title: str, text: str) -> str:
    """What the model reads: the title three times, then the first 20,000 characters of text
    (TextFeatures casefolds)."""
    body = clean_text((text or "")[: 2 * MAX_MODEL_CHARS])[:MAX_MODEL_CHARS]
    title = clean_text((title or "")[:MAX_MODEL_TITLE_CHARS])
    return (title + " \n ") * TITLE_REPEAT + body


_PLAIN_WORDS = lowering_table(lambda c: c.isalnum() or c == "_")


def _tokens(docs: list[str | list[str]]) -> list[str]:
    """Casefolded word tokens of a batch, documents separated by the token "SEP" (upper case:
    never a token of casefolded text), as `_WORD.findall(" SEP ".join(map(str.casefold, docs)))`
    finds them. A document may come as its tokens already."""
    found: list[str] = []
    for number, doc in enumerate(docs):
        if number:
            found.append("SEP")
        if isinstance(doc, list):
            found += doc
            continue
        plain = plain_utf8(doc)
        if plain is None:
            found += word_tokens(doc.casefold())
        else:
            found += plain.translate(_PLAIN_WORDS).decode("utf-8").split()
    return found


def word_tokens(text: str) -> list[str]:
    """`_WORD.findall(text)`, faster: characters outside ASCII that are not word characters
    become spaces (a regex that skips ASCII quickly), bytes.translate does the same for ASCII,
    and str.split leaves exactly the runs of word characters."""
    if _NON_ASCII_NON_WORD.search(text):
        text = _NON_ASCII_NON_WORD.sub(" ", text)
    return text.encode("utf-8").translate(_SEPARATE).decode("utf-8").split()


def _positions(ids: np.ndarray, sep: int):
    """(document, id) of every word token, and (document, first, second) of every bigram."""
    is_sep = ids == sep
    doc = np.cumsum(is_sep) - is_sep
    words, pair = ~is_sep, ~is_sep[:-1] & ~is_sep[1:]
    return (doc[words], ids[words]), (doc[:-1][pair], ids[:-1][pair], ids[1:][pair])


def _counts(rows: np.ndarray, cols: np.ndarray, shape) -> sp.csr_matrix:
    """How often each (row, column) pair occurs, columns < 0 left out: the canonical CSR
    matrix (sorted columns, no duplicates) that scipy's COO -> CSR conversion gives, built in
    one step (a batch's constant cost is mostly scipy's per-matrix checks)."""
    keep = cols >= 0
    if not keep.all():
        rows, cols = rows[keep], cols[keep]
    codes, times = np.unique(rows * shape[1] + cols, return_counts=True)
    index = _index_dtype(shape, len(codes))
    indptr = np.searchsorted(codes, np.arange(shape[0] + 1) * shape[1]).astype(index)
    return sp.csr_matrix((times.astype(np.float32), (codes % max(shape[1], 1)).astype(index),
                          indptr), shape=shape)


def _index_dtype(shape, nnz: int):
    """The index type scipy gives a CSR matrix of this shape and size: int32 where it fits.
    Passed in that type, its indices are not scanned again to find out."""
    fits = max(*shape, nnz) <= np.iinfo(np.int32).max
    return np.int32 if fits else np.int64


def _grams(word: str):
    """The word's char_wb 3-, 4- and 5-grams (padded with a space each side)."""
    padded = f" {word} "
    return (padded[cut] for cut in _gram_cuts(len(padded)))


def _gram_matrix(words: list[str], index: dict) -> sp.csr_matrix:
    """Rows: words; columns: char_wb n-grams in `index` (unknown n-grams dropped). The n-grams
    of all words are cut in one list comprehension, by slices made in advance, and looked up
    in one pass in C."""
    padded = [f" {word} " for word in words]
    grams = [word[cut] for word in padded for cut in _gram_cuts(len(word))]
    cols = np.fromiter(map(index.get, grams, repeat(-1)), np.int64, len(grams))
    rows = np.repeat(np.arange(len(words)), _gram_counts(padded))
    return _counts(rows, cols, (len(words), len(index)))


def _cuts(length: int) -> tuple[slice, ...]:
    """The slices of a padded word of this length that are its 3-, 4- and 5-grams."""
    return tuple(slice(i, i + n) for n in (3, 4, 5) for i in range(length - n + 1))


_SHORT_CUTS = tuple(map(_cuts, range(64)))  # made once for the usual lengths, not per word


def _gram_cuts(length: int) -> tuple[slice, ...]:
    """`_cuts(length)`, made in advance for lengths below 64."""
    return _SHORT_CUTS[length] if length < len(_SHORT_CUTS) else _cuts(length)


def _gram_counts(padded: list[str]) -> np.ndarray:
    """How many 3-, 4- and 5-grams each padded word has, as `_cuts` cuts them."""
    lengths = np.fromiter(map(len, padded), np.int64, len(padded))
    return sum(np.maximum(lengths - n + 1, 0) for n in (3, 4, 5))


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """The batch's own `counts` turned into its TF-IDF rows in place (a new matrix would go
    through scipy's checks once more, a good part of a batch's fixed cost)."""
    weighted = (1.0 + np.log(counts.data.astype(np.float32, copy=False))) * idf.take(counts.indices)
    counts.data = _unit_rows(weighted, counts.indptr)
    return counts


def l2_normalized(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to unit L2 norm, bit for bit as scikit-learn's `normalize` does it."""
    return sp.csr_matrix((_unit_rows(matrix.data, matrix.indptr), matrix.indices, matrix.indptr),
                         shape=matrix.shape)


def _unit_rows(data: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """CSR `data` with every row scaled to unit L2 norm as scikit-learn's `normalize` scales it:
    the squares (in data's dtype) summed in float64 in row order — bincount adds its weights
    one by one, in order —, the division in float64. Empty rows stay empty."""
    lengths = np.diff(indptr)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    sums = np.bincount(rows, np.square(data).astype(np.float64), minlength=len(lengths))
    norms = np.sqrt(sums)
    norms[norms == 0.0] = 1.0
    scaled = data.astype(np.float64)
    scaled /= np.repeat(norms, lengths)
    return scaled.astype(data.dtype)


def _idf(counts: sp.csr_matrix, keep_min: int) -> tuple[np.ndarray, np.ndarray]:
    df = np.asarray(counts.getnnz(axis=0))
    keep = np.flatnonzero(df >= keep_min)
    idf = np.log((1 + counts.shape[0]) / (1 + df[keep])) + 1.0
    return keep, idf.astype(np.float32)


class _GrowingRows:
    """The arrays of a CSR matrix that gains rows at the end, with room to spare (doubled when
    full): learning a few words per batch costs those words, not a copy of every row learnt
    before. `append` returns the whole matrix, a view of the arrays."""

    def __init__(self, matrix: sp.csr_matrix):
        self.rows, self.nnz, self.columns = matrix.shape[0], matrix.nnz, matrix.shape[1]
        self.indptr = _room(matrix.indptr[:self.rows + 1], self.rows + 1)
        self.indices = _room(matrix.indices[:self.nnz], self.nnz)
        self.data = _room(matrix.data[:self.nnz], self.nnz)

    def append(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        end, last = self.nnz + rows.nnz, self.rows + rows.shape[0]
        self.indices, self.data = _room(self.indices, end), _room(self.data, end)
        self.indptr = _room(self.indptr, last + 1)
        self.indices[self.nnz:end], self.data[self.nnz:end] = rows.indices, rows.data
        self.indptr[self.rows + 1:last + 1] = rows.indptr[1:] + self.nnz
        self.rows, self.nnz = last, end
        return sp.csr_matrix((self.data[:end], self.indices[:end], self.indptr[:last + 1]),
                             shape=(last, self.columns))


def _room(values: np.ndarray, needed: int) -> np.ndarray:
    """`values`, or a copy of them with room for `needed` and as many again."""
    if needed < len(values):
        return values
    spare = np.empty(max(2 * needed, 16), values.dtype)
    spare[:len(values)] = values
    return spare


class TextFeatures:
    """Word (1-2-gram) and char_wb (3-5-gram) sublinear TF-IDF, each block L2-normalised.

    Python touches each distinct word of a batch once; everything per token is numpy/scipy.
    """

    def __init__(self, min_df: int = 2, char_weight: float = 1.0, max_words: int = 300_000):
        self.min_df, self.char_weight, self.max_words = min_df, char_weight, max_words
        self._lock = threading.Lock()  # the remembered words grow while transforming
        self._grown: _GrowingRows | None = None  # _w's arrays once words are learnt

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
        """Rows of the word -> n-gram matrix for every token, learning unseen words once; past
        `max_words` remembered words, the learnt ones are forgotten first."""
        ids = self._lookup(tokens)
        places = np.flatnonzero(ids < 0)
        if not len(places):
            return ids
        # the unseen tokens picked by their places (iterating the mask would make a numpy
        # bool of every token)
        unseen = list(map(tokens.__getitem__, places.tolist()))
        new = list(dict.fromkeys(unseen))
        fitted = len(self.words) + 1  # the training words and "SEP"
        if len(self._rows) + len(new) > self.max_words and len(self._rows) > fitted:
            self._rows, self._w = {**self.words, "SEP": len(self.words)}, self._w[:fitted]
            self._grown = None
            return self._token_ids(tokens)
        self._rows.update(zip(new, range(len(self._rows), len(self._rows) + len(new))))
        if self._grown is None:
            self._grown = _GrowingRows(self._w)
        self._w = self._grown.append(_gram_matrix(new, self.grams))
        ids[places] = self._lookup(unseen)
        return ids

    def _term_counts(self, unigram, bigram, n_docs: int) -> sp.csr_matrix:
        n = len(self.words)
        (doc, ids), (pdoc, first, second) = unigram, bigram
        n_uni = len(self.terms) - len(self._bi_codes)
        bigram_cols = np.full(len(first), -1, np.int64)
        if len(self._bi_codes):  # only bigrams of two training words can be terms: look up those
            known = np.flatnonzero((first < n) & (second < n))
            codes = first[known] * n + second[known]
            pos = np.minimum(np.searchsorted(self._bi_codes, codes), len(self._bi_codes) - 1)
            found = self._bi_codes[pos] == codes
            bigram_cols[known[found]] = pos[found] + n_uni
        cols = np.concatenate([self._uni_col[np.minimum(ids, n)], bigram_cols])
        return _counts(np.concatenate([doc, pdoc]), cols, (n_docs, len(self.terms)))

    def blocks(self, docs: list[str | list[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The word block and the char block (already weighted) of a batch; a document may
        come as its tokens (see `_tokens`)."""
        if not docs:
            return (sp.csr_matrix((0, len(self.terms)), dtype=np.float32),
                    sp.csr_matrix((0, len(self.grams)), dtype=np.float32))
        tokens = _tokens(docs)
        with self._lock:
            ids, gram_rows = self._token_ids(tokens), self._w
        unigram, bigram = _positions(ids, len(self.words))
        words = _tfidf(self._term_counts(unigram, bigram, len(docs)), self.term_idf)
        per_word = _counts(*unigram, (len(docs), gram_rows.shape[0]))
        chars = _tfidf(per_word @ gram_rows, self.gram_idf)
        return words, chars if self.char_weight == 1.0 else chars * self.char_weight

    def transform(self, docs: list[str]) -> sp.csr_matrix:
        """Rows of [word block | char block]; the first len(self.terms) columns are words."""
        return sp.hstack(self.blocks(docs), format="csr")

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_rows"], state["_w"] = None, self._w[: len(self.words) + 1]
        del state["_lock"], state["_grown"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._rows = {**self.words, "SEP": len(self.words)}
        self._lock, self._grown = threading.Lock(), None
