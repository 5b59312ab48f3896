"""Story clustering: speed of story_signature, and which pairs it calls the same story.

    python bench/stories.py                 # speed, labelled data (if present), demo feeds
    python bench/stories.py --show 0.15     # also list every labelled pair with Jaccard >= 0.15

- Speed: signatures per second for 1,000-character texts in one process: synthetic Swedish-like
  news (a first pass with empty per-word caches, then a second), and the labelled texts.
- LSH: the share of random pairs with a given Jaccard that share a band, beside the theory.
- Labelled data (/work/shared/data/labelled.jsonl, skipped if absent): every pair is compared;
  pairs same_story accepts are printed with their similarities to be judged by eye, beside the
  pairs LSH makes candidates and how many of the accepted pairs LSH alone would find.
- Demo feeds: every item of scanner/demo_data/feeds, parsed with parse_feed; the known
  near-duplicate pair must be found, and nothing else but pairs that share a canonical URL.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from datetime import datetime, timezone
from pathlib import Path

from scanner.dedup import (
    STORY_BANDS,
    STORY_ROWS,
    StorySignature,
    canonical_url,
    same_story,
    signature_from_tokens,
    story_signature,
    story_similarity,
)
from scanner.demo import load_feed_files
from scanner.parse import parse_feed

LABELLED = Path("/work/shared/data/labelled.jsonl")
DEMO_PAIR = (
    "Biblioteksstatistiken 2025: fler besök men färre fysiska lån",
    "Biblioteksstatistiken för 2025: besöken ökar, fysiska lån minskar",
)
SYLLABLES = ("bib lio tek läs främ jan de kul tur råd stat ist ik kom mun reg ion barn ung dom "
             "skol plan bok start dig ital del akt ig het för fatt are sam ver kan tal tid ning "
             "mö te nät verk ut veck ling stöd bi drag lån be sök öp pet").split()
SUFFIXES = ("", "", "", "en", "ens", "erna", "ar", "et", "er", "s", "na", "ade", "ande")
STOPWORDS = ("och att som för med den det till på är av de har ett en i om inte kan ska "
             "men vid efter under också mellan").split()


def bench_speed(count: int) -> None:
    """Synthetic news: a Zipf-distributed vocabulary of 50,000 pseudo-words (most words common,
    a long tail of rare ones, as in real text) with 35 % stopwords. The first pass starts with
    empty caches in this fresh process; the second sees the same texts again."""
    rng = random.Random(7)
    vocabulary = [_pseudo_word(rng) for _ in range(50_000)]
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(vocabulary) + 1)))
    texts = [_pseudo_text(rng, vocabulary, weights) for _ in range(count)]
    for label in ("first pass, cold caches", "second pass, warm caches"):
        _report_speed(label, texts)


def _report_speed(label: str, texts: list[tuple[str, str]], rounds: int = 1) -> None:
    """Rate by CPU time of this process (less moved by other work on a shared machine) and wall."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for title, text in texts:
            story_signature(title, text)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    count = rounds * len(texts)
    print(f"speed ({label}): {count} signatures: {count / cpu:,.0f}/s by CPU time "
          f"({cpu:.2f} s), {count / wall:,.0f}/s by wall time")


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choices(SYLLABLES, k=rng.randint(2, 5))) + rng.choice(SUFFIXES)


def _pseudo_text(rng: random.Random, vocabulary: list[str], weights: list[float]) -> tuple:
    """A title of 6 words and 1,000 characters of text."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < 1000:
        if rng.random() < 0.35:
            words.append(rng.choice(STOPWORDS))
        else:
            words += rng.choices(vocabulary, cum_weights=weights)
    title = " ".join(rng.choices(vocabulary, cum_weights=weights, k=6)).capitalize()
    return title, " ".join(words)[:1000]


def bench_labelled_speed(rows: list[dict]) -> None:
    texts = [(row["title"], row["text"][:1000]) for row in rows]
    _report_speed("labelled texts cut to 1,000 characters, warm", texts, rounds=100)


def lsh_curve(trials: int = 400) -> None:
    """Share of random token-set pairs with a given Jaccard that share a band, beside the
    theory 1 - (1 - J**rows)**bands; the sets have 45 tokens, like a news item's signature."""
    rng = random.Random(11)
    print("LSH: share of pairs that are candidates, measured (theory), 45-token sets, no title")
    for jaccard in (0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8):
        shared = round(90 * jaccard / (1 + jaccard))  # |A & B| for |A| = |B| = 45
        hits = sum(_random_pair_shares_band(rng, shared) for _ in range(trials))
        theory = 1 - (1 - jaccard**STORY_ROWS) ** STORY_BANDS
        print(f"  J={jaccard:.2f}: {hits / trials:.2f} ({theory:.2f})")


def _random_pair_shares_band(rng: random.Random, shared: int) -> bool:
    words = [f"w{rng.randrange(10**9)}" for _ in range(90 - shared)]
    a = " | " + " ".join(words[:45])
    b = " | " + " ".join(words[:shared] + words[45:])
    return _shares_band(signature_from_tokens(a), signature_from_tokens(b))


def evaluate_labelled(show: float | None) -> None:
    if not LABELLED.exists():
        print(f"labelled data: {LABELLED} not found, skipped")
        return
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line]
    bench_labelled_speed(rows)
    sigs = {r["id"]: story_signature(r["title"], r["text"]) for r in rows}
    titles = {r["id"]: f"{r['source'][:28]}: {r['title'][:60]}" for r in rows}
    pairs = list(itertools.combinations(sigs, 2))
    accepted = [(a, b) for a, b in pairs if same_story(sigs[a], sigs[b])]
    candidates = [(a, b) for a, b in pairs if _shares_band(sigs[a], sigs[b])]
    found = [p for p in accepted if p in set(candidates)]
    print(f"\nlabelled data: {len(rows)} items, {len(pairs)} pairs; LSH candidates "
          f"{len(candidates)} ({len(candidates) / len(pairs):.2%}); same_story accepts "
          f"{len(accepted)} (all pairs), {len(found)} of them among the candidates")
    for a, b in accepted:
        _print_pair(sigs, titles, a, b, "SAME")
    if show is not None:
        print(f"\nall labelled pairs with token Jaccard >= {show} or title Jaccard >= 0.4:")
        for a, b in sorted(pairs, key=lambda p: -story_similarity(sigs[p[0]], sigs[p[1]])):
            if _interesting(sigs[a], sigs[b], show) and (a, b) not in accepted:
                _print_pair(sigs, titles, a, b, "diff")


def _interesting(a: StorySignature, b: StorySignature, show: float) -> bool:
    return story_similarity(a, b) >= show or _title_jaccard(a, b) >= 0.4


def _print_pair(sigs: dict, titles: dict, a: str, b: str, verdict: str) -> None:
    sa, sb = sigs[a], sigs[b]
    band = "band" if _shares_band(sa, sb) else "----"
    similarity, title = story_similarity(sa, sb), _title_jaccard(sa, sb)
    print(f"  {verdict} {band} J={similarity:.2f} title J={title:.2f}"
          f"  {a} {titles[a]!r}\n{'':33}{b} {titles[b]!r}")


def _title_jaccard(a: StorySignature, b: StorySignature) -> float:
    union = a.title_tokens | b.title_tokens
    return len(a.title_tokens & b.title_tokens) / len(union) if union else 0.0


def _shares_band(a: StorySignature, b: StorySignature) -> bool:
    return not set(a.bands).isdisjoint(b.bands)


def evaluate_demo() -> bool:
    """The near-duplicate pair must be accepted and share a band; any other accepted pair is
    false unless its items share a canonical URL (then it is the same story anyway)."""
    items = _demo_items()
    sigs = [story_signature(title, text) for _, title, text, _ in items]
    pairs = itertools.combinations(range(len(items)), 2)
    accepted = [(i, j) for i, j in pairs if same_story(sigs[i], sigs[j])]
    candidates = sum(_shares_band(a, b) for a, b in itertools.combinations(sigs, 2))
    print(f"\ndemo feeds: {len(items)} items, LSH candidate pairs {candidates}, "
          f"same_story pairs {len(accepted)}")
    found, false = False, 0
    for i, j in accepted:
        band, same_url = _shares_band(sigs[i], sigs[j]), items[i][3] == items[j][3]
        is_pair = {items[i][1], items[j][1]} == set(DEMO_PAIR)
        found |= is_pair and band
        false += not (is_pair or same_url)
        print(f"  J={story_similarity(sigs[i], sigs[j]):.2f} title J="
              f"{_title_jaccard(sigs[i], sigs[j]):.2f} band={band} same URL={same_url}"
              f"  {items[i][0]}: {items[i][1]!r} / {items[j][0]}: {items[j][1]!r}")
    print(f"  near-duplicate pair found by LSH and same_story: {'yes' if found else 'NO'}; "
          f"false pairs: {false}")
    return found and not false


def _demo_items() -> list[tuple[str, str, str, str | None]]:
    """(feed file, title, text, canonical URL) of every demo item."""
    fetched = datetime(2026, 11, 23, tzinfo=timezone.utc)
    items = []
    for name, feed in load_feed_files().items():
        result = parse_feed(feed.body, {"content-type": feed.content_type},
                            f"https://demo.example/feeds/{name}", fetched)
        items += [(name, e.title, e.summary, canonical_url(e.url)) for e in result.entries]
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="signatures to time")
    parser.add_argument("--show", type=float, default=None,
                        help="also list labelled pairs with token Jaccard >= this")
    args = parser.parse_args()
    bench_speed(args.count)
    lsh_curve()
    evaluate_labelled(args.show)
    raise SystemExit(0 if evaluate_demo() else 1)


if __name__ == "__main__":
    main()
