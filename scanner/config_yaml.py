"""Generic YAML plumbing for every config file: load with line positions, locate pydantic problems.

Nothing here knows about sources: sources.yaml, taxonomy.yaml and digests/*.yaml all go through
`load_yaml_with_positions` and `validate_model`, so their problems read alike:
`FILE:LINE: key.path[2].key: what is wrong — the fix`.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarint import ScalarInt

from scanner.errors import ConfigError

Loc = tuple[str | int, ...]
Positions = dict[Loc, int]  # key path -> 1-based line of that key (or list item)

CUSTOM_ERROR = "config"  # the error type of messages written by our own validators

_SYNTAX_HINTS = (
    ("'\\t'", "indent with spaces, not tabs"),
    ("could not find expected ':'", "a key is missing its colon; write `key: value`"),
    ("mapping values are not allowed",
     "a value contains ': ' — put it in quotes, or fix the indentation"),
    ("expected <block end>", "check the indentation: entries of one list or mapping must line up"),
    ("found duplicate key", "each key may appear only once in a mapping; remove one"),
    ("expected ',' or ']'", "a [ ... ] list is not closed"),
    ("expected ',' or '}'", "a { ... } mapping is not closed"),
    ("quoted scalar", "a quote is not closed"),
)


def invalid(message: str) -> PydanticCustomError:
    """An error for a field validator to raise: `message` is shown as is, after the location."""
    return PydanticCustomError(CUSTOM_ERROR, "{message}", {"message": message})


def problem_line(path: str, line: int, loc: Loc, message: str) -> str:
    """One problem as staff read it: `path:line: key.path: message`."""
    return f"{path}:{line}: {format_loc(loc)}: {message}"


def format_loc(loc: Loc) -> str:
    """("sources", 3, "interval") -> "sources[3].interval"; the empty path is the top level."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def line_of(positions: Positions, loc: Loc) -> int:
    """The line of `loc`, or of its nearest ancestor that has one (a missing key has none)."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in positions:
            return positions[loc[:end]]
    return 1


def sort_problems(problems: list[str], path: str) -> list[str]:
    """Order problem lines by their line number, keeping the order of equal lines."""
    prefix = len(path) + 1

    def line(problem: str) -> int:
        digits = problem[prefix:].split(":", 1)[0]
        return int(digits) if digits.isdigit() else 0

    return sorted(problems, key=line)


# --- loading ----------------------------------------------------------------------------------


def load_yaml_with_positions(text: str, path: str, empty_hint: str = "") -> tuple[Any, Positions]:
    """Parse YAML into plain dicts, lists and scalars, with the line of every key and list item.

    Raises ConfigError for invalid YAML (with line, column and a hint) and for an empty document.
    """
    try:
        node = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        raise ConfigError(path, [yaml_syntax_problem(exc, text, path)]) from None
    except YAMLError as exc:
        raise ConfigError(path, [f"{path}:1: invalid YAML: {exc}"]) from None
    if node is None:
        hint = f"; {empty_hint}" if empty_hint else ""
        raise ConfigError(path, [f"{path}:1: the file is empty (or holds only comments){hint}"])
    positions: Positions = {(): _node_line(node)}
    return _plain(node, (), positions), positions


def load_yaml_quickly(text: str) -> Any | None:
    """The plain data that load_yaml_with_positions gives, without the positions, read by the C
    parser (ruamel.yaml.clib; about ten times faster than the round-trip reader). None for
    anything but a non-empty valid document: the caller then takes load_yaml_with_positions,
    which says where the problem is. A %YAML directive or an explicit !! tag also goes to the
    round-trip reader, which alone honours them as it always has."""
    if "%YAML" in text or "!!" in text:
        return None
    try:
        node = YAML(typ="safe", pure=False).load(text)
    except YAMLError:
        return None
    return None if node is None else _plain_data(node)


def validated_yaml(text: str, path: str, empty_hint: str, validate) -> tuple[Any, list[str]]:
    """(document, problems) that validate(data, positions, path) gives for the YAML text: read
    by the fast C parser when that reads it and finds no problem, else by the round-trip
    reader, whose line numbers the problems name."""
    quick = load_yaml_quickly(text)
    if quick is not None:
        document, problems = validate(quick, {}, path)
        if not problems:
            return document, problems
    data, positions = load_yaml_with_positions(text, path, empty_hint)
    return validate(data, positions, path)


def _plain_data(node: Any) -> Any:
    """Keys as text, as _plain gives them."""
    if isinstance(node, dict):
        return {str(key): _plain_data(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain_data(item) for item in node]
    return node


def yaml_syntax_problem(exc: MarkedYAMLError, text: str, path: str) -> str:
    """ruamel's syntax error as one line: where, what, and how to fix it."""
    problem = exc.problem or exc.context or "syntax error"
    mark = exc.problem_mark or exc.context_mark
    if "could not find expected ':'" in problem and exc.context_mark is not None:
        mark = exc.context_mark  # the key without a colon, not the line after it
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    source_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    hint = _syntax_hint(problem, source_line)
    hint = f" — {hint}" if hint else ""
    return f"{path}:{line}: invalid YAML at column {column}: {problem}{hint}"


def _syntax_hint(problem: str, source_line: str) -> str:
    if "\t" in source_line[: len(source_line) - len(source_line.lstrip())]:
        return "indent with spaces, not tabs"
    return next((hint for needle, hint in _SYNTAX_HINTS if needle in problem), "")


def _node_line(node: Any) -> int:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else 1


def _plain(node: Any, loc: Loc, positions: Positions) -> Any:
    """Round-trip nodes -> plain Python, recording each key's and item's line under its path."""
    if isinstance(node, CommentedMap):
        return {_record(node, key, loc, positions): _plain(v, (*loc, str(key)), positions)
                for key, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(item, _record_item(node, i, loc, positions), positions)
                for i, item in enumerate(node)]
    return _plain_scalar(node)


def _record(node: CommentedMap, key: Any, loc: Loc, positions: Positions) -> str:
    try:
        positions[(*loc, str(key))] = node.lc.key(key)[0] + 1
    except (KeyError, TypeError):  # a key merged in with `<<:` has no position of its own
        positions[(*loc, str(key))] = _node_line(node)
    return str(key)


def _record_item(node: CommentedSeq, index: int, loc: Loc, positions: Positions) -> Loc:
    try:
        positions[(*loc, index)] = node.lc.item(index)[0] + 1
    except (KeyError, TypeError):
        positions[(*loc, index)] = _node_line(node)
    return (*loc, index)


def _plain_scalar(value: Any) -> Any:
    if isinstance(value, ScalarBoolean):
        return bool(value)
    if isinstance(value, ScalarFloat):
        return float(value)
    if isinstance(value, ScalarInt):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return value


# --- validation -------------------------------------------------------------------------------


def validate_model(model: type[BaseModel], data: Any, positions: Positions, path: str):
    """Validate `data` against `model`: (instance, []) or (None, every problem as a line)."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, located_problems(exc, positions, path, model)


def located_problems(
    exc: ValidationError, positions: Positions, path: str, model: type[BaseModel] | None = None
) -> list[str]:
    """Every pydantic error as `path:line: key.path: message`; `model` enables did-you-mean."""
    return [_located(error, positions, path, model) for error in exc.errors()]


def _located(error: dict, positions: Positions, path: str, model: type[BaseModel] | None) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "missing":
        return problem_line(path, line_of(positions, loc), loc[:-1],
                            f"missing required key `{loc[-1]}`")
    return problem_line(path, line_of(positions, loc), loc, describe_error(error, model))


def describe_error(error: dict, model: type[BaseModel] | None = None) -> str:
    """A pydantic error dict as a sentence with the fix, in words staff know."""
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return _unknown_key_message(str(error["loc"][-1]), keys_at(model, tuple(error["loc"][:-1])))
    if value is None:
        return "has no value; write one after the colon, or remove the key"
    if kind == CUSTOM_ERROR:
        return error["msg"]
    if kind == "literal_error":
        return _choice_message(value, re.findall(r"'([^']*)'", error["ctx"]["expected"]))
    return _type_message(kind, value, error)


def _type_message(kind: str, value: Any, error: dict) -> str:
    shown, ctx = show_value(value), error.get("ctx", {})
    messages = {
        "bool": f"{shown} is not true or false; write true or false",
        "float": f"{shown} is not a number",
        "int": f"{shown} is not a whole number",
        "string_type": f"must be text, not {shown}"
        + ("; put it in quotes" if isinstance(value, (bool, int, float)) else ""),
        "list_type": f"must be a list, e.g. [a, b] or lines starting with '- '; got {shown}",
        "tuple_type": f"must be a list, e.g. [a, b] or lines starting with '- '; got {shown}",
        "dict_type": f"must be a mapping of `key: value` lines; got {shown}",
        "model_type": f"must be a mapping of `key: value` lines; got {shown}",
        "string_too_short": "must not be empty",
        "greater_than_equal": f"{shown} is too small; the minimum is {ctx.get('ge')}",
        "less_than_equal": f"{shown} is too large; the maximum is {ctx.get('le')}",
    }
    family = kind.split("_")[0] if kind.split("_")[0] in ("bool", "float", "int") else kind
    return messages.get(family, error["msg"])


def show_value(value: Any) -> str:
    """A value as quoted in a message: strings in quotes, long ones cut, containers by kind."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"'{text}'" if isinstance(value, str) else text


def _unknown_key_message(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key — did you mean `{close[0]}`?"
    return "unknown key" + (f"; known keys are {', '.join(known)}" if known else "")


def _choice_message(value: Any, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
    hint = f" — did you mean `{close[0]}`?" if close else ""
    return f"{show_value(value)} is not allowed here; use one of {', '.join(choices)}{hint}"


def keys_at(model: type[BaseModel] | None, loc: Loc) -> list[str]:
    """The keys the model allows in the mapping at `loc` ([] when that is not a model)."""
    found = _annotation_at(model, loc) if model is not None else None
    return list(found.model_fields) if _is_model(found) else []


def _annotation_at(annotation: Any, loc: Loc) -> Any:
    """Follow a key path through models, lists, dicts and Optional to the annotation it reaches."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType, Annotated):
        candidates = (_annotation_at(arg, loc) for arg in args if arg is not type(None))
        return next((found for found in candidates if found is not None), None)
    if not loc:
        return annotation
    head, rest = loc[0], loc[1:]
    if _is_model(annotation):
        field = annotation.model_fields.get(head) if isinstance(head, str) else None
        return _annotation_at(field.annotation, rest) if field else None
    if _is_subclass(origin, Mapping) and len(args) == 2:
        return _annotation_at(args[1], rest)
    if _is_subclass(origin, Sequence) and args:
        return _annotation_at(args[0], rest)
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_subclass(origin: Any, base: type) -> bool:
    return isinstance(origin, type) and issubclass(origin, base) and origin is not str


def read_config_text(path: Path, missing_hint: str) -> str:
    """A YAML file's text (UTF-8, a byte-order mark allowed); ConfigError says what to do if
    it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        problem = f"{path}: not found; {missing_hint}"
    except UnicodeDecodeError as exc:
        problem = f"{path}: byte {exc.start} is not UTF-8; save the file as UTF-8"
    except OSError as exc:
        problem = f"{path}: cannot be read ({exc.strerror}); check its permissions"
    raise ConfigError(path, [problem])


def schema_document(model: type[BaseModel], description: str) -> dict:
    """JSON Schema (2020-12) of a YAML file's model, with a description, for editors."""
    schema = model.model_json_schema()
    schema["description"] = description
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# Every YAML file's models: unknown keys are problems, text is stripped, numbers read as text.
MODEL_CONFIG = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


# --- writing sources.yaml entries (OPML import, feed discovery) -------------------------------

_SLUG_MAX = 48
_PLAIN = re.compile(r"^[\w][\w .,()/'’&–-]*$")
_PLAIN_URL = re.compile(r"^https?://[^\s#'\"]*[^\s#'\":]$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


def slugify(text: str) -> str:
    """'Region Örebro län – Nyheter' -> 'region-orebro-lan-nyheter' (a-z, 0-9, '-'; at most
    48 characters, cut at a '-')."""
    ascii_text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > _SLUG_MAX:
        slug = slug[:_SLUG_MAX].rsplit("-", 1)[0]
    return slug or "kalla"


def unique_slug(slug: str, taken: Collection[str]) -> str:
    """`slug`, or `slug-2`, `slug-3` … when it is taken."""
    candidate, number = slug, 2
    while candidate in taken:
        candidate, number = f"{slug}-{number}", number + 1
    return candidate


def yaml_scalar(value: str) -> str:
    """A YAML scalar: plain when that reads back as the same string, else double-quoted."""
    plain = _PLAIN.match(value) or _PLAIN_URL.match(value)
    if plain and value.lower() not in _YAML_WORDS and ": " not in value and value == value.strip():
        return value
    return json.dumps(value, ensure_ascii=False)
