"""kind: page — a watched strategy page: main text, fingerprint, and a Swedish change summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.parse.page import (
    PageText,
    drop_volatile_lines,
    extract_page_text,
    page_change,
    page_fingerprint,
)

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"
URL = "https://www.regionorebrolan.se/kultur-och-fritid/regionbiblioteket/biblioteksplan.html"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def page(name: str) -> PageText:
    return extract_page_text((PAGES / name).read_bytes(), HTML, URL)


def edited(text: str, old: str, new: str) -> PageText:
    changed = text.replace(old, new)
    assert changed != text
    return PageText("t", changed, page_fingerprint(changed))


def test_main_text_without_navigation_footer_banner_and_volatile_lines():
    v1 = page("strategi-v1.html")
    assert v1.title == "Regional biblioteksplan 2021–2024 - Region Örebro län"
    assert v1.text.splitlines()[0] == "Regional biblioteksplan 2021–2024"
    assert "Planen har fyra prioriterade områden" in v1.text
    assert v1.text.splitlines()[-1] == ("Planen följs upp årligen i dialog med biblioteksråden i "
                                        "kommunerna. Resultaten redovisas för regionens "
                                        "kulturnämnd.")
    for gone in ("Hem", "Kontakt", "kakor", "cookies", "Senast uppdaterad", "visats", "Box 1613",
                 "granskades", "Start /"):
        assert gone not in v1.text, gone
    assert len(v1.fingerprint) == 64 and not v1.failed


def test_only_a_new_date_and_counter_is_no_change():
    v1, v2 = page("strategi-v1.html"), page("strategi-v2-datum.html")
    assert v1.fingerprint == v2.fingerprint
    assert page_change(v1.text, v2) is None


def test_a_new_paragraph_is_summarised_in_swedish():
    v1, v3 = page("strategi-v1.html"), page("strategi-v3-nytt-stycke.html")
    assert v1.fingerprint != v3.fingerprint
    change = page_change(v1.text, v3)
    assert change is not None and not change.first
    assert change.added == ("Nytt för 2022", "Från och med 2022 ingår även meröppna bibliotek i "
                            "planen. Regionbiblioteket tar fram en vägledning för kommuner som "
                            "vill införa meröppet.")
    assert change.removed == () and change.changed == ()
    assert change.summary == (
        "Nytt stycke: ”Nytt för 2022”\n"
        "Nytt stycke: ”Från och med 2022 ingår även meröppna bibliotek i planen. "
        "Regionbiblioteket tar fram en vägledning för kommuner som vill införa meröppet.”\n"
        f"Ungefär {round(change.ratio * 100)} % av texten har ändrats.")
    assert 0.1 < change.ratio < 0.3


def test_a_removed_paragraph_is_reported():
    v3, v1 = page("strategi-v3-nytt-stycke.html"), page("strategi-v1.html")
    change = page_change(v3.text, v1)
    assert change.summary.startswith("Borttaget: ”Nytt för 2022”\nBorttaget: ”Från och med 2022")


def test_a_changed_sentence_is_shown_old_and_new():
    v1 = page("strategi-v1.html")
    new = edited(v1.text, "Resultaten redovisas för regionens kulturnämnd.",
                 "Resultaten redovisas varje höst för regionens kultur- och fritidsnämnd.")
    change = page_change(v1.text, new)
    assert change.changed == (("Resultaten redovisas för regionens kulturnämnd.",
                               "Resultaten redovisas varje höst för regionens kultur- och "
                               "fritidsnämnd."),)
    assert change.summary.splitlines()[0] == (
        "Ändrat: ”Resultaten redovisas för regionens kulturnämnd.” → ”Resultaten redovisas "
        "varje höst för regionens kultur- och fritidsnämnd.”")


def test_a_new_sentence_in_a_paragraph_counts_even_when_small():
    v1 = page("strategi-v1.html")
    new = edited(v1.text, "beslutad av regionfullmäktige.",
                 "beslutad av regionfullmäktige. Den gäller alla tolv kommuner.")
    change = page_change(v1.text, new, threshold=0.5)
    assert change is not None
    assert change.summary.startswith("Ny mening: ”Den gäller alla tolv kommuner.”")


def test_a_typo_fix_below_the_threshold_is_no_change():
    v1 = page("strategi-v1.html")
    new = edited(v1.text, "kompetensutveckling för personalen", "kompetensutveckling för personal")
    assert page_change(v1.text, new) is None
    assert page_change(v1.text, new, threshold=0.0) is not None


def test_first_version_is_a_change_marked_first():
    v1 = page("strategi-v1.html")
    change = page_change(None, v1)
    assert change.first and change.ratio == 1.0
    assert change.summary == "Sidan bevakas från och med nu: ”Regional biblioteksplan 2021–2024”"


def test_numbers_and_dates_inside_sentences_do_not_count():
    old = "Biblioteket har 1 234 besökare i veckan.\nÖppet till och med 13 januari 2021 för alla."
    new = "Biblioteket har 1 877 besökare i veckan.\nÖppet till och med 2 mars 2021 för alla."
    assert page_fingerprint(old) == page_fingerprint(new)
    assert page_change(old, PageText("t", new, page_fingerprint(new))) is None


@pytest.mark.parametrize("line, dropped", [
    ("Senast uppdaterad: den 13 januari 2021", True),
    ("Publicerad 2021-01-13 14:30", True),
    ("Sidan har visats 1 234 gånger", True),
    ("Visningar: 1234", True),
    ("4 567 visningar", True),
    ("13 januari 2021", True),
    ("1 234", True),
    ("Sidansvarig: Anna Svensson", True),
    ("Uppdaterad information om bibliotekslagen och vad den betyder för kommunerna", False),
    ("Planen publicerades 2021 efter ett långt remissarbete i kommunerna.", False),
    ("Bakgrund", False),
])
def test_volatile_lines(line, dropped):
    assert (drop_volatile_lines(line) == "") is dropped


@pytest.mark.parametrize("name, key", [("inloggning.html", "login_wall"),
                                       ("kakvagg.html", "cookie_wall")])
def test_walls_are_not_watched(name, key):
    result = page(name)
    assert result.failed and result.error_key == key and result.text == ""


def test_a_feed_is_not_a_page():
    result = extract_page_text(b'<?xml version="1.0"?><rss version="2.0"/>', {}, URL)
    assert result.error_key == "not_html" and "kind: feed" in result.message


def test_a_short_page_without_an_article_still_has_text():
    body = "<html><body><p>Ansök senast 1 mars.</p><p>Kontakta regionbiblioteket.</p></body></html>"
    result = extract_page_text(body.encode(), HTML, URL)
    assert result.text == "Ansök senast 1 mars.\nKontakta regionbiblioteket."


def test_windows_1252_page_text():
    result = extract_page_text((PAGES / "windows-1252-odeklarerad.html").read_bytes(), {}, URL)
    assert "Läsfrämjande för äldre" in result.text and "Särna" in result.text


def test_a_sidebar_login_box_beside_content_is_no_wall():
    body = (PAGES / "strategi-v1.html").read_text("utf-8").replace(
        "</main>", '<div class="intranet"><form><label>Lösenord</label>'
        '<input type="password" name="pw"><button>Logga in</button></form></div></main>')
    result = extract_page_text(body.encode(), HTML, URL)
    assert not result.failed and "Prioriterade områden" in result.text
