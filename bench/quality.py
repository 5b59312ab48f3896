"""Tagging quality on the shared expert-labelled items: rules alone, model alone, combination.

Usage (from the repository root):

    .venv/bin/python bench/quality.py [--data ../shared/data/labelled.jsonl]
        [--taxonomy taxonomy.yaml] [--folds 5] [--no-bundled] [--bundled-only]

Cross-validated grouped by source: the shared items are split by source into folds; each fold is
tested by a tagger trained on the bundled examples (scanner/classify/data, always in training)
plus the other shared folds, with thresholds and blend tuned inside that training set only.
Prints micro- and macro-F1 of all three, relevance accuracy, and the per-tag table of the
combination. `--bundled-only` cross-validates the bundled examples alone (grouped by source).
Skips with a message (exit 0) when the shared data is not there.

Last run (micro-F1 / macro-F1, held out):
  shared set, 5 folds:      rules 0.828 / 0.829   model 0.814 / 0.735   combined 0.846 / 0.849
  bundled only, 5 folds:    rules 0.742 / 0.729   model 0.726 / 0.735   combined 0.808 / 0.808
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from scanner.classify.evaluate import cross_validate
from scanner.classify.labels import bundled_examples, read_labelled_jsonl, shared_labels_path
from scanner.classify.rules import RuleMatcher
from scanner.classify.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    taxonomy = load_taxonomy(args.taxonomy)
    known = [tag.id for tag in taxonomy.tags]
    bundled = [] if args.no_bundled else bundled_examples(known)
    if args.bundled_only:
        tested, fixed, name = bundled, [], "bundled examples"
    elif args.data is None or not args.data.is_file():
        print(f"skipped: no shared labelled data at {args.data or '../shared/data'}")
        return 0
    else:
        tested = read_labelled_jsonl(args.data, origin="shared", known_tags=known)
        fixed, name = bundled, f"shared set ({args.data})"
    started = time.perf_counter()
    result = cross_validate(tested, taxonomy, RuleMatcher(taxonomy), datetime.now(timezone.utc),
                            n_splits=args.folds, fixed_train=fixed)
    _report(result, name, len(tested), len(fixed), time.perf_counter() - started)
    return 0


def _report(result, name: str, tested: int, fixed: int, seconds: float) -> None:
    print(f"{name}: {tested} items tested in {len(result.folds)} folds grouped by source; "
          f"{fixed} bundled examples always in training; {seconds:.1f} s")
    print()
    print(result.summary())
    for method in ("combined", "model", "rules"):
        print()
        print(getattr(result, method).table(f"{method}, held out:"))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=shared_labels_path())
    parser.add_argument("--taxonomy", type=Path, default=ROOT / "taxonomy.yaml")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-bundled", action="store_true",
                        help="train on the shared folds only")
    parser.add_argument("--bundled-only", action="store_true",
                        help="cross-validate the bundled examples instead of the shared set")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
