"""Tagging speed: rules + model (the Tagger) against rules alone and a plain scikit-learn peer.

Usage (from the repository root):

    .venv/bin/python bench/tagging.py [--items 10000] [--chars 1000] [--batch 1000] [--workers 2]

Generates N items of about 1,000 characters from the words of the bundled examples (seeded, so
every run tags the same text), trains the model on the bundled examples, then tags all items in
batches with: the Tagger (rules + model, the production path, `why` strings included), the rules
alone, the TagModel alone, and the peer — a plain scikit-learn pipeline (TfidfVectorizer word
1-2-grams + char_wb 3-5-grams, one LogisticRegression per tag) predicting the same items.
The Tagger is also run in --workers processes (default 2: the scan cycle tags in its parse
workers), each with a tagger built from the model's bytes. Every engine starts cold (fresh rule
caches). Rates are per wall second and per CPU second of this process (steadier when other work
shares the machine). Target: the Tagger at >= 2,000 items/s on this 2-core machine.

Last run (2 cores, 10,000 items, batches of 1,000): Tagger 1,707 items/s in one process and
2,858 in 2 processes; rules alone 3,363; TagModel alone 3,300; scikit-learn peer 426.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline, make_union

from scanner.classify.combine import Tagger, fit_tagger
from scanner.classify.labels import bundled_examples
from scanner.classify.model import TagModel
from scanner.classify.rules import RuleMatcher
from scanner.classify.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent


def generate(examples, count: int, chars: int, seed: int = 1) -> list[tuple[str, str, tuple]]:
    """Items made of the bundled examples' words, shuffled: realistic vocabulary, no real text."""
    rng = random.Random(seed)
    words = [w for e in examples for w in f"{e.title} {e.text}".split()]
    items = []
    for _ in range(count):
        text, size = [], 0
        while size < chars:
            text.append(rng.choice(words))
            size += len(text[-1]) + 1
        items.append((" ".join(rng.choices(words, k=8)), " ".join(text)[:chars], ()))
    return items


def timed(label: str, run, items, batch: int) -> float:
    """Items per second of wall time, and per second of this process's CPU time (the machine
    may be shared; CPU time is what the work itself costs)."""
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(items), batch):
        run(items[start:start + batch])
    wall = len(items) / (time.perf_counter() - started)
    busy = len(items) / max(time.process_time() - cpu, 1e-9)
    print(f"{label:<44}{wall:>10,.0f}{busy:>12,.0f}")
    return wall


_WORKER: Tagger | None = None


def _start_worker(taxonomy_path: str, model: bytes) -> None:
    global _WORKER
    taxonomy = load_taxonomy(taxonomy_path)
    _WORKER = Tagger(taxonomy, RuleMatcher(taxonomy), TagModel.from_bytes(model))


def _tag_in_worker(batch):
    return _WORKER.tag_many(batch)


def in_processes(items, batch: int, workers: int, model: bytes) -> None:
    """Tag every batch in `workers` processes, as the scan cycle's parse workers do."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(str(ROOT / "taxonomy.yaml"), model)) as pool:
        list(pool.map(_tag_in_worker, [items[:1]] * workers))  # start every worker first
        started = time.perf_counter()
        done = sum(map(len, pool.map(_tag_in_worker, [items[s:s + batch] for s in
                                                     range(0, len(items), batch)])))
        rate = done / (time.perf_counter() - started)
    print(f"{f'scanner Tagger in {workers} processes':<44}{rate:>10,.0f}{'-':>12}")


def sklearn_peer(examples, tag_ids):
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2))
    classifier = OneVsRestClassifier(LogisticRegression(class_weight="balanced",
                                                        solver="liblinear", dual=True))
    y = np.array([[t in e.tags for t in tag_ids] for e in examples])
    keep = y.any(axis=0)
    peer = make_pipeline(features, classifier)
    peer.fit([f"{e.title} {e.title} {e.text}" for e in examples], y[:, keep])
    return peer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    taxonomy = load_taxonomy(ROOT / "taxonomy.yaml")
    examples = bundled_examples()
    started = time.perf_counter()
    tagger, report = fit_tagger(taxonomy, RuleMatcher(taxonomy), examples,
                                datetime.now(timezone.utc))
    print(f"trained on {len(examples)} bundled examples in {time.perf_counter() - started:.1f} s"
          f" ({report.classifier}); tagging {args.items:,} items of {args.chars:,} characters"
          f" in batches of {args.batch:,}")
    items = generate(examples, args.items, args.chars)
    print(f"{'engine':<44}{'items/s':>10}{'items/cpu-s':>12}")
    pairs = [(title, text) for title, text, _ in items]
    fresh = Tagger(taxonomy, RuleMatcher(taxonomy), tagger.model)
    timed("scanner Tagger (rules + model, with why)", fresh.tag_many, items, args.batch)
    rules = Tagger(taxonomy, RuleMatcher(taxonomy), None)
    in_processes(items, args.batch, args.workers, tagger.model.to_bytes())
    timed("scanner rules alone", rules.tag_many, items, args.batch)
    timed("scanner TagModel alone (predict)", tagger.model.predict, pairs, args.batch)
    peer = sklearn_peer(examples, tagger.tag_ids)
    docs = [f"{title} {title} {text}" for title, text in pairs]
    timed("peer: sklearn TfidfVectorizer + LogReg", peer.predict_proba, docs, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
