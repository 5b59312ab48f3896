"""Labelled texts for training and evaluating the tagger, read from JSON Lines.

One JSON object per line: "id", "title", "tags" (list of taxonomy ids) are required; "text",
"source", "lang" default to "", and "relevant" defaults to "has at least one tag". Extra keys
(url, date, ...) are ignored. Every problem in a file is reported at once, with file and line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from scanner.errors import ScannerError

DATA_DIR = Path(__file__).resolve().parent / "data"
BUNDLED_FILES = ("examples.jsonl", "demo_labels.jsonl")
REPO_DIR = Path(__file__).resolve().parents[2]
SHARED_LABELS = REPO_DIR.parent / "shared" / "data" / "labelled.jsonl"
MAX_PROBLEMS = 20


class LabelsError(ScannerError):
    """A labelled-data file is missing or has lines that cannot be used."""

    def __init__(self, path, problems):
        self.path = str(path)
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS]
        more = len(self.problems) - len(shown)
        lines = [f"{self.path}: {len(self.problems)} problem(s) in labelled data", *shown]
        if more:
            lines.append(f"... and {more} more")
        super().__init__("\n  ".join(lines))


@dataclass(frozen=True)
class LabelledText:
    """One labelled item. `origin` says where the label came from: bundled, shared, human, ..."""

    id: str
    title: str
    text: str
    source: str
    lang: str
    tags: tuple[str, ...]
    relevant: bool
    origin: str = ""


def read_labelled_jsonl(
    path: str | Path, origin: str = "file", known_tags: Iterable[str] | None = None
) -> list[LabelledText]:
    """Read every line of `path`; raise LabelsError listing all bad lines (file:line: problem)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(path, [f"{path}: cannot read the file ({exc}); check the path"]) from exc
    known = set(known_tags) if known_tags is not None else None
    examples, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        example, problem = _parse_line(line, origin, known)
        if problem:
            problems.append(f"{path}:{number}: {problem}")
        else:
            examples.append(example)
    problems += _duplicate_ids(examples, path)
    if problems:
        raise LabelsError(path, problems)
    return examples


def _parse_line(line: str, origin: str, known: set[str] | None):
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno}); one object per line"
    if not isinstance(row, dict):
        return None, "expected a JSON object like {\"id\": ..., \"title\": ..., \"tags\": [...]}"
    problem = _check_row(row, known)
    if problem:
        return None, problem
    return _example(row, origin), None


def _check_row(row: dict, known: set[str] | None) -> str | None:
    for key in ("id", "title"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            return f'"{key}" must be a non-empty string'
    for key in ("text", "source", "lang"):
        if row.get(key) is not None and not isinstance(row[key], str):
            return f'"{key}" must be a string or null'
    tags = row.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return f'"tags" must be a list of taxonomy ids (id {row["id"]!r})'
    if known is not None and set(tags) - known:
        unknown = ", ".join(sorted(set(tags) - known))
        return f"unknown tag id(s) {unknown} (id {row['id']!r}); use ids from taxonomy.yaml"
    relevant = row.get("relevant")
    if relevant is not None and not isinstance(relevant, bool):
        return f'"relevant" must be true or false (id {row["id"]!r})'
    if relevant is False and tags:
        return f'"relevant" is false but "tags" is not empty (id {row["id"]!r}); pick one'
    return None


def _example(row: dict, origin: str) -> LabelledText:
    tags = tuple(dict.fromkeys(row["tags"]))
    relevant = row.get("relevant")
    return LabelledText(
        id=row["id"],
        title=row["title"],
        text=row.get("text") or "",
        source=row.get("source") or "",
        lang=row.get("lang") or "",
        tags=tags,
        relevant=bool(tags) if relevant is None else relevant,
        origin=origin,
    )


def _duplicate_ids(examples: list[LabelledText], path: Path) -> list[str]:
    seen, problems = set(), []
    for example in examples:
        if example.id in seen:
            problems.append(f"{path}: id {example.id!r} occurs more than once; ids must be unique")
        seen.add(example.id)
    return problems


def bundled_examples(known_tags: Iterable[str] | None = None) -> list[LabelledText]:
    """The project's own labelled examples (data/examples.jsonl + data/demo_labels.jsonl)."""
    examples = []
    for name in BUNDLED_FILES:
        path = DATA_DIR / name
        if path.exists():
            examples += read_labelled_jsonl(path, origin="bundled", known_tags=known_tags)
    return examples


def shared_labels_path() -> Path | None:
    """../shared/data/labelled.jsonl next to the repository, when that file exists."""
    return SHARED_LABELS if SHARED_LABELS.is_file() else None


def read_shared_labels(known_tags: Iterable[str] | None = None) -> list[LabelledText]:
    """The shared expert-labelled set, or [] where it is absent."""
    path = shared_labels_path()
    return read_labelled_jsonl(path, origin="shared", known_tags=known_tags) if path else []
