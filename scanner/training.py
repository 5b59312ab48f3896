"""Learning from labels, for the core: label items, train and store a model, re-tag the
archive, classify any text, and evaluate honestly (cross-validated where the model trained on
the same labels)."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from scanner.classify import (
    Evaluation, LabelledText, RuleMatcher, Tagger, bundled_examples, cross_validate, fit_tagger,
    read_labelled_jsonl, read_shared_labels, shared_labels_path,
)
from scanner.classify.evaluate import evaluate
from scanner.cycle import worker_pool
from scanner.preparing import tag_texts, use_tagger
from scanner.errors import ScannerError
from scanner.models import ItemTag, Taxonomy
from scanner.parse.language import detect_language
from scanner.store.tags import StoredModel, TagDecisionRow

RETAG_CHUNK = 1000
POOL_FROM_ITEMS = 20_000  # starting the workers costs seconds: below this, tag in-process
ACTIONS = ("add", "remove", "relevant", "irrelevant")


@dataclass(frozen=True)
class TrainOutcome:
    version: str
    labels: int
    label_sources: dict
    scores: dict
    seconds: float


# -- labels ------------------------------------------------------------------------------------

def check_tag(taxonomy: Taxonomy, tag: str) -> None:
    known = [t.id for t in taxonomy.tags]
    if tag not in known:
        close = difflib.get_close_matches(tag, known, n=1)
        hint = f" — did you mean `{close[0]}`?" if close else f"; known tags: {', '.join(known)}"
        raise ScannerError(f"unknown tag '{tag}' (not in {taxonomy.path}){hint}")


def check_item(store, item_id: int) -> None:
    if not store.items_by_id([item_id]):
        raise ScannerError(f"no item {item_id} in the archive — find item ids with "
                           "`scanner items` (the id column, or \"id\" in --format json)")


# -- training ----------------------------------------------------------------------------------

def training_examples(store, taxonomy: Taxonomy) -> tuple[list[LabelledText], list[str]]:
    """Bundled examples, the shared labelled set when present, and people's labels."""
    tag_ids = [t.id for t in taxonomy.tags]
    examples = bundled_examples(tag_ids) + read_shared_labels(tag_ids) + human_examples(store)
    shared = shared_labels_path()
    return examples, [file_digest(shared)] if shared else []


def human_examples(store) -> list[LabelledText]:
    rows = store.labelled_items()
    return [LabelledText(id=f"item:{r['id']}", title=r["title"], text=r["text"],
                         source=r["source"], lang=r["lang"],
                         tags=tuple(t.tag for t in r["verdict"][1]) if r["verdict"][0] else (),
                         relevant=bool(r["verdict"][0]), origin="human") for r in rows]


def train(store, taxonomy: Taxonomy, taxonomy_file: str, now: datetime) -> TrainOutcome:
    examples, label_files = training_examples(store, taxonomy)
    tagger, report = fit_tagger(taxonomy, RuleMatcher(taxonomy), examples, now,
                                detect_language=detect_language)
    info = report.info
    stored = dict(asdict(info), trained_at=info.trained_at.isoformat(),
                  label_files=label_files, taxonomy=taxonomy_file)
    store.save_model(StoredModel(info.version, now, stored, tagger.model.to_bytes()))
    return TrainOutcome(info.version, info.labels, info.label_sources, info.scores,
                        report.seconds)


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- retag -------------------------------------------------------------------------------------

def retag(store, spec, since: datetime | None, now: datetime, workers: int) -> int:
    """Re-tag stored items in chunks, tagged in worker processes while the main one reads
    and writes; labels and source tags are left as they are."""
    use_tagger(spec)
    chunks = _chunks(store, since)
    if workers < 2 or store.count_items() < POOL_FROM_ITEMS:
        return _store_tagged(store, (tag_rows(chunk, spec.version) for chunk in chunks), now)
    with worker_pool(workers, spec, preload=("scanner.training",)) as pool:
        return _store_tagged(store, _ahead(pool, chunks, spec.version, 2 * workers), now)


def tag_rows(chunk: list[tuple[int, str, str]], version: str) -> list[TagDecisionRow]:
    """The new verdicts of a chunk of (id, title, text), ready to store (in a worker process,
    so the main one only writes)."""
    return [_decision_row(item_id, decision, version) for item_id, decision in tag_texts(chunk)]


def _chunks(store, since: datetime | None) -> Iterator[list[tuple[int, str, str]]]:
    after = 0
    while chunk := store.items_to_tag(since, after, RETAG_CHUNK):
        yield [(item_id, title, text) for item_id, title, text, _ in chunk]
        after = chunk[-1][0]


def _ahead(pool, chunks, version: str, depth: int) -> Iterator:
    """Results in order, keeping `depth` chunks in the workers at once."""
    pending = deque()
    for chunk in chunks:
        pending.append(pool.submit(tag_rows, chunk, version))
        if len(pending) >= depth:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _store_tagged(store, tagged_chunks: Iterable[list[TagDecisionRow]], now: datetime) -> int:
    done = 0
    for rows in tagged_chunks:
        store.replace_auto_tags(rows, now)
        done += len(rows)
    return done


def _decision_row(item_id: int, decision, version: str) -> TagDecisionRow:
    tags = tuple(ItemTag(t.id, t.score, t.why, t.origin) for t in decision.tags
                 if t.origin != "source")
    return TagDecisionRow(item_id, decision.relevant, tags, version)


# -- classify ----------------------------------------------------------------------------------

def read_jsonl(lines: Iterable[str], name: str) -> Iterator[dict]:
    """Objects with at least id and title or text; a bad line names the file and line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScannerError(f"{name}:{number}: not JSON ({exc.msg}); write one object per "
                               'line, e.g. {"id": "1", "title": "…", "text": "…"}') from None
        if not isinstance(row, dict) or "id" not in row:
            raise ScannerError(f'{name}:{number}: each line needs an object with "id", '
                               '"title" and "text"')
        yield row


def classify_rows(tagger: Tagger, rows: list[dict], source_tags: dict[str, tuple]) -> list[dict]:
    items = [(str(r.get("title") or ""), str(r.get("text") or ""),
              source_tags.get(r.get("source"), ()), r.get("lang")) for r in rows]
    decisions = tagger.tag_many(items)
    return [{"id": r["id"], "relevant": d.relevant, "lang": d.lang,
             "tags": [{"id": t.id, "score": t.score, "why": t.why} for t in d.tags]}
            for r, d in zip(rows, decisions)]


# -- evaluate ----------------------------------------------------------------------------------

def evaluate_file(path: Path, taxonomy: Taxonomy, tagger: Tagger, model_info: dict,
                  now: datetime) -> tuple[str, Evaluation | object]:
    """Evaluate on a labelled file. Where the current model trained on these very labels,
    cross-validate grouped by source instead, so no figure is inflated."""
    tag_ids = [t.id for t in taxonomy.tags]
    examples = read_labelled_jsonl(path, "file", tag_ids)
    if _trained_on(path, model_info):
        others = [e for e in bundled_examples(tag_ids) if e.id not in {x.id for x in examples}]
        result = cross_validate(examples, taxonomy, RuleMatcher(taxonomy), now,
                                fixed_train=others)
        return "cross-validated, grouped by source (the model trained on this file)", result
    decisions = tagger.tag_many([(e.title, e.text, ()) for e in examples])
    return "the current tagger", evaluate(examples, decisions, tag_ids)


def _trained_on(path: Path, model_info: dict) -> bool:
    if file_digest(path) in model_info.get("label_files", []):
        return True
    bundled = Path(__file__).resolve().parent / "classify" / "data"
    return Path(path).resolve().parent == bundled
