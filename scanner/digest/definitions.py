"""digests/*.yaml -> validated `DigestDefinition`s; every problem at once with file, line and key.

One file per digest. Problems read like those of sources.yaml:
`digests/chefer.yaml:14: recipients[2].email: 'anna@' is not an email address — ...`.
Secrets never belong in these files (they end up in version control): SMTP settings and keys come
from the environment (SCANNER_SMTP_*, SCANNER_SECRET_KEY).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from scanner.config_yaml import (
    MODEL_CONFIG,
    Loc,
    Positions,
    invalid,
    line_of,
    load_yaml_with_positions,
    problem_line,
    show_value,
    sort_problems,
    validate_model,
)
from scanner.digest.cron import normalise
from scanner.errors import ConfigError
from scanner.models import Taxonomy

DEFAULT_SCHEDULE = "0 7 * * mon"
EMPTY_HINT = "a digest needs at least `title:` and `recipients:`; see digests/bibliotekschefer.yaml"
MIN_WINDOW, MAX_WINDOW = timedelta(days=1), timedelta(days=92)
ENVIRONMENT_KEYS = {  # keys people put in YAML that belong in the environment
    "smtp_password": "SCANNER_SMTP_PASSWORD", "password": "SCANNER_SMTP_PASSWORD",
    "smtp_user": "SCANNER_SMTP_USER", "smtp_host": "SCANNER_SMTP_HOST",
    "smtp_port": "SCANNER_SMTP_PORT", "smtp_security": "SCANNER_SMTP_SECURITY",
    "secret_key": "SCANNER_SECRET_KEY", "secret": "SCANNER_SECRET_KEY",
    "sender": "SCANNER_MAIL_FROM", "mail_from": "SCANNER_MAIL_FROM", "from": "SCANNER_MAIL_FROM",
}

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_WINDOW = re.compile(r"^(\d+)\s*(d|w|h)$", re.IGNORECASE)
_ISO_WINDOW = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Recipient:
    """One reader of a digest. Empty `topics` = every section; `min_priority` None = all."""

    name: str
    email: str
    topics: tuple[str, ...] = ()
    min_priority: int | None = None


@dataclass(frozen=True)
class DigestDefinition:
    """One digests/*.yaml. Empty `sections` = the taxonomy's top-level tags, priority order."""

    id: str
    title: str
    recipients: tuple[Recipient, ...]
    schedule: str = DEFAULT_SCHEDULE  # five-field cron, Europe/Stockholm; weekdays as names
    window: timedelta = timedelta(days=7)
    language: str = "sv"
    sections: tuple[str, ...] = ()
    items_per_section: int = 5
    top_count: int = 3
    rising_topics: bool = True
    source_health: bool = False
    description: str = ""
    path: str = ""


# --- field validators -------------------------------------------------------------------------


def _check_slug(what: str):
    def check(value: str) -> str:
        if not _SLUG.match(value):
            suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "bibliotekschefer"
            raise invalid(f"'{value}' is not a valid {what}; use lowercase a-z, 0-9 and '-', "
                          f"e.g. '{suggestion}'")
        return value

    return check


def _check_email(value: str) -> str:
    if not value.isascii():
        raise invalid(f"'{value}' has letters outside a-z; not every mail server accepts such "
                      "addresses — write the plain form, e.g. asa.oberg@example.se")
    if not _EMAIL.match(value):
        raise invalid(f"'{value}' is not an email address; write it like anna.berg@example.se "
                      "(name and address go in separate keys, `name:` and `email:`)")
    return value


def _check_schedule(value: Any) -> str:
    try:
        return normalise(value if isinstance(value, str) else str(value))
    except ValueError as exc:
        raise invalid(f"{exc} (times are Europe/Stockholm)") from None


def _check_window(value: Any) -> timedelta:
    text = str(value).strip()
    match, iso = _WINDOW.match(text), _ISO_WINDOW.match(text)
    if match:
        unit = {"d": timedelta(days=1), "w": timedelta(weeks=1), "h": timedelta(hours=1)}
        window = int(match[1]) * unit[match[2].lower()]
    elif iso and (iso[1] or iso[2]):
        window = timedelta(weeks=int(iso[1] or 0), days=int(iso[2] or 0))
    else:
        raise invalid(f"{show_value(value)} is not a duration; write e.g. 7d, 14d or 1w")
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise invalid(f"{show_value(value)} is out of range; a window is 1d to 92d (7d = a week)")
    return window


def _check_priority(value: Any) -> int:
    if not isinstance(value, bool) and str(value).strip() in ("1", "2", "3"):
        return int(value)
    raise invalid(f"{show_value(value)} is not a priority; write 1 (only the highest), 2 or 3 "
                  "(all)")


def _check_recipients(value: list) -> list:
    if not value:
        raise invalid("lists nobody; add at least one recipient, e.g. "
                      "`- {name: Anna Berg, email: anna.berg@example.se}`")
    return value


Slug = Annotated[str, AfterValidator(_check_slug("digest id"))]
TagId = Annotated[str, AfterValidator(_check_slug("tag id"))]
Email = Annotated[str, AfterValidator(_check_email)]
Schedule = Annotated[str, BeforeValidator(_check_schedule)]
Window = Annotated[timedelta, BeforeValidator(_check_window)]
Priority = Annotated[int, BeforeValidator(_check_priority)]



class RecipientEntry(BaseModel):
    model_config = MODEL_CONFIG

    name: str = Field(min_length=1, description="The reader's name, used in the To: header.")
    email: Email = Field(description="Where the digest goes.")
    topics: list[TagId] = Field([], description="Only these taxonomy ids (default: all).")
    min_priority: Priority | None = Field(
        None, description="1: only priority-1 topics; 2: priorities 1 and 2; 3: all.")


class DigestFile(BaseModel):
    """The keys of one digests/*.yaml file."""

    model_config = MODEL_CONFIG

    id: Slug | None = Field(None, description="Unique short name; default: the file name.")
    title: str = Field(min_length=1, description="Heading of the email and start of the subject.")
    description: str = Field("", description="Free text for colleagues.")
    schedule: Schedule = Field(DEFAULT_SCHEDULE, description="Cron, Europe/Stockholm.")
    window: Window = Field(timedelta(days=7), description="How far back items are taken.")
    language: Literal["sv", "en"] = Field("sv", description="Language of the email.")
    recipients: Annotated[list[RecipientEntry], AfterValidator(_check_recipients)] = Field(
        description="Who gets the digest.")
    sections: list[TagId] = Field([], description="Taxonomy ids (default: all top-level tags).")
    items_per_section: int = Field(5, ge=1, le=50, description="Items shown per section.")
    top_count: int = Field(3, ge=0, le=10, description="Items in 'Veckans viktigaste'.")
    rising_topics: bool = Field(True, description="Show topics that grew this week.")
    source_health: bool = Field(False, description="Show sources that fail (for staff).")


# --- loading ----------------------------------------------------------------------------------


def load_digests(folder: Path | str, taxonomy: Taxonomy | None = None) -> list[DigestDefinition]:
    """Every digests/*.yaml in `folder`, sorted by file name; [] when the folder is missing.

    With `taxonomy`, section and topic ids are checked against it. Raises ConfigError with every
    problem of every file.
    """
    paths = sorted(Path(folder).glob("*.y*ml")) if Path(folder).is_dir() else []
    definitions, problems = [], []
    for path in paths:
        try:
            definitions.append(load_digest(path, taxonomy))
        except ConfigError as exc:
            problems.extend(exc.problems)
    problems.extend(_duplicate_ids(definitions))
    if problems:
        raise ConfigError(folder, problems)
    return definitions


def load_digest(path: Path | str, taxonomy: Taxonomy | None = None) -> DigestDefinition:
    """One digest file. Raises ConfigError with every problem found."""
    text = Path(path).read_text(encoding="utf-8")
    return parse_digest(text, str(path), taxonomy, default_id=Path(path).stem)


def parse_digest(text: str, path: str, taxonomy: Taxonomy | None = None,
                 default_id: str = "digest") -> DigestDefinition:
    """Validate a digest's YAML text; `path` is only used in messages."""
    data, positions = load_yaml_with_positions(text, path, EMPTY_HINT)
    problems = _environment_key_problems(data, positions, path)
    data = _without_environment_keys(data)
    entry, model_problems = validate_model(DigestFile, data, positions, path)
    problems += model_problems + _taxonomy_problems(data, taxonomy, positions, path)
    problems += _duplicate_recipients(data, positions, path)
    if problems:
        raise ConfigError(path, sort_problems(problems, path))
    return _build(entry, path, default_id)


def _environment_key_problems(data: Any, positions: Positions, path: str) -> list[str]:
    found = []
    for loc, key in _keys(data, ()):
        variable = ENVIRONMENT_KEYS.get(key.lower())
        if variable:
            what = "a secret" if "password" in key or "secret" in key else "a server setting"
            found.append(problem_line(path, line_of(positions, loc), loc,
                                      f"{what} does not belong in a digest file (it would end up "
                                      f"in version control) — remove it and set the environment "
                                      f"variable {variable} instead"))
    return found


def _keys(data: Any, loc: Loc):
    """Every (key path, key) of nested mappings and lists."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*loc, key), key
            yield from _keys(value, (*loc, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _keys(value, (*loc, index))


def _without_environment_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_environment_keys(v) for k, v in data.items()
                if k.lower() not in ENVIRONMENT_KEYS}
    if isinstance(data, list):
        return [_without_environment_keys(v) for v in data]
    return data


def _taxonomy_problems(data: Any, taxonomy: Taxonomy | None, positions: Positions,
                       path: str) -> list[str]:
    """Section and topic ids that are not in the taxonomy (read from the raw data, so these
    are reported together with every other problem)."""
    if taxonomy is None or not isinstance(data, dict):
        return []
    known = [tag.id for tag in taxonomy.tags]
    used = [(("sections", i), tag) for i, tag in enumerate(_list(data.get("sections")))]
    for r, recipient in enumerate(_list(data.get("recipients"))):
        topics = recipient.get("topics") if isinstance(recipient, dict) else None
        used += [(("recipients", r, "topics", i), tag) for i, tag in enumerate(_list(topics))]
    return [problem_line(path, line_of(positions, loc), loc, _unknown_tag(tag, known, taxonomy))
            for loc, tag in used if isinstance(tag, str) and _SLUG.match(tag) and tag not in known]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _unknown_tag(tag: str, known: list[str], taxonomy: Taxonomy) -> str:
    close = difflib.get_close_matches(tag, known, n=1, cutoff=0.6)
    hint = f" — did you mean `{close[0]}`?" if close else f"; known ids include {', '.join(known[:6])}"
    return f"unknown tag '{tag}': it is not in {taxonomy.path}{hint}"


def _duplicate_recipients(data: Any, positions: Positions, path: str) -> list[str]:
    first: dict[str, int] = {}
    problems = []
    recipients = _list(data.get("recipients")) if isinstance(data, dict) else []
    for index, recipient in enumerate(recipients):
        email = recipient.get("email") if isinstance(recipient, dict) else None
        if not isinstance(email, str):
            continue
        loc = ("recipients", index, "email")
        key, line = email.strip().lower(), line_of(positions, loc)
        if key in first:
            problems.append(problem_line(path, line, loc, f"'{email}' is listed twice "
                                         f"(also at line {first[key]}); keep one entry"))
        first.setdefault(key, line)
    return problems


def _duplicate_ids(definitions: list[DigestDefinition]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for definition in definitions:
        if definition.id in seen:
            problems.append(f"{definition.path}:1: id: duplicate digest id '{definition.id}' — "
                            f"{seen[definition.id]} uses it too; give each digest its own id")
        seen.setdefault(definition.id, definition.path)
    return problems


def _build(entry: DigestFile, path: str, default_id: str) -> DigestDefinition:
    recipients = tuple(Recipient(r.name, r.email, tuple(r.topics), r.min_priority)
                       for r in entry.recipients)
    values = entry.model_dump(exclude={"id", "recipients", "sections"})
    return DigestDefinition(id=entry.id or _slug(default_id), recipients=recipients,
                            sections=tuple(entry.sections), path=path, **values)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "digest"
