"""render_digest: golden emails (HTML and text), subjects, accessibility, Gmail's size limit.

Golden files live in tests/digest/golden/. After a deliberate change, regenerate them with
`SCANNER_REGEN_GOLDEN=1 python -m pytest tests/digest/test_render.py`, open the HTML in a
browser and read the text before committing them.
"""

import dataclasses
import itertools
import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from scanner.digest.definitions import Recipient
from scanner.digest.page import subject_line
from scanner.digest.render import MAX_MESSAGE_BYTES, render_digest
from scanner.digest.select import build_digest
from scanner.digest.tokens import read_token, read_unsubscribe_token
from tests.digest.week import (
    FAILING,
    HISTORY,
    MANAGER,
    MANAGERS,
    NOW,
    PUBLIC_URL,
    SECRET,
    SOURCES,
    STAFF,
    STAFF_MEMBER,
    STORIES,
    WEEK,
    at,
    item,
    taxonomy,
    week_items,
)

GOLDEN = Path(__file__).parent / "golden"


def rendered(definition=MANAGERS, recipient=MANAGER, items=None):
    content = build_digest(definition, week_items() if items is None else items, taxonomy(),
                           SOURCES, STORIES, HISTORY, FAILING, set(), recipient, NOW, WEEK)
    return render_digest(content, definition, recipient, PUBLIC_URL, SECRET, NOW)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SCANNER_REGEN_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with SCANNER_REGEN_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from the golden file; if the change is intended, regenerate with "
        "SCANNER_REGEN_GOLDEN=1 and review the result")


ENGLISH = dataclasses.replace(MANAGERS, language="en", title="News watch", top_count=2)
CASES = {"bibliotekschefer": (MANAGERS, MANAGER), "personal": (STAFF, STAFF_MEMBER),
         "english": (ENGLISH, MANAGER)}


@pytest.mark.parametrize("name", CASES)
def test_golden_rendering(name):
    digest = rendered(*CASES[name])
    check_golden(f"{name}.html", digest.html)
    check_golden(f"{name}.txt", digest.text)
    check_golden(f"{name}.subject.txt", digest.subject + "\n")


def test_subjects_in_swedish_and_english():
    assert rendered().subject == "Omvärldsbevakning vecka 47: 12 nyheter i 10 prioriterade områden"
    assert rendered(ENGLISH).subject == "News watch week 47: 12 news items in 10 priority areas"
    one = [item(1, "kb", "Ensam nyhet om bibliotekslagen", "", at(2),
                {"styrning-finansiering": 0.9})]
    assert rendered(items=one).subject == \
        "Omvärldsbevakning vecka 47: 1 nyhet i 1 prioriterat område"
    assert rendered(items=[]).subject == "Omvärldsbevakning vecka 47: inga nya nyheter"
    assert "Inga nya relevanta nyheter den här veckan." in rendered(items=[]).text


def test_html_is_accessible_and_every_item_is_there():
    digest = rendered(STAFF, STAFF_MEMBER)
    soup = BeautifulSoup(digest.html, "html.parser")
    assert soup.html["lang"] == "sv"
    assert soup.title.string == digest.subject
    assert [h.get_text() for h in soup.find_all("h1")] == [STAFF.title]
    headings = [h.get_text() for h in soup.find_all("h2")]
    assert headings[0] == "Veckans viktigaste"
    assert headings[-2:] == ["Ökande ämnen", "Källor med problem"]
    titles = [h.get_text() for h in soup.find_all("h3")]
    assert len(titles) == len(digest.content.entries) == 12
    for link in soup.find_all("a"):
        text = link.get_text().strip().lower()
        assert text and "klicka" not in text and text != "här", link
    assert not soup.find("style") and not soup.find("script")  # CSS is inlined


def test_text_has_the_same_stories_and_links_as_html():
    digest = rendered()
    soup = BeautifulSoup(digest.html, "html.parser")
    html_links = {a["href"] for a in soup.find_all("a")}
    text_links = set(re.findall(r"https://\S+", digest.text))
    assert html_links == text_links
    for entry in digest.content.entries:
        assert entry.title in digest.text and entry.url in html_links


def test_feedback_and_unsubscribe_links_carry_verifiable_tokens():
    digest = rendered()
    soup = BeautifulSoup(digest.html, "html.parser")
    feedback = [a["href"] for a in soup.find_all("a") if "/feedback/" in a["href"]]
    assert len(feedback) == 2 * len(digest.content.entries)
    claims = [read_token(url.rsplit("/", 1)[1], SECRET) for url in feedback]
    assert {c.item_id for c in claims} == {e.item_id for e in digest.content.entries}
    assert {(c.digest_id, c.week, c.email) for c in claims} == {
        ("bibliotekschefer", WEEK, MANAGER.email)}
    assert {c.verdict for c in claims} == {"relevant", "inte-relevant"}
    unsubscribe = soup.find("a", string=re.compile("Avsluta prenumerationen"))["href"]
    assert read_unsubscribe_token(unsubscribe.rsplit("/", 1)[1], SECRET).email == MANAGER.email
    assert soup.find("a", string=re.compile("arkivet"))["href"] == f"{PUBLIC_URL}/"


def _luminance(hex_color: str) -> float:
    channels = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _style(element, name: str) -> str | None:
    match = re.search(rf"(?:^|;)\s*{name}:\s*(#[0-9a-f]{{6}})", element.get("style", ""))
    return match[1] if match else None


def test_every_text_colour_has_enough_contrast_with_its_background():
    soup = BeautifulSoup(rendered(STAFF, STAFF_MEMBER).html, "html.parser")
    checked = 0
    for element in soup.find_all(style=re.compile("(^|;) *color:")):
        if "preheader" in (element.get("class") or []):
            continue  # hidden inbox preview text
        background = next((found for e in [element, *element.parents]
                           if hasattr(e, "get") and (found := _style(e, "background-color"))),
                          "#ffffff")
        ratio = _contrast(_style(element, "color"), background)
        assert ratio >= 4.5, (element.name, element.get("class"), ratio)
        checked += 1
    assert checked > 20


def huge_week(count: int = 600) -> list:
    """`count` stories with distinct titles spread over every tag, long summaries."""
    towns = ["Kiruna", "Luleå", "Umeå", "Östersund", "Sundsvall", "Gävle", "Falun", "Karlstad",
             "Örebro", "Västerås", "Uppsala", "Norrtälje", "Nyköping", "Linköping", "Jönköping",
             "Växjö", "Kalmar", "Visby", "Karlskrona", "Kristianstad"]
    verbs = ["satsar", "utreder", "startar", "förnyar", "utvärderar"]
    nouns = ["läsombud", "filialer", "bokbussar", "språkkaféer", "skolbibliotek", "meröppet"]
    tags = [tag.id for tag in taxonomy().tags]
    summary = ("Kommunen har beslutat om en ny plan som ska gälla i fyra år och som berör alla "
               "bibliotek i kommunen. " * 4)
    combos = itertools.islice(itertools.product(towns, verbs, nouns), count)
    return [item(i, list(SOURCES)[i % len(SOURCES)], f"{town} {verb} {noun}", summary,
                 at(i % 7, 8 + i % 12), {tags[i % len(tags)]: 0.4 + (i % 50) / 100})
            for i, (town, verb, noun) in enumerate(combos, start=1)]


def test_a_huge_week_is_trimmed_below_gmails_clipping_size():
    big = dataclasses.replace(STAFF, items_per_section=50)
    digest = rendered(big, STAFF_MEMBER, huge_week())
    content = digest.content
    assert digest.size <= MAX_MESSAGE_BYTES
    assert len(digest.html.encode()) + len(digest.text.encode()) < MAX_MESSAGE_BYTES
    full = build_digest(big, huge_week(), taxonomy(), SOURCES, STORIES, HISTORY, FAILING, set(),
                        STAFF_MEMBER, NOW, WEEK)
    assert content.omitted > 0 and content.entry_count + content.omitted == full.entry_count
    assert f"{content.omitted} nyheter med lägst rankning fick inte plats" in digest.text
    assert "fick inte plats i mejlet" in digest.html
    kept = {e.item_id for e in content.entries}
    dropped = [e for e in full.entries if e.item_id not in kept]
    assert len(dropped) == content.omitted
    assert max(e.rank for e in dropped) <= min(e.rank for e in content.entries)
    assert subject_line(content).startswith(f"Omvärldsbevakning för regionbiblioteket vecka 47: "
                                            f"{content.entry_count} nyheter")


def test_only_web_links_are_linked():
    odd = [item(1, "kb", "Länk som inte är en webbadress", "", at(2), {"demokrati": 0.9})]
    odd[0] = dataclasses.replace(odd[0], url="javascript:alert(1)")
    digest = rendered(items=odd)
    assert "javascript:" not in digest.html and "javascript:" not in digest.text
    assert "<h3>Länk som inte är en webbadress</h3>" in re.sub(r' style="[^"]*"', "",
                                                              digest.html)


def test_a_recipient_name_with_markup_is_escaped():
    sneaky = Recipient("<b>Anna</b>", "anna+<x>@example.se")
    digest = rendered(MANAGERS, sneaky)
    assert "<x>" not in digest.html and "&lt;x&gt;" in digest.html
