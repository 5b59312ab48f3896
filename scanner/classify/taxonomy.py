"""taxonomy.yaml -> a validated `Taxonomy`; every problem at once with file, line and key path.

The file has `tags:` (a list of tags, each with optional nested `children:`) and `relevance:`
(keywords that mark an item as being about libraries or reading at all). A child rolls up to its
parent: nest it under `children:`, or list it at the top with `parent: <id>`. Problems read like
those of sources.yaml: `taxonomy.yaml:12: tags[3].parent: unknown parent 'x' — did you mean `y`?`.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from scanner.classify.text import parse_keyword
from scanner.config_yaml import (
    MODEL_CONFIG,
    Loc,
    Positions,
    invalid,
    line_of,
    problem_line,
    read_config_text,
    schema_document,
    show_value,
    sort_problems,
    validate_model,
    validated_yaml,
)
from scanner.errors import ConfigError
from scanner.models import Taxonomy, TaxonomyTag

EMPTY_HINT = "it needs a `tags:` list, see the comments at the top of the shipped taxonomy.yaml"
PRIORITIES = (1, 2, 3)
MAX_WEIGHT = 5.0

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# --- field validators -------------------------------------------------------------------------


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        ascii_text = unicodedata.normalize("NFKD", value.lower()).encode("ascii", "ignore")
        suggestion = re.sub(r"[^a-z0-9]+", "-", ascii_text.decode()).strip("-") or "lasframjande"
        raise invalid(f"'{value}' is not a valid tag id; use lowercase a-z, 0-9 and '-', "
                      f"e.g. '{suggestion}'")
    return value


def _check_priority(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value in PRIORITIES:
        return value
    if isinstance(value, str) and value.strip() in ("1", "2", "3"):
        return int(value)
    raise invalid(f"{show_value(value)} is not a priority; write 1 (highest), 2 or 3")


def _check_weight(value: Any) -> float:
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(value)
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= MAX_WEIGHT:
        raise invalid(f"{show_value(value)} is not a weight; write a number from 0 to "
                      f"{MAX_WEIGHT:g} (1 = normal, 0 = rules off)")
    return number


def _check_keyword(value: str) -> str:
    try:
        parse_keyword(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return value


_SLUG_SCHEMA = WithJsonSchema({"type": "string", "pattern": _SLUG.pattern})
TagId = Annotated[str, AfterValidator(_check_slug), _SLUG_SCHEMA]
Priority = Annotated[int, BeforeValidator(_check_priority),
                     WithJsonSchema({"type": "integer", "enum": list(PRIORITIES)})]
Weight = Annotated[float, BeforeValidator(_check_weight),
                   WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_WEIGHT})]
Keyword = Annotated[str, AfterValidator(_check_keyword),
                    WithJsonSchema({"type": "string", "minLength": 1,
                                    "examples": ["bibliotek*", "*bibliotek*", "läsfrämj*",
                                                 "nationell biblioteksstrategi"]})]


# --- the pydantic models of taxonomy.yaml -----------------------------------------------------



class TagEntry(BaseModel):
    """One tag; `children:` holds tags that roll up to it."""

    model_config = MODEL_CONFIG

    id: TagId = Field(description="Stable id: lowercase a-z, 0-9 and '-'. Reports, labels and "
                                  "digests refer to it; do not change it once in use.")
    label_sv: str = Field(min_length=1, description="The name users see (Swedish).")
    label_en: str = Field("", description="The name in English.")
    description: str = Field("", description="What belongs here: the rule for a human labeller.")
    priority: Priority | None = Field(None, description="1 (highest), 2 or 3: orders digest "
                                      "sections and weighs ranking. Children inherit it.")
    parent: TagId | None = Field(None, description="Id of the tag this one rolls up to (or nest "
                                                   "it under the parent's `children:`).")
    keywords: list[Keyword] = Field([], description="Swedish and English terms. `*` starts or "
                                    "ends a word for compounds: läsfrämj*, *bibliotek, "
                                    "*bibliotek*; several words make a phrase; a plain word also "
                                    "matches its inflections (bibliotek ~ biblioteken).")
    exclude: list[Keyword] = Field([], description="Terms that veto this tag (and its children) "
                                                   "when an item mentions them. Use sparingly.")
    weight: Weight = Field(1.0, description="How strongly matches count, 0-5: 1 normal, "
                                            "0 turns the tag's rules off.")
    children: list[TagEntry] = Field([], description="Narrower tags that roll up to this one.")


class RelevanceBlock(BaseModel):
    """What makes an item about libraries or reading at all; items without it get no tag."""

    model_config = MODEL_CONFIG

    keywords: list[Keyword] = Field([], description="Terms such as *bibliotek*, läsfrämj*, "
                                    "litteratur*; empty = every item counts as relevant.")


class TaxonomyDocument(BaseModel):
    """The whole taxonomy.yaml."""

    model_config = ConfigDict(extra="forbid", title="taxonomy.yaml")

    relevance: RelevanceBlock | None = Field(None, description="Keywords that mark an item as "
                                             "being about libraries or reading at all.")
    tags: list[TagEntry] = Field(description="The tags, one `- id: ...` each.")


# --- loading ----------------------------------------------------------------------------------


def load_taxonomy(path: Path | str) -> Taxonomy:
    """Read and validate taxonomy.yaml (or DIR/taxonomy.yaml); ConfigError lists every problem."""
    path = Path(path)
    if path.is_dir():
        path = path / "taxonomy.yaml"
    return parse_taxonomy_text(_read_text(path), str(path))


@functools.lru_cache(maxsize=8)
def parse_taxonomy_text(text: str, path: str = "taxonomy.yaml") -> Taxonomy:
    """Validate taxonomy.yaml given as text (tests, stdin); ConfigError lists every problem.
    Remembered by text and path (a Taxonomy is immutable): a long-running process reads the
    file at every scan, and parsing its YAML costs a fifth of a second, while an edited file
    is a new text. A valid file is read by the fast C parser; a file with any problem is read
    again by the round-trip reader, whose line numbers the problems name."""
    document, problems = validated_yaml(text, path, EMPTY_HINT, _validated)
    if problems:
        raise ConfigError(path, sort_problems(list(dict.fromkeys(problems)), path))
    relevance = document.relevance or RelevanceBlock()
    return Taxonomy(tags=_build_tags(document.tags),
                    relevance_keywords=tuple(relevance.keywords), path=path)


def _validated(data: Any, positions: Positions, path: str):
    """The validated document and every problem of the data (its tree's too)."""
    document, problems = validate_model(TaxonomyDocument, data, positions, path)
    return document, problems + _tree_problems(data, positions, path)


def taxonomy_json_schema() -> dict:
    """JSON Schema (2020-12) of taxonomy.yaml, with a description for every key, for editors."""
    return schema_document(TaxonomyDocument, "The priority taxonomy of `scanner`: tags with "
                           "keywords for explainable rules, and the relevance keywords.")


def _read_text(path: Path) -> str:
    return read_config_text(path, "create it (start from the shipped taxonomy.yaml)")


def _build_tags(entries: list[TagEntry]) -> tuple[TaxonomyTag, ...]:
    """Flatten the tree (file order), resolving nesting to `parent` and inheriting priority."""
    flat = list(_flatten(entries, None))
    parents = {entry.id: parent for entry, parent in flat}
    declared = {entry.id: entry.priority for entry, _ in flat}
    return tuple(_tag(entry, parent, _priority(entry.id, parents, declared))
                 for entry, parent in flat)


def _flatten(entries: list[TagEntry], enclosing: str | None) -> Iterator[tuple[TagEntry, Any]]:
    for entry in entries:
        yield entry, entry.parent or enclosing
        yield from _flatten(entry.children, entry.id)


def _priority(tag_id: str, parents: dict, declared: dict) -> int:
    """The tag's own priority, else its nearest ancestor's, else 2."""
    for _ in range(len(parents)):
        if declared.get(tag_id) is not None or parents.get(tag_id) is None:
            break
        tag_id = parents[tag_id]
    return declared.get(tag_id) or 2


def _tag(entry: TagEntry, parent: str | None, priority: int) -> TaxonomyTag:
    return TaxonomyTag(
        id=entry.id, label_sv=entry.label_sv, label_en=entry.label_en or entry.label_sv,
        description=entry.description, priority=priority, parent=parent,
        keywords=tuple(entry.keywords), exclude=tuple(entry.exclude), weight=entry.weight)


# --- problems across tags (found on the raw data, so they come with the model's problems) -----


def _raw_tags(data: Any) -> Iterator[tuple[Loc, dict, str | None]]:
    """Every tag mapping in the file with its key path and the id it is nested under."""
    entries = data.get("tags") if isinstance(data, dict) else None
    yield from _raw_level(entries, ("tags",), None)


def _raw_level(entries: Any, loc: Loc, enclosing: str | None):
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        yield (*loc, index), entry, enclosing
        own = _text(entry.get("id"))
        yield from _raw_level(entry.get("children"), (*loc, index, "children"), own)


def _text(value: Any) -> str | None:
    """A scalar as the model will read it (numbers become text), or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _tree_problems(data: Any, positions: Positions, path: str) -> list[str]:
    tags = list(_raw_tags(data))
    problems = _duplicate_ids(tags, positions, path)
    problems += _parent_problems(tags, positions, path)
    problems += _priority_problems(tags, positions, path)
    problems += _keyword_list_problems(tags, positions, path)
    return problems


def _at(positions: Positions, path: str, loc: Loc, message: str) -> str:
    return problem_line(path, line_of(positions, loc), loc, message)


def _duplicate_ids(tags: list, positions: Positions, path: str) -> list[str]:
    first_line: dict[str, int] = {}
    problems = []
    for loc, entry, _ in tags:
        tag_id = _text(entry.get("id"))
        if tag_id is None:
            continue
        line = line_of(positions, (*loc, "id"))
        if tag_id in first_line:
            problems.append(_at(positions, path, (*loc, "id"), f"duplicate id '{tag_id}' — also "
                                f"used at line {first_line[tag_id]}; ids must be unique"))
        first_line.setdefault(tag_id, line)
    return problems


def _parent_map(tags: list) -> dict[str, str | None]:
    parents: dict[str, str | None] = {}
    for _, entry, enclosing in tags:
        tag_id = _text(entry.get("id"))
        if tag_id is not None:
            parents.setdefault(tag_id, _text(entry.get("parent")) or enclosing)
    return parents


def _parent_problems(tags: list, positions: Positions, path: str) -> list[str]:
    parents = _parent_map(tags)
    problems = []
    reported_loops: set[frozenset] = set()
    for loc, entry, enclosing in tags:
        tag_id, parent = _text(entry.get("id")), _text(entry.get("parent"))
        message = _parent_message(tag_id, parent, enclosing, parents, reported_loops)
        if message:
            problems.append(_at(positions, path, (*loc, "parent"), message))
    return problems


def _parent_message(tag_id, parent, enclosing, parents: dict, reported: set) -> str | None:
    if parent is None:
        return None
    if enclosing is not None and parent != enclosing:
        return (f"says parent '{parent}' but is nested under '{enclosing}'; remove `parent:` "
                "from a nested tag, or move the tag")
    if parent == tag_id:
        return "a tag cannot be its own parent; remove `parent:` or name another tag"
    if parent not in parents:
        close = difflib.get_close_matches(parent, list(parents), n=1, cutoff=0.6)
        hint = f" — did you mean `{close[0]}`?" if close else "; use the id of another tag"
        return f"unknown parent '{parent}'{hint}"
    loop = _loop_through(tag_id, parents)
    if loop and frozenset(loop) not in reported:
        reported.add(frozenset(loop))
        return f"parents go round in a loop: {' → '.join([*loop, loop[0]])}; break the loop"
    return None


def _loop_through(tag_id: str | None, parents: dict) -> list[str]:
    """The chain tag -> parent -> ... when it comes back to the tag, else []."""
    chain, current = [], tag_id
    while current is not None and current not in chain and len(chain) <= len(parents):
        chain.append(current)
        current = parents.get(current)
    return chain if current == tag_id and tag_id is not None else []


def _priority_problems(tags: list, positions: Positions, path: str) -> list[str]:
    return [_at(positions, path, loc, "missing required key `priority`; a top-level tag needs "
                                      "one: 1 (highest), 2 or 3")
            for loc, entry, enclosing in tags
            if enclosing is None and "priority" not in entry and not _text(entry.get("parent"))]


def _keyword_list_problems(tags: list, positions: Positions, path: str) -> list[str]:
    problems = []
    for loc, entry, _ in tags:
        seen: dict[str, tuple[str, int]] = {}
        for key in ("keywords", "exclude"):
            words = entry.get(key)
            for index, word in enumerate(words if isinstance(words, list) else []):
                if not isinstance(word, str) or not word.strip():
                    continue
                folded, where = word.strip().casefold(), (*loc, key, index)
                if folded in seen:
                    first_key, first_line = seen[folded]
                    problems.append(_at(positions, path, where, f"'{word.strip()}' is already in "
                                        f"`{first_key}` at line {first_line}; list it once"))
                    continue
                seen[folded] = (key, line_of(positions, where))
    return problems
