"""The real CLI end to end: click's CliRunner on scanner.cli.main, and the installed `scanner`
console script in a subprocess. Feeds come from the loopback server (tests/httpserver.py); the
"no network" check routes every connection to a closed port on 127.0.0.1 through proxy
variables, so nothing ever leaves the machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner import config
from scanner.cli import main
from tests.fetch.helpers import closed_port
from tests.httpserver import redirect
from tests.test_core import HTML, RSS, clean_environment, feed, write_sources  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SCANNER_SCRIPT = Path(sys.executable).with_name("scanner")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
JSON_FIELDS = {"id", "source", "sources", "url", "title", "summary", "published", "fetched",
               "lang", "tags", "date_missing", "revision"}


class Cli:
    """Runs `scanner ARGS` in-process against one config folder and one test database."""

    def __init__(self, folder: Path, database_url: str | None, server) -> None:
        self.folder, self.database_url, self.server = folder, database_url, server

    def env(self, **extra) -> dict:
        values = {"SCANNER_TIMEOUT": "2", "SCANNER_CONNECT_TIMEOUT": "1", "COLUMNS": "300",
                  "SCANNER_CONFIG_DIR": None, "SCANNER_DATABASE_URL": self.database_url,
                  "SCANNER_SECRET_KEY": None}
        values.update({name: None for name in PROXY_VARIABLES})
        values.update({name.lower(): None for name in PROXY_VARIABLES})
        values.update(extra)
        return values

    def __call__(self, *args: str, env: dict | None = None):
        return CliRunner().invoke(main, list(args), env=self.env(**(env or {})),
                                  catch_exceptions=False)

    def config(self) -> list[str]:
        return ["--config", str(self.folder)]

    def sources(self, *entries: dict, **kwargs) -> Path:
        return write_sources(self.folder, *entries, **kwargs)

    def source(self, source_id: str, path: str, **keys) -> dict:
        return {"id": source_id, "url": self.server.url(path), **keys}

    def items_json(self, *args: str) -> list[dict]:
        result = self("items", *self.config(), "--format", "json", "--limit", "1000", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path, database_url, http_server):
    return Cli(tmp_path, database_url, http_server)


def rfc822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def dated_feed(now: datetime) -> bytes:
    """datum-mall.rss with one item two days old and one twenty days old."""
    text = feed("datum-mall.rss").decode("utf-8")
    text = text.replace("{{NYLIGEN}}", rfc822(now - timedelta(days=2)))
    return text.replace("{{TIDIGARE}}", rfc822(now - timedelta(days=20))).encode("utf-8")


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def table_row(text: str, first_cell: str) -> list[str]:
    """The cells of the Rich table row whose first cell is first_cell."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{text}")


# --- scan ---------------------------------------------------------------------------------------


def test_scan_exit_0_prints_table_log_lines_and_summary(cli, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/utv.rss", body=dated_feed(datetime.now(timezone.utc)), headers=RSS)
    cli.sources(cli.source("lansbibliotek", "/lan.rss"), cli.source("utveckling", "/utv.rss"))

    result = cli("scan", *cli.config())

    assert result.exit_code == 0, result.output
    assert "2 sources: 4 new, 0 updated, 0 unchanged, 0 failed" in result.stdout
    assert "scanned lansbibliotek: 2 new, 0 updated, 0 unchanged (ok)" in result.stderr
    assert "scanned utveckling: 2 new, 0 updated, 0 unchanged (ok)" in result.stderr
    assert lines_with(result.stdout, "lansbibliotek") and "Traceback" not in result.output

    again = cli("scan", *cli.config())
    assert again.exit_code == 0
    assert "nothing to scan: no enabled source is due (use --all or --source ID)" in again.output

    forced = cli("scan", *cli.config(), "--source", "utveckling")
    assert forced.exit_code == 0
    assert "1 sources: 0 new, 0 updated, 0 unchanged, 0 failed" in forced.stdout
    assert "scanned utveckling: 0 new, 0 updated, 0 unchanged (unchanged)" in forced.stderr


def test_scan_report_in_a_pipe_is_one_aligned_plain_line_per_source(capsys):
    from scanner.cli_output import print_scan_report
    from scanner.core import ScanReport
    from scanner.models import SourceScanResult
    results = (SourceScanResult("kb", new=12, fetch_outcome="ok"),
               SourceScanResult("regionbibliotek-stockholm", unchanged=3, fetch_outcome="ok"),
               SourceScanResult("dik", fetch_outcome="error", error_key="http_404",
                                message="dik: 404 — fix the url"))
    print_scan_report(ScanReport(results, (), ()))
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "source                     new  updated  unchanged  skipped  result",
        "kb                          12        0          0        0  ok",
        "regionbibliotek-stockholm    0        0          3        0  ok",
        "dik                          0        0          0        0  failed: http_404",
    ]
    assert lines[-1] == "3 sources: 12 new, 0 updated, 3 unchanged, 1 failed"


def test_scan_exit_1_when_some_failed_names_source_and_fix(cli, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/saknas.rss", status=404)
    http_server.route("/ny.rss", body=feed("stadsbibliotek.atom"), headers=RSS)
    http_server.route("/gammal.rss", handler=redirect("/ny.rss", status=301))
    cli.sources(cli.source("lansbibliotek", "/lan.rss"),
                cli.source("kommunbibliotek", "/saknas.rss"),
                cli.source("stadsbibliotek", "/gammal.rss"))

    result = cli("scan", *cli.config(), "--all")

    assert result.exit_code == 1, result.output
    [failure] = lines_with(result.stdout, "✗")
    assert failure.startswith(f"✗ kommunbibliotek: HTTP 404 Not Found at "
                              f"{http_server.url('/saknas.rss')}")
    assert "update sources.yaml" in failure
    assert (f"moved: stadsbibliotek has moved permanently to {http_server.url('/ny.rss')} — "
            "update its url in sources.yaml") in result.stdout
    assert "3 sources: 4 new, 0 updated, 0 unchanged, 1 failed" in result.stdout
    assert "scanned kommunbibliotek: FAILED [http_404] kommunbibliotek: HTTP 404" in result.stderr
    assert "Traceback" not in result.output


def test_scan_exit_3_when_all_failed(cli, http_server):
    http_server.route("/start.html", body=feed("startsida.html"), headers=HTML)
    http_server.route("/fel.rss", status=500)
    cli.sources(cli.source("kommunbibliotek", "/start.html"), cli.source("instabil", "/fel.rss"))

    result = cli("scan", *cli.config())

    assert result.exit_code == 3, result.output
    failures = lines_with(result.stdout, "✗")
    assert len(failures) == 2
    assert failures[0].startswith("✗ kommunbibliotek: the URL returned an HTML page, not a feed")
    assert failures[1].startswith("✗ instabil: HTTP 500 Internal Server Error")
    assert "2 sources: 0 new, 0 updated, 0 unchanged, 2 failed" in result.stdout
    assert cli.items_json() == []


def test_scan_with_an_invalid_sources_file_exits_2_without_traceback(cli):
    (cli.folder / "sources.yaml").write_text(
        "sources:\n  - id: lansbibliotek\n    name: Länsbiblioteket\n"
        "    url: https://lansbibliotek.example.se/feed\n    intervall: 1h\n", encoding="utf-8")
    result = cli("scan", *cli.config())
    assert result.exit_code == 2
    assert "sources.yaml:5: sources[0].intervall: unknown key — did you mean `interval`?" in (
        result.stderr)
    assert "Traceback" not in result.output


def test_scan_unknown_source_is_a_clear_error(cli, http_server):
    cli.sources(cli.source("lansbibliotek", "/lan.rss"))
    result = cli("scan", *cli.config(), "--source", "finns-inte")
    assert result.exit_code == 2
    assert "error: unknown source 'finns-inte': it is not in sources.yaml" in result.stderr
    assert "lansbibliotek" in result.stderr


# --- sources check / list / schema --------------------------------------------------------------


def test_sources_check_ok(cli, http_server):
    path = cli.sources(cli.source("lansbibliotek", "/lan.rss"),
                       cli.source("avstangd", "/x.rss", enabled=False))
    result = cli("sources", "check", *cli.config())
    assert result.exit_code == 0, result.output
    assert f"{path}: ok — 2 sources (1 enabled)" in result.stdout


def test_sources_check_reports_every_problem_with_file_line_and_hint(cli, tmp_path):
    path = tmp_path / "andra-kallor.yaml"
    path.write_text(
        "sources:\n"
        "  - id: lansbibliotek\n"
        "    name: Länsbiblioteket\n"
        "    url: https://lansbibliotek.example.se/feed\n"
        "    intervall: 1h\n"
        "  - id: lansbibliotek\n"
        "    name: Länsbiblioteket igen\n"
        "    url: https://lansbibliotek.example.se/feed2\n"
        "    interval: 1 timme\n", encoding="utf-8")

    result = cli("sources", "check", str(path))

    assert result.exit_code == 2
    assert f"{path}: 3 problems" in result.stderr
    assert f"{path}:5: sources[0].intervall: unknown key — did you mean `interval`?" in (
        result.stderr)
    assert f"{path}:6: sources[1].id: duplicate id 'lansbibliotek' — also used at line 2" in (
        result.stderr)
    assert f"{path}:9: sources[1].interval: '1 timme' is not a duration" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("text, line, words", [
    ("sources:\n  - id: lansbibliotek\n    name Länsbiblioteket\n"
     "    url: https://lansbibliotek.example.se/feed\n", 3, "missing its colon"),
    ("sources:\n  - id: lansbibliotek\n\tname: Länsbiblioteket\n", 3, "tab"),
    ("sources:\n  - id: \"lansbibliotek\n    name: Länsbiblioteket\n", None, "invalid YAML"),
])
def test_sources_check_invalid_yaml_syntax(cli, text, line, words):
    path = cli.folder / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("sources", "check", *cli.config())
    assert result.exit_code == 2, result.output
    assert f"{path}: 1 problem" in result.stderr
    location = f"{path}:{line}:" if line else f"{path}:"
    assert location in result.stderr and words in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_sources_check_of_a_missing_file(cli, tmp_path):
    result = cli("sources", "check", "--config", str(tmp_path / "finns-inte"))
    assert result.exit_code == 2
    assert "sources.yaml: not found; create it or pass --config DIR" in result.stderr


def test_sources_check_fetch_prints_items_and_stores_nothing(cli, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/kort.rss", body=feed("utan-lank-och-datum.rss"), headers=RSS)
    cli.sources(cli.source("lansbibliotek", "/lan.rss"), cli.source("skolbibliotek", "/kort.rss"))
    assert cli.items_json() == []

    result = cli("sources", "check", *cli.config(), "--fetch", "lansbibliotek")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"lansbibliotek: HTTP 200 ok from {http_server.url('/lan.rss')}" in out
    assert ("format rss20, feed title 'Länsbiblioteket – nyheter', 2 entries, 2 would be stored, "
            "0 filtered or duplicate (nothing was stored)") in out
    assert "Ny fortbildning i källkritik för bibliotekspersonal" in out
    assert "https://lansbibliotek.example.se/nyheter/lasframjande-natverk" in out
    assert "2026-11-16 08:30" in out  # shown in Europe/Stockholm

    undated = cli("sources", "check", *cli.config(), "--fetch", "skolbibliotek")
    assert undated.exit_code == 0 and "(no date: fetch time used)" in undated.stdout

    assert cli.items_json() == []
    listed = cli("sources", "list", *cli.config()).stdout
    for source_id in ("lansbibliotek", "skolbibliotek"):  # no success, streak, items or schedule
        assert table_row(listed, source_id)[1:] == ["yes", "—", "0", "0", "0", "—", ""]


def test_sources_check_fetch_of_a_broken_source_exits_1_with_the_reason(cli, http_server):
    http_server.route("/trasig.xml", body=feed("trasig.xml"), headers=RSS)
    http_server.route("/saknas.rss", status=404)
    cli.sources(cli.source("bokbussen", "/trasig.xml"), cli.source("saknad", "/saknas.rss"))

    broken = cli("sources", "check", *cli.config(), "--fetch", "bokbussen")
    assert broken.exit_code == 1
    assert "✗ bokbussen: the feed XML is broken" in broken.stdout
    assert "line 5" in broken.stdout and "feed validator" in broken.stdout

    missing = cli("sources", "check", *cli.config(), "--fetch", "saknad")
    assert missing.exit_code == 1 and "✗ saknad: HTTP 404 Not Found" in missing.stdout

    unknown = cli("sources", "check", *cli.config(), "--fetch", "okand")
    assert unknown.exit_code == 2 and "unknown source 'okand'" in unknown.stderr
    assert cli.items_json() == []


def test_sources_list_shows_health_columns(cli, http_server):
    now = datetime.now(timezone.utc)
    http_server.route("/utv.rss", body=dated_feed(now), headers=RSS)
    http_server.route("/saknas.rss", status=404)
    http_server.route("/borta.rss", status=410)
    http_server.route("/ny.rss", body=feed("stadsbibliotek.atom"), headers=RSS)
    http_server.route("/gammal.rss", handler=redirect("/ny.rss", status=301))
    cli.sources(cli.source("utveckling", "/utv.rss"),
                cli.source("kommunbibliotek", "/saknas.rss"),
                cli.source("nedlagd", "/borta.rss"),
                cli.source("stadsbibliotek", "/gammal.rss"),
                cli.source("avstangd", "/utv.rss", enabled=False))
    assert cli("scan", *cli.config()).exit_code == 1

    result = cli("sources", "list", *cli.config())

    assert result.exit_code == 0, result.output
    out = result.stdout
    [header] = lines_with(out, "last success")
    for column in ("id", "enabled", "last success", "streak", "7d", "30d", "next fetch",
                   "last error"):
        assert column in header
    ok = table_row(out, "utveckling")
    assert ok[1] == "yes" and ok[2] != "—" and ok[6] != "—" and ok[7] == ""
    assert ok[3:6] == ["0", "1", "2"]  # streak 0; one item in the last 7 days, two in 30
    missing = table_row(out, "kommunbibliotek")
    assert (missing[1:6], missing[7]) == (["yes", "—", "1", "0", "0"], "http_404")
    gone = table_row(out, "nedlagd")
    assert (gone[1], gone[3], gone[7]) == ("no (410 gone)", "1", "http_410")
    moved = table_row(out, "stadsbibliotek")
    assert moved[7] == f"moved to {http_server.url('/ny.rss')} — update sources.yaml"
    assert table_row(out, "avstangd")[1:4] == ["no", "—", "0"]

    # The 410 source is not scanned again, not even with --all.
    again = cli("scan", *cli.config(), "--all")
    assert "nedlagd" not in again.output and http_server.hits["/borta.rss"] == 1


def test_sources_schema_prints_json_schema(cli):
    result = cli("sources", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "sources" in schema["properties"] and "sources" in schema["required"]
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema == config.sources_json_schema()


# --- items --------------------------------------------------------------------------------------


def test_items_json_fields_and_formats(cli, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    cli.sources(cli.source("lansbibliotek", "/lan.rss", tags=["kompetens-ledarskap"]))
    assert cli("scan", *cli.config()).exit_code == 0

    items = cli.items_json()

    assert len(items) == 2
    assert all(JSON_FIELDS <= set(item) for item in items)
    newest = items[0]
    assert newest["title"] == "Läsfrämjande nätverk träffas i Örebro"
    assert newest["published"] == "2026-11-18T12:00:00Z"
    assert ISO_Z.match(newest["fetched"]), newest["fetched"]
    assert (newest["source"], newest["sources"], newest["lang"]) == (
        "lansbibliotek", ["lansbibliotek"], "sv")
    assert {"kompetens-ledarskap", "lasframjande"} <= set(newest["tags"])  # source + automatic
    details = {t["id"]: t for t in newest["tag_details"]}
    assert details["kompetens-ledarskap"]["origin"] == "source"
    assert "läsfrämj" in details["lasframjande"]["why"] and newest["relevant"] is True
    assert newest["url"] == "https://lansbibliotek.example.se/nyheter/lasframjande-natverk"
    assert newest["summary"].startswith("Nätverket för läsfrämjande samlas")
    assert (newest["date_missing"], newest["revision"]) == (False, 1)
    assert isinstance(newest["id"], int)

    table = cli("items", *cli.config())
    assert table.exit_code == 0
    assert "Läsfrämjande nätverk träffas i Örebro" in table.stdout
    assert "2026-11-18 13:00" in table.stdout  # Europe/Stockholm


def test_items_since_age_date_and_bad_value(cli, http_server):
    now = datetime.now(timezone.utc)
    http_server.route("/utv.rss", body=dated_feed(now), headers=RSS)
    http_server.route("/lan.rss", body=feed("lansbibliotek-2.rss"), headers=RSS)
    cli.sources(cli.source("utveckling", "/utv.rss"), cli.source("lansbibliotek", "/lan.rss"))
    assert cli("scan", *cli.config()).exit_code == 0

    recent = cli.items_json("--source", "utveckling", "--since", "7d")
    assert [i["title"] for i in recent] == ["Ny statistik: fler besök på folkbiblioteken"]
    assert len(cli.items_json("--source", "utveckling", "--since", "30d")) == 2
    assert len(cli.items_json("--source", "utveckling", "--since", "72h")) == 1

    titles = [i["title"] for i in cli.items_json("--source", "lansbibliotek",
                                                  "--since", "2026-11-17")]
    assert titles == ["Meröppna bibliotek: ny vägledning om bemanning",
                      "Läsfrämjande nätverk träffas i Örebro"]
    assert len(cli.items_json("--source", "lansbibliotek", "--since", "2026-11-16")) == 3
    assert cli.items_json("--source", "lansbibliotek", "--since", "2026-11-21") == []

    for bad in ("igår", "2026-13-45", "7 dagar"):
        result = cli("items", *cli.config(), "--since", bad)
        assert result.exit_code == 2, result.output
        assert f"'{bad}' is neither a date (2026-11-16) nor an age (7d, 12h)" in result.stderr
        assert "--since" in result.stderr and "Traceback" not in result.output


def test_items_since_a_date_means_midnight_in_stockholm(cli, http_server):
    http_server.route("/natt.rss", body=feed("midnatt.rss"), headers=RSS)
    cli.sources(cli.source("nattoppet", "/natt.rss"))
    assert cli("scan", *cli.config()).exit_code == 0
    table = cli("items", *cli.config())
    assert "2026-11-16 00:30" in table.stdout  # how the item is shown
    titles = [i["title"] for i in cli.items_json("--since", "2026-11-16")]
    assert titles == ["Bokcirkel för nattugglor startar"]


def test_items_limit_and_unknown_source(cli, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-2.rss"), headers=RSS)
    cli.sources(cli.source("lansbibliotek", "/lan.rss"))
    assert cli("scan", *cli.config()).exit_code == 0

    assert [i["title"] for i in cli.items_json("--limit", "1")] == [
        "Meröppna bibliotek: ny vägledning om bemanning"]
    assert len(cli.items_json("--limit", "2")) == 2
    assert cli("items", *cli.config(), "--limit", "0").exit_code == 2

    unknown = cli("items", *cli.config(), "--source", "okand-kalla")
    assert unknown.exit_code == 2
    assert ("error: unknown source 'okand-kalla': it is not in sources.yaml "
            "(known ids include: lansbibliotek)") in unknown.stderr
    assert "Traceback" not in unknown.output


# --- settings and the config folder -------------------------------------------------------------


def test_settings_masks_secrets(cli):
    result = cli("settings", env={
        "SCANNER_DATABASE_URL": "postgresql+psycopg://scanner:hemligt-losen@db.example.se/scanner",
        "SCANNER_SECRET_KEY": "supersecret-signing-key"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "hemligt-losen" not in out and "supersecret-signing-key" not in out
    assert "SCANNER_DATABASE_URL=postgresql+psycopg://***@db.example.se/scanner" in out
    assert "SCANNER_SECRET_KEY=***" in out
    assert "SCANNER_TIMEOUT=2.0" in out and "SCANNER_CONCURRENCY=" in out
    assert len(lines_with(out, "(default:")) == len(lines_with(out, "SCANNER_"))


def test_settings_masks_a_password_given_as_url_parameter(cli):
    result = cli("settings", env={"SCANNER_DATABASE_URL":
                                  "postgresql+psycopg://db.example.se/scanner?user=scanner"
                                  "&password=hemligt-losen"})
    assert result.exit_code == 0
    assert "hemligt-losen" not in result.stdout


def test_invalid_setting_is_a_clear_error(cli):
    result = cli("settings", env={"SCANNER_TIMEOUT": "snabbt"})
    assert result.exit_code == 2
    assert "SCANNER_TIMEOUT" in result.stderr and "Traceback" not in result.output


def test_config_option_and_environment_variable_choose_the_folder(tmp_path, http_server):
    """Default database under the config folder (var/scanner.db): SQLite only."""
    folder = tmp_path / "bevakning"
    folder.mkdir()
    cli = Cli(folder, None, http_server)
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    cli.sources(cli.source("lansbibliotek", "/lan.rss"))

    by_option = cli("scan", "--config", str(folder))
    assert by_option.exit_code == 0, by_option.output
    assert (folder / "var" / "scanner.db").exists()

    by_env = cli("items", "--format", "json", env={"SCANNER_CONFIG_DIR": str(folder)})
    assert by_env.exit_code == 0, by_env.output
    assert len(json.loads(by_env.stdout)) == 2
    checked = cli("sources", "check", env={"SCANNER_CONFIG_DIR": str(folder)})
    assert f"{folder / 'sources.yaml'}: ok — 1 sources (1 enabled)" in checked.stdout

    # --config wins over the environment variable.
    other = tmp_path / "annan"
    other.mkdir()
    mixed = cli("sources", "check", "--config", str(folder),
                env={"SCANNER_CONFIG_DIR": str(other)})
    assert mixed.exit_code == 0 and str(folder / "sources.yaml") in mixed.stdout
    missing = cli("sources", "check", env={"SCANNER_CONFIG_DIR": str(other)})
    assert missing.exit_code == 2 and str(other / "sources.yaml") in missing.stderr


# --- demo ---------------------------------------------------------------------------------------


def test_demo_runs_offline_and_reports_the_shared_story(tmp_path):
    cli = Cli(tmp_path, None, None)

    result = cli("demo", "--config", str(tmp_path))

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert re.search(r"Demo: 8 bundled sources served on 127\.0\.0\.1, \d+ items stored "
                     r"\(\d+ in the archive\), 0 failed\.", out), out
    assert "one story, several sources: '" in out
    demo_folder = tmp_path / "var" / "demo"
    assert (demo_folder / "var" / "scanner.db").exists()
    items = json.loads(cli("items", "--config", str(demo_folder), "--format", "json",
                           "--limit", "1000").stdout)
    assert any(len(item["sources"]) > 1 for item in items)


def test_demo_runs_offline_even_where_proxy_variables_are_set(tmp_path):
    proxy = f"http://127.0.0.1:{closed_port()}"
    cli = Cli(tmp_path, None, None)
    result = cli("demo", "--config", str(tmp_path),
                 env={"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy})
    assert result.exit_code == 0, result.output


def test_commands_named_in_fix_hints_exist(cli, http_server):
    http_server.route("/start.html", body=feed("startsida.html"), headers=HTML)
    cli.sources(cli.source("kommunbibliotek", "/start.html"))
    result = cli("scan", *cli.config())
    named = set(re.findall(r"scanner sources (\w+)", result.stdout))
    assert named, result.stdout
    for command in named:
        assert cli("sources", command, "--help").exit_code == 0, command


# --- the installed console script in a subprocess -----------------------------------------------


def script_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k.upper() not in PROXY_VARIABLES and not k.startswith("SCANNER_")}
    env.update(extra)
    return env


def run_script(*args: str, cwd: Path, env: dict, timeout: float = 120):
    return subprocess.run([str(SCANNER_SCRIPT), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def test_console_script_scans_and_lists_items(tmp_path, database_url, http_server):
    assert SCANNER_SCRIPT.exists(), f"{SCANNER_SCRIPT} missing: pip install -e '.[dev]'"
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/saknas.rss", status=404)
    write_sources(tmp_path, {"id": "lansbibliotek", "url": http_server.url("/lan.rss")},
                  {"id": "kommunbibliotek", "url": http_server.url("/saknas.rss")})
    env = script_env(SCANNER_DATABASE_URL=database_url, SCANNER_TIMEOUT="2",
                     SCANNER_CONNECT_TIMEOUT="1", NO_PROXY="127.0.0.1,localhost")

    scanned = run_script("scan", "--config", str(tmp_path), cwd=tmp_path, env=env)

    assert scanned.returncode == 1, scanned.stdout + scanned.stderr
    assert "scanned lansbibliotek: 2 new, 0 updated, 0 unchanged (ok)" in scanned.stderr
    assert "scanned kommunbibliotek: FAILED [http_404]" in scanned.stderr
    assert "2 sources: 2 new, 0 updated, 0 unchanged, 1 failed" in scanned.stdout
    assert "Traceback" not in scanned.stdout + scanned.stderr

    listed = run_script("items", "--format", "json", cwd=tmp_path,
                        env={**env, "SCANNER_CONFIG_DIR": str(tmp_path)})
    assert listed.returncode == 0, listed.stderr
    assert sorted(i["title"] for i in json.loads(listed.stdout)) == [
        "Läsfrämjande nätverk träffas i Örebro",
        "Ny fortbildning i källkritik för bibliotekspersonal"]


@pytest.mark.parametrize("robots", ["true", "false"])
def test_without_network_scan_all_of_the_shipped_sources_fails_fast_and_clearly(tmp_path, robots):
    """"On a machine without network, `scanner scan --all` with the shipped sources ends quickly
    with exit 3 and one clear line per source — no traceback." Every connection, robots.txt
    included, goes to a proxy on a closed loopback port, so nothing reaches the internet."""
    shutil.copy(ROOT / "sources.yaml", tmp_path / "sources.yaml")
    enabled = [s.id for s in config.load_sources(tmp_path / "sources.yaml").enabled]
    assert enabled
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = script_env(HTTP_PROXY=proxy, HTTPS_PROXY=proxy, ALL_PROXY=proxy,
                     http_proxy=proxy, https_proxy=proxy, all_proxy=proxy,
                     SCANNER_RESPECT_ROBOTS=robots)

    started = time.monotonic()
    result = run_script("scan", "--all", cwd=tmp_path, env=env, timeout=90)
    elapsed = time.monotonic() - started

    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "Traceback" not in output
    failures = lines_with(result.stdout, "✗")
    assert len(failures) == len(enabled), output
    for source_id in enabled:
        [line] = [f for f in failures if f.startswith(f"✗ {source_id}: ")]
        assert "sources.yaml" in line or "SCANNER_" in line, line  # names a fix
        assert len(lines_with(result.stderr, f"scanned {source_id}: FAILED [")) == 1
    assert f"{len(enabled)} sources: 0 new, 0 updated, 0 unchanged, {len(enabled)} failed" in (
        result.stdout)
    assert elapsed < 60, elapsed
