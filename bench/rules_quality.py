"""Quality and speed of the keyword rules alone (no model) on the labelled Swedish items.

Usage (from the repository root):

    .venv/bin/python bench/rules_quality.py [--data ../shared/data/labelled.jsonl]
        [--taxonomy taxonomy.yaml] [--threshold 0.5] [--sweep] [--errors] [--cv] [--speed N]

Prints micro- and macro-F1 over the taxonomy's top-level tags, precision/recall/F1 per tag,
relevant/not-relevant accuracy, the figures per source (sources are the unit of grouping: the
rules are not trained, but a tag that only scores on one source's wording is overfitted), and
tagging speed in items/s on 1,000-character texts. Predictions roll children up to their
top-level tag. Skips with a message (exit 0) when the labelled data is not there.

`--cv` checks the two numbers that were chosen on these items (rules.RATE and
rules.TITLE_WEIGHT, which set where the 0.5 threshold falls) by grouped cross-validation: five
folds of whole sources; each fold picks the pair that does best on the other four and is scored
on its own items. The keywords themselves were written from the taxonomy spec and domain
knowledge, not fitted, so they are the same in every fold.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from scanner.classify import rules
from scanner.classify.rules import RuleMatcher
from scanner.classify.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "labelled.jsonl"


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if not args.data.is_file():
        print(f"skipped: no labelled data at {args.data} (it lives in ../shared/data)")
        return 0
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    taxonomy = load_taxonomy(args.taxonomy)
    matcher = RuleMatcher(taxonomy)
    tag_ids = [tag for tag in taxonomy.top_level]
    thresholds = [0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7] if args.sweep else [args.threshold]
    for threshold in thresholds:
        predictions = [_predict(matcher, taxonomy, row, threshold) for row in rows]
        _report(rows, predictions, tag_ids, threshold, detailed=not args.sweep)
        if args.errors:
            _errors(rows, predictions, matcher)
    if args.cv:
        _grouped_cv(rows, taxonomy, tag_ids, args.threshold)
    _speed(matcher, rows, args.speed)
    return 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--taxonomy", type=Path, default=ROOT / "taxonomy.yaml")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--sweep", action="store_true", help="summary at several thresholds")
    parser.add_argument("--errors", action="store_true", help="list wrong tags with their terms")
    parser.add_argument("--cv", action="store_true", help="grouped CV of RATE and TITLE_WEIGHT")
    parser.add_argument("--speed", type=int, default=5000, help="items to time (0 = skip)")
    return parser.parse_args(argv)


def _predict(matcher, taxonomy, row: dict, threshold: float) -> tuple[bool, set[str]]:
    relevant = matcher.is_relevant(row["title"], row["text"])
    hits = matcher.tags(row["title"], row["text"], threshold)
    return relevant, {taxonomy.root_of(tag) for tag in hits}


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _counts(rows, predictions, tag_ids) -> dict[str, Counter]:
    counts = {tag: Counter() for tag in tag_ids}
    for row, (_, predicted) in zip(rows, predictions):
        gold = set(row["tags"])
        for tag in tag_ids:
            key = ("tp" if tag in predicted else "fn") if tag in gold else \
                ("fp" if tag in predicted else "tn")
            counts[tag][key] += 1
    return counts


def _scores(rows, predictions, tag_ids) -> tuple[float, float]:
    counts = _counts(rows, predictions, tag_ids)
    total = sum(counts.values(), Counter())
    micro = _f1(total["tp"], total["fp"], total["fn"])[2]
    supported = [tag for tag in tag_ids if counts[tag]["tp"] + counts[tag]["fn"]]
    macro = sum(_f1(counts[t]["tp"], counts[t]["fp"], counts[t]["fn"])[2] for t in supported)
    return micro, macro / max(1, len(supported))


def _report(rows, predictions, tag_ids, threshold: float, detailed: bool) -> None:
    micro, macro = _scores(rows, predictions, tag_ids)
    right = sum(pred[0] == bool(row["relevant"]) for row, pred in zip(rows, predictions))
    print(f"threshold {threshold:.2f}: micro-F1 {micro:.3f}  macro-F1 {macro:.3f}  "
          f"relevance accuracy {right}/{len(rows)} = {right / len(rows):.3f}")
    if not detailed:
        return
    counts = _counts(rows, predictions, tag_ids)
    print(f"\n{'tag':24} {'support':>7} {'P':>6} {'R':>6} {'F1':>6}")
    for tag in tag_ids:
        c = counts[tag]
        precision, recall, f1 = _f1(c["tp"], c["fp"], c["fn"])
        print(f"{tag:24} {c['tp'] + c['fn']:7d} {precision:6.2f} {recall:6.2f} {f1:6.2f}")
    _by_source(rows, predictions, tag_ids)


def _by_source(rows, predictions, tag_ids) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[row["source"]].append(index)
    print("\nper source (micro-F1 of its items; sources with 3+ items, then the rest pooled):")
    rest: list[int] = []
    for source, indexes in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if len(indexes) < 3:
            rest += indexes
            continue
        micro, _ = _scores([rows[i] for i in indexes], [predictions[i] for i in indexes], tag_ids)
        print(f"  {len(indexes):3d}  {micro:.3f}  {source}")
    micro, _ = _scores([rows[i] for i in rest], [predictions[i] for i in rest], tag_ids)
    print(f"  {len(rest):3d}  {micro:.3f}  ({len(groups) - sum(len(v) >= 3 for v in groups.values())}"
          " sources with 1-2 items)")


def _grouped_cv(rows, taxonomy, tag_ids, threshold: float, folds: int = 5) -> None:
    grid = list(itertools.product([0.25, 0.3, 0.35, 0.4, 0.5], [1.5, 2.0, 2.5, 3.0]))
    saved = rules.RATE, rules.TITLE_WEIGHT
    by_pair = {}
    for rules.RATE, rules.TITLE_WEIGHT in grid:
        matcher = RuleMatcher(taxonomy)
        by_pair[rules.RATE, rules.TITLE_WEIGHT] = [
            _predict(matcher, taxonomy, row, threshold) for row in rows]
    rules.RATE, rules.TITLE_WEIGHT = saved
    fold_of = _source_folds(rows, folds)
    pooled: list = [None] * len(rows)
    chosen = []
    for fold in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != fold]
        best = max(grid, key=lambda pair: _scores([rows[i] for i in train],
                                                   [by_pair[pair][i] for i in train], tag_ids))
        chosen.append(best)
        for i in range(len(rows)):
            if fold_of[i] == fold:
                pooled[i] = by_pair[best][i]
    micro, macro = _scores(rows, pooled, tag_ids)
    print(f"\ngrouped CV ({folds} folds of whole sources): micro-F1 {micro:.3f}  "
          f"macro-F1 {macro:.3f}; (RATE, TITLE_WEIGHT) chosen per fold: {chosen}")


def _source_folds(rows, folds: int) -> list[int]:
    """Whole sources to folds, largest first, each to the fold with the fewest items so far."""
    sizes = Counter(row["source"] for row in rows)
    load, fold_of_source = [0] * folds, {}
    for source, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        fold = load.index(min(load))
        fold_of_source[source] = fold
        load[fold] += size
    return [fold_of_source[row["source"]] for row in rows]


def _errors(rows, predictions, matcher) -> None:
    print("\nwrong items (+ false tag, - missed tag):")
    for row, (_, predicted) in zip(rows, predictions):
        gold = set(row["tags"])
        if predicted == gold:
            continue
        hits = matcher.match(row["title"], row["text"])
        wrong = [f"+{t}{list(hits[t].terms[:4]) if t in hits else ''}" for t in predicted - gold]
        wrong += [f"-{t}({hits[t].score:.2f} {list(hits[t].terms[:3])})" if t in hits
                  else f"-{t}" for t in gold - predicted]
        print(f"  {row['id']} {row['title'][:50]!r}: {' '.join(sorted(wrong))}")


def _speed(matcher, rows, count: int) -> None:
    """match + relevance per item, CPU time, best of three rounds over `count` distinct items.

    Every item differs (a number and a shifted start), so each brings new words, as a feed does.
    The reference line times `Counter(text.casefold().split())` on the same texts: the least any
    tokenising tagger in Python does; compare the two when the machine is busy.
    """
    if count <= 0:
        return
    texts = [(row["title"], (row["text"] * 3)[:1000]) for row in rows]
    items = [(title, text[i % 7:] + f" {i}") for i, (title, text) in
             zip(range(count), _cycle(texts, count))]
    rounds = []
    for round_ in range(3):
        batch = [(title, f"{text} r{round_}") for title, text in items]
        start = time.process_time()
        for title, text in batch:
            matcher.match(title, text)
            matcher.relevance(title, text)
        rounds.append(time.process_time() - start)
    start = time.process_time()
    for _, text in items:
        Counter(text.casefold().split())
    reference = (time.process_time() - start) / count * 1e6
    print(f"\nspeed: {count / min(rounds):,.0f} items/s (match + relevance, 1,000-character "
          f"texts, {count} distinct items; {min(rounds) / count * 1e6:.0f} µs/item; "
          f"reference Counter(casefold().split()): {reference:.0f} µs/item)")


def _cycle(values: list, count: int):
    for index in range(count):
        yield values[index % len(values)]


if __name__ == "__main__":
    sys.exit(main())
