"""sources.yaml -> validated Source models; collects every problem with file, line and key path.

The file is a mapping with `defaults:` (settings every source inherits) and `sources:` (a list).
A source's own key always wins over `defaults:`; a key set in neither gets the built-in default.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from scanner.config_yaml import (
    MODEL_CONFIG,
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
from scanner.errors import ConfigError, UnknownSourceError
from scanner.models import Source

KINDS = ("feed", "html", "page", "auto")
IDENTITY_KEYS = ("id", "name", "url")  # every source sets its own; never in `defaults:`
MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(days=7)
EMPTY_HINT = "it needs a `sources:` list, see the comments at the top of the shipped sources.yaml"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(min|sec|s|m|h|d|w)", re.IGNORECASE)
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?\s*(?:min|sec|s|m|h|d|w)\s*)+$", re.IGNORECASE)
_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_ISO_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


# --- durations and filters (pure functions other stages use) ----------------------------------


def parse_duration(text: str) -> timedelta:
    """Parse "30m", "1h", "1h30m", "90s", "1d", "2w" or ISO 8601 "PT1H", "P1DT6H" to a timedelta.

    Raises ValueError with a message staff can act on.
    """
    cleaned = text.strip() if isinstance(text, str) else ""
    if _DURATION.match(cleaned):
        parts = _DURATION_PART.findall(cleaned)
        return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))
    match = _ISO_DURATION.match(cleaned)
    if match and cleaned.upper() != "P" and any(match.groupdict().values()):
        values = match.groupdict()
        return timedelta(seconds=sum(float(values[k] or 0) * s for k, s in _ISO_SECONDS.items()))
    raise ValueError(f"'{text}' is not a duration; write e.g. 30m, 1h, 6h or 1d")


# --- field validators -------------------------------------------------------------------------


def _suggest_slug(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value.lower()).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "kb-nyheter"


def _slug_check(what: str):
    def check(value: str) -> str:
        if not _SLUG.match(value):
            raise invalid(f"'{value}' is not a valid {what}; use lowercase a-z, 0-9 and '-', "
                          f"e.g. '{_suggest_slug(value)}'")
        return value

    return check


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname and not re.search(r"\s", value):
        return value
    hint = f" — did you mean `https://{value}`?" if not parts.scheme and "." in value else ""
    raise invalid(f"'{value}' must be an absolute http(s) URL such as https://www.kb.se/rss{hint}")


def _check_interval(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        delta = value
    else:
        try:
            delta = parse_duration(value if isinstance(value, str) else str(value))
        except ValueError as exc:
            raise invalid(str(exc)) from None
    if delta < MIN_INTERVAL:
        raise invalid(f"'{value}' is too short; the minimum interval is 5m (be polite to the site)")
    if delta > MAX_INTERVAL:
        raise invalid(f"'{value}' is too long; the maximum interval is 7d")
    return delta


def _check_weight(value: Any) -> float:
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(value)
        number = float(value)
    except ValueError:
        raise invalid(f"{show_value(value)} is not a number; write a weight between 0 and 2, "
                      "e.g. 1.5") from None
    if not (math.isfinite(number) and 0 <= number <= 2):
        raise invalid(f"{value} is out of range; weight must be between 0 and 2 (1 = normal)")
    return number


def _check_language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise invalid(f"'{value}' is not a language code; write e.g. sv, en, fi or nb")
    return value


def _check_keyword(value: str) -> str:
    if not re.search(r"\w", value):
        raise invalid(f"'{value}' has no letters; write a word, e.g. bibliotek or bibliotek*")
    return value


_SLUG_SCHEMA = WithJsonSchema({"type": "string", "pattern": _SLUG.pattern})
Slug = Annotated[str, AfterValidator(_slug_check("id")), _SLUG_SCHEMA]
TagId = Annotated[str, AfterValidator(_slug_check("tag id")), _SLUG_SCHEMA]
Url = Annotated[str, AfterValidator(_check_url),
                WithJsonSchema({"type": "string", "format": "uri"})]
Keyword = Annotated[str, AfterValidator(_check_keyword)]
Language = Annotated[str, AfterValidator(_check_language)]
Weight = Annotated[
    float, BeforeValidator(_check_weight),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 2}),
]
Interval = Annotated[
    timedelta, BeforeValidator(_check_interval),
    WithJsonSchema({"type": "string", "examples": ["30m", "1h", "6h", "1d", "1h30m", "PT1H"]}),
]


# --- the pydantic models of sources.yaml ------------------------------------------------------



class SourceIdentity(BaseModel):
    """The keys every source sets itself (they cannot come from `defaults:`)."""

    model_config = MODEL_CONFIG

    id: Slug = Field(description="Unique short name: lowercase a-z, 0-9 and '-', e.g. kb-nyheter. "
                                 "Stored with every item; do not change it once in use.")
    name: str = Field(min_length=1, description="The source's name as readers see it in digests.")
    url: Url = Field(description="Feed (or page) address: an absolute http(s) URL.")


class SourceSettings(BaseModel):
    """The keys a source may set, or inherit from `defaults:`."""

    model_config = MODEL_CONFIG

    kind: Literal["feed", "html", "page", "auto"] = Field(
        "feed", description="feed: RSS/Atom/JSON Feed; html/page: a web page without a feed "
                            "(scraped with `selectors`); auto: detect from the response.")
    homepage: Url | None = Field(None, description="The site's human-facing home page (optional).")
    language: Language = Field("sv", description="Language of the items: sv, en, nb, da, fi ...")
    owner: str | None = Field(None, description="Who on staff looks after this source.")
    weight: Weight = Field(1.0, description="Importance in ranking, 0-2: 1 normal, 1.5-2 national "
                                            "agencies and trade press, 0.5 peripheral.")
    interval: Interval = Field(timedelta(hours=1), description="How often to fetch: 30m, 1h, 6h, "
                                                               "1d, 1h30m or ISO PT1H; 5m to 7d.")
    enabled: bool = Field(True, description="false = keep the entry but do not fetch it.")
    tags: list[TagId] = Field([], description="Taxonomy tag ids every item of this source gets, "
                                              "e.g. [tillganglighet].")
    include: list[Keyword] = Field([], description="Keep only items mentioning one of these words; "
                                                   "`*` matches word endings, e.g. bibliotek*.")
    exclude: list[Keyword] = Field([], description="Drop items mentioning any of these words "
                                                   "(`*` wildcards as in include).")
    notes: str | None = Field(None, description="Free text for staff: why it is here, what is "
                                                "missing.")
    selectors: dict[str, str] = Field({}, description="kind html/page: CSS selectors by role, "
                                                      "e.g. item, title, link, date, summary.")
    max_pages: int | None = Field(None, ge=1, le=100, description="kind html/page: how many "
                                                                  "listing pages to follow.")
    fetch_article: bool = Field(False, description="kind html/page: fetch each article page "
                                                    "for its full text.")


class SourceEntry(SourceSettings, SourceIdentity):
    """One entry of `sources:`."""


class SourceDefaults(SourceSettings):
    """`defaults:` — any source key except id, name and url; every source inherits them."""


class SourcesDocument(BaseModel):
    """The whole sources.yaml."""

    model_config = ConfigDict(extra="forbid", title="sources.yaml")

    defaults: SourceDefaults | None = Field(None, description="Settings every source inherits "
                                                              "unless it sets the key itself.")
    sources: list[SourceEntry] = Field(description="The sources to watch, one `- id: ...` each.")


# --- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourcesFile:
    """A validated sources.yaml: the explicit defaults and every source with them applied."""

    defaults: dict = field(hash=False)
    sources: tuple[Source, ...]
    path: str

    @property
    def enabled(self) -> tuple[Source, ...]:
        return tuple(source for source in self.sources if source.enabled)

    def get(self, source_id: str) -> Source:
        """The source with this id; UnknownSourceError names some known ids."""
        for source in self.sources:
            if source.id == source_id:
                return source
        raise UnknownSourceError(source_id, [source.id for source in self.sources])


def load_sources(path: Path) -> SourcesFile:
    """Read and validate sources.yaml (or DIR/sources.yaml); ConfigError lists every problem."""
    path = Path(path)
    if path.is_dir():
        path = path / "sources.yaml"
    return parse_sources_text(_read_text(path), str(path))


def parse_sources_text(text: str, path: str = "sources.yaml") -> SourcesFile:
    """Validate sources.yaml given as text (tests, stdin); ConfigError lists every problem.

    A valid file is read by the fast C parser; a file with any problem is read again by the
    round-trip reader, whose line numbers the problems name."""
    document, problems = validated_yaml(text, path, EMPTY_HINT, _validated)
    if problems:
        raise ConfigError(path, sort_problems(problems, path))
    return _sources_file(document, path)


def _validated(data: Any, positions: Positions, path: str):
    """(the validated document, every problem found) of loaded sources.yaml data."""
    problems = _identity_default_problems(data, positions, path)
    document, model_problems = validate_model(SourcesDocument, data, positions, path)
    return document, problems + model_problems + _duplicate_id_problems(data, positions, path)


def _sources_file(document: SourcesDocument, path: str) -> SourcesFile:
    defaults = document.defaults or SourceDefaults()
    sources = tuple(_build_source(entry, defaults) for entry in document.sources)
    return SourcesFile(defaults=defaults.model_dump(include=defaults.model_fields_set),
                       sources=sources, path=path)


def sources_json_schema() -> dict:
    """JSON Schema (2020-12) of sources.yaml, with a description for every key, for editors."""
    return schema_document(SourcesDocument, "Sources for `scanner` to watch. `defaults:` is "
                           "inherited by every source; a source's own key wins.")


def _read_text(path: Path) -> str:
    return read_config_text(path, "create it or pass --config DIR")


def _identity_default_problems(data: Any, positions: Positions, path: str) -> list[str]:
    """`defaults:` may not hold id, name or url: report them and take them out before validation."""
    defaults = data.get("defaults") if isinstance(data, dict) else None
    if not isinstance(defaults, dict):
        return []
    problems = []
    for key in [key for key in IDENTITY_KEYS if key in defaults]:
        loc = ("defaults", key)
        problems.append(problem_line(path, line_of(positions, loc), loc,
                                     f"`{key}` cannot have a default; every source sets its own"))
        del defaults[key]
    return problems


def _duplicate_id_problems(data: Any, positions: Positions, path: str) -> list[str]:
    entries = data.get("sources") if isinstance(data, dict) else None
    first_line: dict[str, int] = {}
    problems = []
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        source_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(source_id, str):
            continue
        loc, source_id = ("sources", index, "id"), source_id.strip()
        line = line_of(positions, loc)
        if source_id not in first_line:
            first_line[source_id] = line
            continue
        problems.append(problem_line(path, line, loc, f"duplicate id '{source_id}' — also used at "
                                     f"line {first_line[source_id]}; ids must be unique"))
    return problems


def _build_source(entry: SourceEntry, defaults: SourceDefaults) -> Source:
    """The entry's own keys, else the file's defaults, else the built-in defaults."""
    inherited = defaults.model_fields_set - entry.model_fields_set
    values = {name: getattr(defaults if name in inherited else entry, name)
              for name in SourceEntry.model_fields}
    for name in ("tags", "include", "exclude"):
        values[name] = tuple(values[name])
    values["selectors"] = tuple(values["selectors"].items())
    return Source(**values)
