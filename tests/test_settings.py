from pathlib import Path

import pytest

from scanner.errors import SettingsError
from scanner.settings import Settings, load_settings, settings_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = [f"SCANNER_{name.upper()}" for name in Settings.model_fields
               if f"`SCANNER_{name.upper()}`" not in text]
    assert not missing, f"document these in the README's settings table: {missing}"


def test_secrets_are_masked_and_other_values_shown(monkeypatch):
    monkeypatch.setenv("SCANNER_SMTP_PASSWORD", "hemligt")
    monkeypatch.setenv("SCANNER_DATABASE_URL", "postgresql+psycopg://anna:hemligt@db/scanner")
    monkeypatch.setenv("SCANNER_CONCURRENCY", "8")
    rows = {row.name: row.value for row in settings_table(load_settings())}
    assert rows["SCANNER_SMTP_PASSWORD"] == "***"
    assert rows["SCANNER_DATABASE_URL"] == "postgresql+psycopg://***@db/scanner"
    assert rows["SCANNER_CONCURRENCY"] == "8"


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("SCANNER_SMTP_SECURITY", "tls")
    with pytest.raises(SettingsError, match="SCANNER_SMTP_SECURITY"):
        load_settings()
