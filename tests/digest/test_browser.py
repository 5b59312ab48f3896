"""The rendered digest in a real browser (headless Chromium): what a reader actually sees."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.digest.test_render import rendered
from tests.digest.week import STAFF, STAFF_MEMBER

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install -y chromium)")

# Added to a copy of the email (the email itself has no script): writes what the page shows —
# innerText leaves out hidden elements — and every link's text and address into the DOM.
PROBE = """<script>
const seen = document.body.innerText;
const links = Array.from(document.links).map(a => a.innerText.trim() + " -> " + a.href);
document.body.insertAdjacentHTML("beforeend", "<pre id=seen></pre><pre id=links></pre>");
document.getElementById("seen").textContent = seen;
document.getElementById("links").textContent = links.join("\\n");
</script>"""


def chromium(tmp_path: Path, *args: str) -> str:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
               *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_reader_sees_the_headings_titles_and_links(tmp_path):
    digest = rendered(STAFF, STAFF_MEMBER)
    page = tmp_path / "digest.html"
    page.write_text(digest.html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = BeautifulSoup(chromium(tmp_path, "--dump-dom", page.as_uri()), "html.parser")
    seen = dom.find(id="seen").get_text()
    links = dom.find(id="links").get_text().splitlines()
    for heading in ("Omvärldsbevakning för regionbiblioteket", "Veckans viktigaste",
                    "Läsfrämjande och litteratur", "Ökande ämnen", "Källor med problem"):
        assert heading in seen
    assert seen.index("Veckans viktigaste") < seen.index("Ökande ämnen") < \
        seen.index("Källor med problem")
    for entry in digest.content.entries:
        assert f"{entry.title} -> {entry.url}" in links
    assert digest.content.entries[0].title + " · " not in seen  # the preheader stays hidden
    assert seen.count("Ja, relevant") == len(digest.content.entries)
    assert any(line.startswith("Sök och bläddra bland alla nyheter i arkivet -> https://omvarld"
                               ".example.se/") for line in links)
    assert any(line.startswith("Avsluta prenumerationen på") for line in links)


def test_a_screenshot_shows_the_email_at_desktop_and_phone_width(tmp_path):
    page = tmp_path / "digest.html"
    page.write_text(rendered().html, encoding="utf-8")
    for width in (700, 390):
        shot = tmp_path / f"digest-{width}.png"
        chromium(tmp_path, f"--window-size={width},1600", f"--screenshot={shot}", page.as_uri())
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (width, 1600)
        assert len(data) > 30_000  # text and colour, not a blank page
