"""Near-identical titles in bulk: every pair of word sets with Jaccard ≥ 0.6, found with numpy.

Exact, not approximate. With every title's words in one order (fewest titles first), two titles
sharing enough words to reach 0.6 share the first two of their shared words, and these lie among
the first few words of each (the prefix filter): of the longer title (x, n words) its first
n − ⌈0.6·n⌉ + 2, of the shorter or equal one (y, m words) its first m − ⌈0.75·m⌉ + 2 (they share
at least ⌈0.6·n⌉ and ⌈0.75·m⌉ ≥ 3 words). So candidates are the titles that have a pair of
prefix words in common — a pair of rare words, where one common word would match thousands —
and pass the length filter (5·m ≥ 3·n); they are then counted exactly: Jaccard ≥ 0.6 is
8·shared ≥ 3·(n + m) in integers, the same as the float comparison for titles of this size.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np

CHUNK_CELLS = 4_000_000  # word comparisons per verification step (bounds the memory)


def similar_pairs(tokens: Mapping[int, frozenset[str]]) -> list[tuple[int, int]]:
    """(earlier, later) item id pairs whose word sets reach Jaccard 0.6 (earlier: fewer words,
    then lower id)."""
    if len(tokens) < 2:
        return []
    ids, ranked = _ranked_titles(tokens)
    sizes = np.array([len(words) for words in ranked], dtype=np.int64)
    later, earlier = _candidates(ranked, sizes)
    keep = _verified(ranked, sizes, later, earlier)
    return [(ids[e], ids[x]) for x, e in zip(later[keep].tolist(), earlier[keep].tolist())]


def _ranked_titles(tokens: Mapping[int, frozenset[str]]) -> tuple[list[int], list[list[int]]]:
    """Item ids shortest title first (then id), and each title's word numbers, rarest first."""
    counts: dict[str, int] = {}
    for words in tokens.values():
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    number = {word: n for n, word in enumerate(sorted(counts, key=lambda w: (counts[w], w)))}
    ids = sorted(tokens, key=lambda i: (len(tokens[i]), i))
    return ids, [sorted(number[word] for word in tokens[i]) for i in ids]


def _prefix_pairs(ranked: list[list[int]], length, words: int) -> tuple[np.ndarray, np.ndarray]:
    """(pair key, title) for every two of each title's first length(size) words; a pair's key
    is first · words + second (word numbers, the first the rarer)."""
    keys: list[int] = []
    titles: list[int] = []
    for title, numbers in enumerate(ranked):
        head = numbers[: length(len(numbers))]
        pairs = [first * words + second for first, second in combinations(head, 2)]
        keys += pairs
        titles += [title] * len(pairs)
    return np.array(keys, dtype=np.int64), np.array(titles, dtype=np.int64)


def _candidates(ranked: list[list[int]], sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (later, earlier) title pairs that share two prefix words and pass the length
    filter."""
    words = 1 + max(max(numbers) for numbers in ranked)
    p_key, p_title = _prefix_pairs(ranked, lambda n: n - (3 * n + 4) // 5 + 2, words)
    i_key, i_title = _prefix_pairs(ranked, lambda n: n - (3 * n + 3) // 4 + 2, words)
    titles = len(ranked)
    index = np.sort(i_key * titles + i_title)  # index entries by pair, then title
    shortest = np.searchsorted(sizes, (3 * sizes[p_title] + 4) // 5, side="left")
    low = np.searchsorted(index, p_key * titles + shortest, side="left")  # 5·m ≥ 3·n
    count = np.searchsorted(index, p_key * titles + p_title, side="left") - low  # earlier
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    offsets = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    earlier = index[np.repeat(low, count) + offsets] % titles
    pairs = np.unique(np.repeat(p_title, count) * titles + earlier)
    return pairs // titles, pairs % titles


def _verified(ranked: list[list[int]], sizes: np.ndarray, later: np.ndarray,
              earlier: np.ndarray) -> np.ndarray:
    """Which candidate pairs share enough words: 8·shared ≥ 3·(n + m)."""
    keep = np.zeros(len(later), dtype=bool)
    if len(later) == 0:
        return keep
    width = int(sizes.max())
    table = np.full((len(ranked), width), -1, dtype=np.int64)
    for title, numbers in enumerate(ranked):
        table[title, : len(numbers)] = numbers
    for n in np.unique(sizes[later]).tolist():
        which = np.flatnonzero(sizes[later] == n)
        step = max(1, CHUNK_CELLS // (n * n))
        for first in range(0, len(which), step):
            part = which[first: first + step]
            a, b = table[later[part], :n], table[earlier[part], :n]
            shared = (a[:, :, None] == b[:, None, :]).sum(axis=(1, 2))
            keep[part] = 8 * shared >= 3 * (n + sizes[earlier[part]])
    return keep
