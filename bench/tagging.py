"""Tagging speed: rules + model (the Tagger) against rules alone and a plain scikit-learn peer.

Usage (from the repository root):

    .venv/bin/python bench/tagging.py [--items 10000] [--chars 1000] [--batch 1000] [--workers 2]

Generates N items of about 1,000 characters from the words of the bundled examples (seeded, so
every run tags the same text), trains the model on the bundled examples, then tags all items in
batches with: the Tagger as a scan builds it (`TaggerSpec.build` from the model's bytes: rules +
model, `why` strings and language detection included), the same without language detection,
the rules alone, the TagModel alone, and the peer — a plain scikit-learn pipeline
(TfidfVectorizer word 1-2-grams + char_wb 3-5-grams, one LogisticRegression per tag) predicting
the same items. The Tagger is also run in --workers processes (default 2: the scan cycle tags
in its parse workers); they report their memory and whether scikit-learn was imported (it must
not be: only training needs it). Every engine starts cold (fresh rule caches). Rates are per
wall second and per CPU second of this process (steadier when other work shares the machine).
Target: the Tagger at >= 2,000 items/s in one process on this 2-core machine.

Last run: see bench/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from scanner.classify.combine import Tagger, fit_tagger
from scanner.classify.labels import bundled_examples
from scanner.classify.rules import RuleMatcher
from scanner.classify.taxonomy import load_taxonomy
from scanner.classify.text import stem
from scanner.tagging import TaggerSpec

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
    may be shared; CPU time is what the work itself costs). The stems remembered by an earlier
    engine are forgotten first: every engine starts cold."""
    stem.cache_clear()
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(items), batch):
        run(items[start:start + batch])
    wall = len(items) / (time.perf_counter() - started)
    busy = len(items) / max(time.process_time() - cpu, 1e-9)
    print(f"{label:<44}{wall:>10,.0f}{busy:>12,.0f}")
    return wall


_WORKER: Tagger | None = None


def _start_worker(spec: TaggerSpec) -> None:
    global _WORKER
    _WORKER = spec.build()


def _tag_in_worker(batch):
    return _WORKER.tag_many(batch)


def _worker_memory(_) -> tuple[int, float, bool]:
    """(pid, resident MB, whether scikit-learn is imported) of the worker running this."""
    time.sleep(0.2)  # so that each worker takes one
    status = Path("/proc/self/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines()
                  if line.startswith("VmRSS:"))
    return os.getpid(), rss_kb / 1024, "sklearn" in sys.modules


def in_processes(items, batch: int, workers: int, spec: TaggerSpec) -> None:
    """Tag every batch in `workers` processes, as the scan cycle's parse workers do."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(spec,)) as pool:
        list(pool.map(_tag_in_worker, [items[:1]] * workers))  # start every worker first
        started = time.perf_counter()
        done = sum(map(len, pool.map(_tag_in_worker, [items[s:s + batch] for s in
                                                     range(0, len(items), batch)])))
        rate = done / (time.perf_counter() - started)
        memory = dict((pid, (mb, sklearn)) for pid, mb, sklearn in
                      pool.map(_worker_memory, range(workers)))
    print(f"{f'scanner Tagger in {workers} processes':<44}{rate:>10,.0f}{'-':>12}")
    for pid, (mb, sklearn) in sorted(memory.items()):
        print(f"  worker {pid}: {mb:.0f} MB resident after tagging, scikit-learn "
              f"{'imported' if sklearn else 'not imported'}")


def sklearn_peer(examples, tag_ids):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline, make_union

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
    spec = TaggerSpec(str(ROOT / "taxonomy.yaml"), tagger.model.to_bytes(), "bench")
    spec.build().tag_many(items[:args.batch])  # the process warms up once, not the first engine
    timed("scanner Tagger (as a scan builds it)", spec.build().tag_many, items, args.batch)
    no_language = Tagger(taxonomy, RuleMatcher(taxonomy), tagger.model)
    timed("  the same without language detection", no_language.tag_many, items, args.batch)
    rules = Tagger(taxonomy, RuleMatcher(taxonomy), None)
    in_processes(items, args.batch, args.workers, spec)
    timed("scanner rules alone", rules.tag_many, items, args.batch)
    timed("scanner TagModel alone (predict)", tagger.model.predict, pairs, args.batch)
    peer = sklearn_peer(examples, tagger.tag_ids)
    docs = [f"{title} {title} {text}" for title, text in pairs]
    timed("peer: sklearn TfidfVectorizer + LogReg", peer.predict_proba, docs, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
