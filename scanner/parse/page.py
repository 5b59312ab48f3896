"""`kind: page` single pages to watch: main text, a fingerprint, and what changed.

    text = extract_page_text(body, headers, url)      # PageText(title, text, fingerprint)
    change = page_change(stored_text, text)           # PageChange | None (None: nothing to say)

The main text is trafilatura's (navigation, header, footer, cookie banners and forms removed
first), else the page's <main>/<article>/<body> text. Lines that change without the page
changing ("Senast uppdaterad …", "Sidan har visats 1 234 gånger", a date alone) are dropped from
the text; the fingerprint and the comparison also ignore dates and numbers-only words, so a
new date or a counter never counts as a change.

Also the HTML helpers html.py, article.py and discover.py share: load_html, detect_wall,
candidate_items (the page's repeated elements, for selector hints).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import lxml.html
from lxml import etree

from scanner.parse.dates import find_date_text
from scanner.parse.text import clean_line, decode_body, html_to_text, tidy_lines, trim_text

CHANGE_THRESHOLD = 0.02  # share of words; below it only a new sentence makes a change
SUMMARY_LINES = 5
LONG_STRETCH_WORDS = 4000  # a changed stretch longer than this is compared as bags of words
MAX_PAIRINGS = 2500  # changed paragraphs old x new; more is a rewrite, not edits
QUOTE_CHARS = 160
_FEED_START = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:rdf)\b",
                         re.I | re.S)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
_REGEX_NS = {"re": "http://exslt.org/regular-expressions"}
_BOX_WORDS = "cookie|consent|gdpr|samtycke|onetrust|cookiebot|cmplz"
_COOKIE_TEXT = re.compile(r"cookie|kakor", re.I)
_ACCEPT_TEXT = re.compile(r"acceptera|godkänn|tillåt|jag förstår|accept|allow", re.I)
_LOGIN_TEXT = re.compile(r"logga in|inloggning|log in|sign in|användarnamn|lösenord", re.I)
WALL_MESSAGES = {
    "login_wall": "the page is a login page (it asks for a password and has little else); "
    "scanner reads only public pages: use the site's public news page or its feed",
    "cookie_wall": "the page shows only a cookie banner ('Acceptera cookies') and almost no "
    "content; the site needs JavaScript or a consent cookie: use its feed or another page",
}
_BOILERPLATE = ("//script|//style|//noscript|//template|//nav|//aside|//form|//header[not("
                "ancestor::article or ancestor::main)]|//footer[not(ancestor::article or "
                "ancestor::main)]"
                "|//iframe|//*[@role='navigation' or @role='banner' or @role='contentinfo']"
                f"|//*[re:test(@id, '{_BOX_WORDS}|breadcrumb|skip', 'i') or "
                f"re:test(@class, '{_BOX_WORDS}|breadcrumb|share|social|sv-print', 'i')]")
# A line starting like this is dropped when it holds a date, a colon after the label, or is short.
_VOLATILE_LINE = re.compile(
    r"^(?:senast\s+(?:uppdaterad|ändrad|granskad)|uppdaterad|publicerad|sidan\s+"
    r"(?:uppdaterades|publicerades|granskades|ändrades)|granskad|ändrad|sidansvarig|"
    r"last\s+(?:updated|modified)|updated|published|dela(?:\s+sidan)?|skriv\s+ut|"
    r"till\s+toppen|hoppa\s+till)\b(?P<colon>\s*:)?", re.I)
_COUNTER = re.compile(
    r"(?:\d[\d\s.,]*\s*(?:visningar|sidvisningar|besök(?:are)?|läsningar|views|visits)\b)"
    r"|(?:(?:antal\s+)?(?:visningar|sidvisningar|besökare|views)\s*:?\s*\d)"
    r"|(?:(?:har\s+)?(?:visats|lästs|läst|visad)\s+\d[\d\s]*\s*gånger)", re.I)
_NUMBER_TOKEN = re.compile(r"(?<!\w)[\d\s.,:/–-]*\d(?!\w)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9\"”])")


@dataclass(frozen=True)
class PageText:
    """A watched page's main text (one paragraph a line, volatile lines removed) and the
    sha256 of its normalised form. error_key ("not_html", "login_wall", "cookie_wall") with a
    message when there is no text to watch."""

    title: str
    text: str
    fingerprint: str
    error_key: str | None = None
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_key is not None


@dataclass(frozen=True)
class PageChange:
    """What changed between two versions, for an item of its own: `summary` in Swedish, one
    line per change; `ratio` the share of words changed (0-1); first=True for the first
    version seen (nothing to compare with)."""

    summary: str
    ratio: float
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, str], ...] = ()  # (old sentence, new sentence)
    first: bool = False


# --------------------------------------------------------------------------- shared loading


def load_html(body: bytes, headers: Mapping[str, str]) -> tuple[etree._Element | None, tuple]:
    """The parsed document (lxml.html, forgiving of broken markup, any encoding decode_body
    knows) and encoding warnings; None when the body is not HTML (a feed, JSON, empty)."""
    decoded = decode_body(body, headers)
    text = _XML_DECLARATION.sub("", decoded.text, count=1).translate(_CONTROL)
    if not text.strip() or _FEED_START.match(text) or text.lstrip()[:1] in ("{", "["):
        return None, ()
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None, ()
    warnings = ()
    if decoded.mislabelled:
        warnings = (f"the page declares charset {decoded.declared} but its bytes are "
                    f"{decoded.encoding}; read as {decoded.encoding}",)
    return root, warnings


def not_html_message(body: bytes, headers: Mapping[str, str]) -> str:
    """Why load_html gave None, with the fix."""
    text = _XML_DECLARATION.sub("", decode_body(body[:2048], headers).text, count=1)
    if _FEED_START.match(text):
        return "the URL returned a feed, not a web page; set kind: feed for this source"
    if not text.strip():
        return "the server sent an empty page; open the URL in a browser to check it"
    return "the URL did not return an HTML page; check the URL in a browser"


def detect_wall(root: etree._Element) -> str | None:
    """"login_wall" or "cookie_wall" when the page is that and little else (WALL_MESSAGES)."""
    text = visible_text(root)
    words = len(text.split())
    forms = root.xpath("//form[.//input[@type='password']]")
    outside = words - sum(len(visible_text(form).split()) for form in forms)
    if (forms or root.xpath("//input[@type='password']")) and outside < 150:
        return "login_wall"  # a password box beside real content (a sidebar login) is no wall
    if words < 150 and _LOGIN_TEXT.search(text) and root.xpath("//form"):
        return "login_wall"
    boxes = root.xpath(f"//*[re:test(@id, '{_BOX_WORDS}', 'i') or "
                       f"re:test(@class, '{_BOX_WORDS}', 'i')]", namespaces=_REGEX_NS)
    outer = [box for box in boxes if not any(a in boxes for a in box.iterancestors())]
    banner = " ".join(visible_text(box) for box in outer)
    if not (_COOKIE_TEXT.search(banner) and _ACCEPT_TEXT.search(banner)):
        return None
    return "cookie_wall" if words - len(banner.split()) < 120 else None


def visible_text(element: etree._Element) -> str:
    """The element's text without scripts and styles, whitespace collapsed."""
    parts = element.xpath(".//text()[not(ancestor::script) and not(ancestor::style) and "
                          "not(ancestor::noscript) and not(ancestor::template)]")
    return " ".join(" ".join(parts).split())


def candidate_items(root: etree._Element, limit: int = 3) -> list[tuple[str, int]]:
    """The page's most repeated elements that hold a link, outside navigation, as (CSS, count):
    the likely `item` selectors, e.g. [("article", 12), ("li.news-item", 12)]."""
    chrome = set(root.xpath("//nav//*|//header//*|//footer//*|//*[@role='navigation']//*"))
    found: dict[str, list] = {}
    for element in root.iter(etree.Element):
        if element in chrome or element.tag in ("html", "body", "head", "a", "span", "p"):
            continue
        if not 1 <= len(element.xpath(".//a[@href]")) <= 8:  # an item, not a whole section
            continue
        names = [f"{element.tag}.{name}" for name in (element.get("class") or "").split()]
        if element.tag in ("article", "li", "tr", "section", "dd"):
            names.append(element.tag)
        for name in names:
            found.setdefault(name, []).append(element)
    ranked = sorted((pair for pair in found.items() if len(pair[1]) >= 2),
                    key=lambda pair: (-len(pair[1]), "." not in pair[0], len(pair[0])))
    return _distinct(ranked)[:limit]


def _distinct(ranked: list[tuple[str, list]]) -> list[tuple[str, int]]:
    """One name per set of elements, and none for elements nested in an earlier candidate's."""
    chosen, covered = [], set()
    for name, elements in ranked:
        if all(e in covered or any(a in covered for a in e.iterancestors()) for e in elements):
            continue
        covered.update(elements)
        chosen.append((name, len(elements)))
    return chosen


def main_text(root: etree._Element, url: str) -> str:
    """The page's main text, one paragraph a line: trafilatura on the page without its
    navigation, header, footer, forms and banners; the <main>/<article>/<body> text when
    trafilatura finds nothing or much less."""
    import trafilatura  # here, not at the top: importing it takes half a second

    tree = strip_boilerplate(root)
    fallback = plain_text(tree)
    extracted = trafilatura.extract(tree, url=url, include_comments=False, include_tables=True,
                                    favor_recall=True, deduplicate=False, with_metadata=False)
    return better_text(tidy_lines(extracted or ""), fallback)


def strip_boilerplate(root: etree._Element) -> etree._Element:
    """A copy of the document without navigation, page header and footer, asides, forms,
    scripts, cookie banners, breadcrumbs and share buttons (<head> and its meta tags stay)."""
    tree = copy.deepcopy(root)
    for element in tree.xpath(_BOILERPLATE, namespaces=_REGEX_NS):
        if element.getparent() is not None:
            element.drop_tree()
    return tree


def plain_text(tree: etree._Element) -> str:
    """The text of <main>, else <article>, else <body>, one block a line."""
    found = tree.xpath("//main|//*[@role='main']|//article") or tree.xpath("//body") or [tree]
    return html_to_text(etree.tostring(found[0], encoding="unicode"))


def better_text(extracted: str, fallback: str) -> str:
    """The extractor's text unless it kept less than half of the plain text."""
    return extracted if len(extracted) >= 0.5 * len(fallback) else fallback


# --------------------------------------------------------------------------- page text


def extract_page_text(body: bytes, headers: Mapping[str, str], url: str) -> PageText:
    """The watched page's title, main text and fingerprint; a PageText with error_key when the
    body is not HTML or is a login or cookie wall. Never raises."""
    root, _warnings = load_html(body, headers)
    if root is None:
        return PageText("", "", "", "not_html", not_html_message(body, headers))
    title = clean_line(root.findtext(".//title") or "")
    wall = detect_wall(root)
    if wall:
        return PageText(title, "", "", wall, WALL_MESSAGES[wall])
    text = drop_volatile_lines(main_text(root, url))
    return PageText(title, text, page_fingerprint(text))


def drop_volatile_lines(text: str) -> str:
    """Without "Senast uppdaterad …"-style lines, view counters and lines that are only a date
    or numbers."""
    return "\n".join(line for line in text.splitlines() if not _volatile(line))


def _volatile(line: str) -> bool:
    label = _VOLATILE_LINE.match(line)
    if label and (label.group("colon") or len(line.split()) <= 4 or find_date_text(line)):
        return True
    if _COUNTER.search(line) and len(line.split()) <= 8:
        return True
    return not _comparable(line)


def page_fingerprint(text: str) -> str:
    """sha256 (hex) of the text as compared: lower case, no dates, no numbers-only words."""
    normalised = "\n".join(filter(None, (_comparable(line) for line in text.splitlines())))
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def _comparable(line: str) -> str:
    """A line as compared: lower case, dates and numbers-only words removed, spaces collapsed."""
    span = find_date_text(line)
    while span is not None:
        line = line[: span[0]] + " " + line[span[1] :]
        span = find_date_text(line)
    line = _NUMBER_TOKEN.sub(" ", line.lower())
    words = [w for w in line.split() if any(c.isalnum() for c in w)]
    return " ".join(words) if len(words) > 1 or (words and len(words[0]) > 3) else ""


# --------------------------------------------------------------------------- change


def page_change(old_text: str | None, new: PageText,
                threshold: float = CHANGE_THRESHOLD) -> PageChange | None:
    """What changed from `old_text` (the stored PageText.text) to `new`; None when nothing
    meaningful did: fewer than `threshold` of the words changed, no new sentence and no
    paragraph removed. With no old text: a PageChange with first=True."""
    if old_text is None:
        first = next(iter(new.text.splitlines()), "")
        return PageChange(summary=f"Sidan bevakas från och med nu: {_quote(first)}", ratio=1.0,
                          added=tuple(new.text.splitlines()), first=True)
    if page_fingerprint(old_text) == new.fingerprint:
        return None
    old_lines, new_lines = _paragraphs(old_text), _paragraphs(new.text)
    added, removed, changed, changed_words = _paragraph_diff(old_lines, new_lines)
    ratio = changed_words / max(_word_count(old_lines), _word_count(new_lines), 1)
    if ratio < threshold and not added and not removed and not _new_sentences(changed):
        return None
    return PageChange(summary=_summary(added, removed, changed, ratio), ratio=round(ratio, 4),
                      added=tuple(added), removed=tuple(removed), changed=tuple(changed))


def _paragraphs(text: str) -> list[tuple[str, str]]:
    """(comparable, original) per line that has something to compare."""
    pairs = ((_comparable(line), line) for line in text.splitlines())
    return [(norm, line) for norm, line in pairs if norm]


def _word_count(lines: list[tuple[str, str]]) -> int:
    return sum(len(norm.split()) for norm, _ in lines)


def _paragraph_diff(old, new) -> tuple[list[str], list[str], list[tuple[str, str]], int]:
    """Paragraphs added, removed, (old, new) sentence pairs that were edited, and how many
    words changed. Paragraphs are matched first, words only within the changed stretches, so
    a long page costs little."""
    added: list[str] = []
    removed: list[str] = []
    changed: list[tuple[str, str]] = []
    changed_words = 0
    matcher = difflib.SequenceMatcher(None, [n for n, _ in old], [n for n, _ in new],
                                      autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        changed_words += _changed_words(old[i1:i2], new[j1:j2])
        pairs, lone_old, lone_new = _pair_up(old[i1:i2], new[j1:j2])
        removed += lone_old
        added += lone_new
        for old_line, new_line in pairs:
            changed += _sentence_edits(old_line, new_line)
    return added, removed, changed, changed_words


def _changed_words(old, new) -> int:
    """Words not kept in order; for a long rewritten stretch, words not kept at all (cheap)."""
    old_words = " ".join(n for n, _ in old).split()
    new_words = " ".join(n for n, _ in new).split()
    if len(old_words) + len(new_words) > LONG_STRETCH_WORDS:
        same = sum((Counter(old_words) & Counter(new_words)).values())
    else:
        matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
        same = sum(block.size for block in matcher.get_matching_blocks())
    return max(len(old_words), len(new_words)) - same


def _pair_up(old, new) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Each new paragraph with its most similar old one (similarity >= 0.5), the rest alone."""
    pairs, used = [], set()
    if len(old) * len(new) > MAX_PAIRINGS:  # a rewritten page: no use pairing paragraphs
        return [], [line for _, line in old], [line for _, line in new]
    for norm, line in new:
        scores = [(_similar(norm, o_norm), i) for i, (o_norm, _) in enumerate(old) if i not in used]
        best = max(scores, default=(0.0, -1))
        if best[0] >= 0.5:
            used.add(best[1])
            pairs.append((old[best[1]][1], line))
    paired_new = {new_line for _, new_line in pairs}
    lone_old = [line for i, (_, line) in enumerate(old) if i not in used]
    return pairs, lone_old, [line for _, line in new if line not in paired_new]


def _sentence_edits(old_line: str, new_line: str) -> list[tuple[str, str]]:
    """(old, new) per sentence of `new_line` that is not in `old_line` ("" when wholly new)."""
    old_sentences = _SENTENCE_END.split(old_line)
    old_norm = {_comparable(s): s for s in old_sentences}
    edits = []
    for sentence in _SENTENCE_END.split(new_line):
        norm = _comparable(sentence)
        if not norm or norm in old_norm:
            continue
        best = max(old_norm, key=lambda o: _similar_letters(o, norm), default="")
        edits.append((old_norm[best] if _similar_letters(best, norm) >= 0.6 else "", sentence))
    return edits


def _new_sentences(changed: list[tuple[str, str]]) -> bool:
    return any(not old for old, _ in changed)


def _similar(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)
    return matcher.ratio() if matcher.quick_ratio() >= 0.5 else 0.0


def _similar_letters(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _summary(added, removed, changed, ratio: float) -> str:
    lines = [f"Nytt stycke: {_quote(p)}" for p in added]
    lines += [f"Ny mening: {_quote(new)}" if not old else f"Ändrat: {_quote(old)} → {_quote(new)}"
              for old, new in changed]
    lines += [f"Borttaget: {_quote(p)}" for p in removed]
    shown = lines[:SUMMARY_LINES]
    if len(lines) > SUMMARY_LINES:
        shown.append(f"… och {len(lines) - SUMMARY_LINES} ändringar till.")
    percent = max(1, round(ratio * 100))
    shown.append(f"Ungefär {percent} % av texten har ändrats.")
    return "\n".join(shown)


def _quote(text: str) -> str:
    return f"”{trim_text(' '.join(text.split()), QUOTE_CHARS)}”"
