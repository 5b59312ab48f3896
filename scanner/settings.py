"""Environment settings (SCANNER_*), in one table: name, default, help, secret."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from scanner.errors import SettingsError


class Settings(BaseSettings):
    """Every setting is read from the environment variable SCANNER_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="SCANNER_", extra="ignore", frozen=True)

    config_dir: Path = Field(
        Path("."), description="Folder holding sources.yaml, taxonomy.yaml and digests/."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the database. Default: SQLite at var/scanner.db "
        "under the config folder.",
        json_schema_extra={"secret": True},
    )
    contact_url: str = Field(
        "https://github.com/regionbibliotek/scanner",
        description="Contact URL named in the User-Agent, so site owners can reach the operator.",
    )
    concurrency: int = Field(16, ge=1, le=512, description="Sources fetched at the same time.")
    per_host_limit: int = Field(2, ge=1, le=64, description="Requests at the same time per host.")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a connection.")
    timeout: float = Field(30.0, gt=0, description="Seconds one whole fetch may take.")
    max_body_bytes: int = Field(
        15 * 1024 * 1024, ge=1024, description="Largest response body read, in bytes."
    )
    respect_robots: bool = Field(True, description="Obey robots.txt (cached per host).")
    robots_cache_seconds: int = Field(
        86400, ge=0, description="How long a host's robots.txt is kept."
    )
    max_backoff_hours: float = Field(
        24.0, gt=0, description="Longest wait after repeated failures of a source."
    )
    parse_workers: int = Field(
        max(1, os.cpu_count() or 1), ge=1, le=64,
        description="Processes parsing feeds in a big scan cycle (1 = parse in the main process).",
    )
    cache_dir: Path = Field(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scanner",
        description="Where the bootstrap tag model (trained once on the bundled examples) is "
        "cached.",
    )
    secret_key: str | None = Field(
        None,
        description="Key signing feedback and unsubscribe links in digests.",
        json_schema_extra={"secret": True},
    )
    public_url: str = Field(
        "http://127.0.0.1:8080",
        description="Where the archive web UI is reached; digest links point here.",
    )
    smtp_host: str = Field("localhost", description="SMTP server sending the digests.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls, ssl or none."
    )
    smtp_user: str | None = Field(None, description="SMTP user name (empty: no login).")
    smtp_password: str | None = Field(
        None, description="SMTP password.", json_schema_extra={"secret": True}
    )
    mail_from: str = Field(
        "Omvärldsbevakning <omvarldsbevakning@localhost>",
        description="Sender of the digests (From:).",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.config_dir / 'var' / 'scanner.db').resolve()}"


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: str
    default: str
    help: str
    secret: bool


def load_settings(**overrides) -> Settings:
    """Read the environment; overrides (e.g. --config) win. Raises SettingsError on bad values."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = [
            f"SCANNER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        ]
        raise SettingsError("invalid environment settings:\n  " + "\n  ".join(problems)) from exc


def settings_table(settings: Settings) -> list[SettingRow]:
    """The documented table of settings with current values, secrets masked."""
    rows = []
    for name, info in Settings.model_fields.items():
        extra = info.json_schema_extra or {}
        secret = bool(extra.get("secret"))
        value = getattr(settings, name)
        shown = _mask(value) if secret else _show(value)
        rows.append(SettingRow(f"SCANNER_{name.upper()}", shown, _show(info.default),
                               info.description or "", secret))
    return rows


def _show(value) -> str:
    return "" if value is None else str(value)


def _mask(value) -> str:
    """Hide a secret; of a URL keep what helps debugging and hide credentials."""
    if not value:
        return ""
    text = str(value)
    if "://" not in text:
        return "***"
    if "@" in text:
        scheme, rest = text.split("://", 1)
        text = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return re.sub(r"(?i)\b(password|passwd|pwd|secret|token)=[^&]*", r"\1=***", text)


def environment_has(name: str) -> bool:
    return f"SCANNER_{name.upper()}" in os.environ
