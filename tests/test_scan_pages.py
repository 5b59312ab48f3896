"""Page sources through a whole scan cycle: list pages and watched pages end in the archive."""

from datetime import datetime, timedelta, timezone

from scanner.core import Scanner
from scanner.settings import Settings
from tests.test_core import clean_environment  # noqa: F401 - autouse fixture

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
LIST_PAGE = """<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Nyheter</title>
</head><body><nav><ul><li><a href="/">Hem</a></li><li><a href="/kontakt">Kontakt</a></li></ul></nav>
<main><h1>Nyheter från regionbiblioteket</h1><ul class="nyheter">
<li class="nyhet"><h2><a href="/nyheter/bokstart">Bokstart växer i länet</a></h2>
<span class="datum">den 17 november 2026</span>
<p class="ingress">Fler kommuner erbjuder Bokstart och läsfrämjande hembesök för småbarnsfamiljer.</p></li>
<li class="nyhet"><h2><a href="/nyheter/biblioteksplan">Ny regional biblioteksplan på remiss</a></h2>
<span class="datum">2026-11-18</span>
<p class="ingress">Förslaget till regional biblioteksplan skickas nu på remiss till länets kommuner.</p></li>
</ul></main></body></html>"""
PAGE_V1 = """<!doctype html><html lang="sv"><head><meta charset="utf-8"><title>Strategi</title></head>
<body><main><h1>Regional biblioteksstrategi</h1>
<p>Regionbiblioteket arbetar för likvärdig biblioteksverksamhet i hela länet.</p>
<p>Strategin lyfter läsfrämjande, digital delaktighet och samverkan mellan kommunerna.</p>
<p>Senast uppdaterad: den 2 november 2026</p></main></body></html>"""
PAGE_V2 = PAGE_V1.replace(
    "<p>Senast uppdaterad: den 2 november 2026</p>",
    "<p>Nytt avsnitt: strategin omfattar nu även skolbibliotekens roll i läsfrämjandet och en "
    "plan för biblioteken i civil beredskap.</p><p>Senast uppdaterad: den 20 november 2026</p>")


def scanner_for(tmp_path, database_url, http_server) -> Scanner:
    list_url = http_server.route("/nyheter", body=LIST_PAGE.encode(),
                                 headers={"Content-Type": "text/html; charset=utf-8"})
    page_url = http_server.route("/strategi", body=PAGE_V1.encode(),
                                 headers={"Content-Type": "text/html; charset=utf-8"})
    (tmp_path / "sources.yaml").write_text(f"""sources:
  - id: regionbiblioteket
    name: Regionbiblioteket
    url: '{list_url}'
    kind: html
    selectors: {{item: li.nyhet, title: h2 a, link: h2 a, date: .datum, summary: .ingress}}
  - id: strategin
    name: Regional biblioteksstrategi
    url: '{page_url}'
    kind: page
""", encoding="utf-8")
    return Scanner(Settings(config_dir=tmp_path, database_url=database_url, timeout=5))


def test_list_page_and_watched_page_are_stored_and_tagged(tmp_path, database_url, http_server):
    scanner = scanner_for(tmp_path, database_url, http_server)
    report = scanner.scan(all_sources=True, now=NOW)
    items = {i.title: i for i in scanner.latest_items()}
    scanner.close()
    assert report.exit_code == 0, [r.message for r in report.results]
    bokstart = items["Bokstart växer i länet"]
    assert bokstart.url.endswith("/nyheter/bokstart") and not bokstart.date_missing
    assert bokstart.published.date().isoformat() == "2026-11-16"  # midnight in Stockholm
    assert "lasframjande" in bokstart.tags and bokstart.relevant is True
    assert any(title.startswith("Ny bevakad sida") for title in items)


def test_a_watched_page_records_a_change_only_when_it_matters(tmp_path, database_url,
                                                              http_server):
    scanner = scanner_for(tmp_path, database_url, http_server)
    scanner.scan(all_sources=True, now=NOW)
    first = scanner.store.count_items()
    http_server.route("/strategi", body=PAGE_V1.replace("2 november", "3 november").encode(),
                      headers={"Content-Type": "text/html; charset=utf-8"})
    scanner.scan(["strategin"], now=NOW + timedelta(hours=2))
    unchanged = scanner.store.count_items()
    http_server.route("/strategi", body=PAGE_V2.encode(),
                      headers={"Content-Type": "text/html; charset=utf-8"})
    scanner.scan(["strategin"], now=NOW + timedelta(hours=4))
    changed = [i for i in scanner.latest_items() if i.title.startswith("Ändrad sida")]
    scanner.close()
    assert unchanged == first and len(changed) == 1
    assert "skolbibliotek" in changed[0].summary


def test_a_list_page_whose_selectors_match_nothing_fails_with_a_hint(tmp_path, database_url,
                                                                     http_server):
    scanner = scanner_for(tmp_path, database_url, http_server)
    http_server.route("/nyheter", body=LIST_PAGE.replace("nyhet\"", "artikel\"").encode(),
                      headers={"Content-Type": "text/html; charset=utf-8"})
    report = scanner.scan(["regionbiblioteket"], now=NOW)
    [health] = [h for h in scanner.source_health(NOW) if h.source_id == "regionbiblioteket"]
    scanner.close()
    [result] = report.results
    assert result.error_key == "no_items" and "li.artikel" in result.message
    assert health.error_streak == 1
