"""`scanner digest build|preview|send` end to end: the real CLI (click's CliRunner on
scanner.cli.main) on a config folder whose feeds are served from the loopback HTTP server
(tests/data/digest_e2e/, items dated in ISO week 2026-W47 = 16–22 November 2026) and a real
SMTP server on 127.0.0.1 (aiosmtpd), read back message by message.

The only thing patched is the pause between SMTP retries (`fast_retries`): the CLI has no
setting for it and waits 5 s, 10 s, 20 s; the patch records the waits instead of sleeping.
"""

from __future__ import annotations

import email
import random
import re
import shutil
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from scanner import digesting
from scanner.classify import load_taxonomy
from scanner.cli import main
from scanner.core import Scanner
from scanner.digest.calendar import week_bounds
from scanner.digest.tokens import TokenError, read_token, read_unsubscribe_token
from scanner.settings import Settings
from scanner.tagging import PACKAGED_TAXONOMY
from tests.fetch.helpers import closed_port
from tests.test_core import clean_environment  # noqa: F401  (autouse: no SCANNER_* from the shell)

DATA = Path(__file__).resolve().parent / "data" / "digest_e2e"
WEEK, EARLIER_WEEK = "2026-W47", "2026-W46"
DIGEST = "bibliotekschefer"
SECRET = "testnyckel-for-bevakningsbrevet-som-ar-lang-nog"
PUBLIC_URL = "https://bevakning.example.se"
SENDER = "Omvärldsbevakning Region Exempel <omvarld@example.se>"
ANNA, ORJAN, MARIA = ("anna.lindqvist@example.se", "orjan.aberg@example.se",
                      "maria.nilsson@example.se")
READERS = (ANNA, ORJAN, MARIA)
MARIA_TOPICS = ("barn-unga", "skolbibliotek")
NAMES = {ANNA: "Anna Lindqvist", ORJAN: "Örjan Åberg", MARIA: "Maria Nilsson"}
LABELLED = "Meröppna bibliotek: ny vägledning om trygghet och säkerhet"
NOT_RELEVANT = "Vägarbete på Storgatan stänger infarten till regionhuset"
NEXT_WEEK = "Ny vecka: biblioteksdebatt om läsning i riksdagen"  # published 23 November
REPRINTED = "Bokstart når fler småbarnsfamiljer i länet"  # in both feeds: one story
# published 11 November (W46) by regionbibliotek, reprinted 18 November (W47) by biblioteksbladet
REPRINTED_LATER = "Läsfrämjande satsning på länets äldreboenden"
MAX_BYTES = 102_000
FEEDBACK = re.compile(r"/feedback/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")
SUBJECT = re.compile(r"^Omvärldsbevakning Region Exempel vecka 47: (\d+) nyheter? i (\d+) "
                     r"(?:prioriterat område|prioriterade områden)$")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


# --- a real SMTP server on loopback ---------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler keeping what arrives; `permanent` addresses get 550 at RCPT, and
    `temporary[address]` 451 answers before it is accepted."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.permanent: set[str] = set()
        self.temporary: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts[address] += 1
        if address in self.permanent:
            return "550 5.1.1 Mottagaren finns inte"
        if self.temporary[address] > 0:
            self.temporary[address] -= 1
            return "451 4.3.0 Brevlådan är upptagen, försök senare"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        return [rcpts[0] for _, rcpts, _ in self.received]

    def message(self, address: str) -> EmailMessage:
        found = [raw for _, rcpts, raw in self.received if rcpts == [address]]
        assert len(found) == 1, f"{address} got {len(found)} messages"
        return email.message_from_bytes(found[0], policy=default)

    def raw(self, address: str) -> bytes:
        return next(raw for _, rcpts, raw in self.received if rcpts == [address])


class LoopbackSmtp(Controller):
    """aiosmtpd on 127.0.0.1, port chosen by the OS."""

    def __init__(self, handler) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def mailbox():
    box = Mailbox()
    server = LoopbackSmtp(box)
    server.start()
    box.port = server.port
    yield box
    server.stop()


@pytest.fixture
def fast_retries(monkeypatch) -> list[float]:
    """The waits between SMTP retries, recorded instead of slept (the CLI path always uses
    digesting.send's default backoff of 5 s; no setting or option shortens it)."""
    waits: list[float] = []
    real = digesting.send_messages

    def send_messages(*args, **kwargs):
        return real(*args, **{**kwargs, "sleep": waits.append})

    monkeypatch.setattr(digesting, "send_messages", send_messages)
    return waits


# --- the config folder and the CLI --------------------------------------------------------------


class DigestCli:
    """`scanner ARGS` in-process against one config folder, database, feed and SMTP server."""

    def __init__(self, folder: Path, database_url: str, http_server, mailbox: Mailbox) -> None:
        self.folder, self.database_url, self.mailbox = folder, database_url, mailbox
        self.http_server, self.entries = http_server, []
        self.add_source("regionbibliotek", "Regionbibliotek Exempel", "regionbibliotek.rss",
                        (DATA / "regionbibliotek.rss").read_bytes(), weight=2)
        self.add_source("biblioteksbladet", "Biblioteksbladet Exempel", "biblioteksbladet.atom",
                        (DATA / "biblioteksbladet.atom").read_bytes())
        shutil.copytree(DATA / "digests", folder / "digests")
        self._scanner: Scanner | None = None

    def add_source(self, source_id: str, name: str, path: str, body: bytes,
                   weight: int = 1) -> None:
        """Serve `body` at /path and list it in sources.yaml."""
        kind = "atom" if path.endswith(".atom") else "rss"
        self.http_server.route(f"/{path}", body=body,
                               headers={"Content-Type": f"application/{kind}+xml; charset=utf-8"})
        self.entries.append(f"  - id: {source_id}\n    name: {name}\n"
                            f"    url: {self.http_server.url('/' + path)}\n    weight: {weight}\n")
        (self.folder / "sources.yaml").write_text("sources:\n" + "".join(self.entries),
                                                  encoding="utf-8")

    def env(self, **extra) -> dict:
        values = {"SCANNER_CONFIG_DIR": None, "SCANNER_DATABASE_URL": self.database_url,
                  "SCANNER_TIMEOUT": "5", "SCANNER_CONNECT_TIMEOUT": "2",
                  "SCANNER_PARSE_WORKERS": "1", "SCANNER_SECRET_KEY": SECRET,
                  "SCANNER_PUBLIC_URL": PUBLIC_URL, "SCANNER_SMTP_HOST": "127.0.0.1",
                  "SCANNER_SMTP_PORT": str(self.mailbox.port), "SCANNER_SMTP_SECURITY": "none",
                  "SCANNER_SMTP_USER": None, "SCANNER_SMTP_PASSWORD": None,
                  "SCANNER_MAIL_FROM": SENDER, "COLUMNS": "200"}
        values.update({name: None for name in PROXY_VARIABLES})
        values.update({name.lower(): None for name in PROXY_VARIABLES})
        values.update(extra)
        return values

    def __call__(self, *args: str, env: dict | None = None):
        return CliRunner().invoke(main, [*args, "--config", str(self.folder)],
                                  env=self.env(**(env or {})), catch_exceptions=False)

    def scan(self, expect: str = "2 sources: 13 new") -> None:
        result = self("scan")
        assert result.exit_code == 0, result.output
        assert expect in result.stdout, result.output

    def send(self, *args: str, week: str = WEEK, env: dict | None = None):
        return self("digest", "send", "--week", week, *args, env=env)

    @property
    def scanner(self) -> Scanner:
        """The facade on the test's database, for what the CLI does not show (labels)."""
        if self._scanner is None:
            self._scanner = Scanner(Settings(config_dir=self.folder,
                                             database_url=self.database_url))
        return self._scanner

    def week_items(self, week: str = WEEK) -> list:
        return self.scanner.store.items_published_between(*week_bounds(week))

    def item_titled(self, title: str):
        found = [i for i in self.scanner.latest_items(limit=1000) if i.title == title]
        assert len(found) >= 1, title
        return found[0]

    def item_titled_in(self, title: str, week: str):
        found, = [i for i in self.week_items(week) if i.title == title]
        return found

    def write_digest(self, text: str) -> None:
        (self.folder / "digests" / f"{DIGEST}.yaml").write_text(text, encoding="utf-8")

    def close(self) -> None:
        if self._scanner is not None:
            self._scanner.close()


@pytest.fixture
def cli(tmp_path, database_url, http_server, mailbox):
    runner = DigestCli(tmp_path, database_url, http_server, mailbox)
    yield runner
    runner.close()


@pytest.fixture
def scanned(cli):
    cli.scan()
    return cli


# --- what the archive says each reader should get ------------------------------------------------


TAXONOMY = load_taxonomy(PACKAGED_TAXONOMY)


def relevant_titles(items) -> set[str]:
    """Titles of the relevant items; a story's items share a title in these fixtures."""
    return {i.title for i in items if i.relevant is True}


def titles_for_topics(items, topics: tuple[str, ...]) -> set[str]:
    def roots(item) -> set[str]:
        tags = {t.tag for t in item.tag_details} | set(item.tags)
        return {TAXONOMY.root_of(t) for t in tags}
    return {i.title for i in items if i.relevant is True and roots(i) & set(topics)}


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return text.get_content(), html.get_content()


def shown_titles(message: EmailMessage, candidates: set[str]) -> set[str]:
    """Which of `candidates` the message shows, in both parts (a title in one part only fails)."""
    text, html = parts(message)
    in_text = {t for t in candidates if t in text}
    in_html = {t for t in candidates if t in html}
    assert in_text == in_html, (in_text, in_html)
    return in_text


def unix(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n")


def delivery_lines(output: str) -> dict[str, str]:
    """{email: "sent" | "skipped — ..." | ...} from `digest send`'s one line per recipient."""
    found = {}
    for line in output.splitlines():
        match = re.match(rf"^{DIGEST}: (\S+@\S+): (.+)$", line)
        if match:
            found[match[1]] = match[2]
    return found


# --- build and preview ---------------------------------------------------------------------------


def test_build_prints_the_subject_with_the_weeks_news_and_areas(scanned):
    expected = relevant_titles(scanned.week_items())
    assert REPRINTED in expected and NOT_RELEVANT not in expected

    result = scanned("digest", "build", "--week", WEEK)

    assert result.exit_code == 0, result.output
    line, = result.stdout.splitlines()
    assert line.startswith(f"{DIGEST} {WEEK}: Omvärldsbevakning Region Exempel vecka 47: ")
    subject = line.split(": ", 1)[1].rsplit(" (", 1)[0]
    count, areas = map(int, SUBJECT.match(subject).groups())
    assert count == len(expected) and line.endswith(f"({count} stories)")
    assert 1 <= areas <= count
    assert scanned.mailbox.received == []


def test_preview_writes_html_text_and_eml_and_prints_their_paths(scanned):
    result = scanned("digest", "preview", "--week", WEEK)

    assert result.exit_code == 0, result.output
    folder = scanned.folder / "var" / "digests" / DIGEST / WEEK
    lines = result.stdout.splitlines()
    assert SUBJECT.match(lines[0].split(": ", 1)[1]), lines[0]
    assert [Path(line.strip()) for line in lines[1:]] == [
        folder / "digest.html", folder / "digest.txt", folder / "digest.eml"]
    html = (folder / "digest.html").read_text(encoding="utf-8")
    text = (folder / "digest.txt").read_text(encoding="utf-8")
    message = email.message_from_bytes((folder / "digest.eml").read_bytes(), policy=default)
    eml_text, eml_html = parts(message)
    assert [unix(eml_text), unix(eml_html)] == [unix(text), unix(html)]  # CRLF in the .eml
    assert message["Subject"] == lines[0].split(": ", 1)[1]
    assert '<html lang="sv">' in html
    expected = relevant_titles(scanned.week_items())
    assert shown_titles(message, expected | {NOT_RELEVANT, NEXT_WEEK}) == expected
    assert "Även rapporterat av Biblioteksbladet Exempel" in text  # the reprint is one story
    assert text.count(REPRINTED) == 1
    assert scanned.mailbox.received == []  # a preview sends nothing ...
    sent = scanned.send()
    assert sent.exit_code == 0 and sorted(scanned.mailbox.recipients()) == sorted(READERS)


# --- send -----------------------------------------------------------------------------------------


def test_send_delivers_one_complete_message_per_recipient(scanned):
    before = datetime.now(timezone.utc)
    result = scanned.send()

    assert result.exit_code == 0, result.output
    assert delivery_lines(result.stdout) == {address: "sent" for address in READERS}
    box = scanned.mailbox
    assert sorted(box.recipients()) == sorted(READERS)
    assert {sender for sender, _, _ in box.received} == {"omvarld@example.se"}
    items = scanned.week_items()
    ids = {i.id for i in items if i.relevant is True}
    everything = relevant_titles(items)
    message_ids = set()
    for address in READERS:
        message = box.message(address)
        assert len(box.raw(address)) < MAX_BYTES
        assert SUBJECT.match(message["Subject"]), message["Subject"]
        assert message["From"] == SENDER
        assert parseaddr(message["To"]) == (NAMES[address], address)
        assert re.fullmatch(r"<\d+\.[0-9a-f]{16}@example\.se>", message["Message-ID"])
        message_ids.add(message["Message-ID"])
        sent_at = parsedate_to_datetime(message["Date"])
        assert before - timedelta(seconds=5) <= sent_at <= datetime.now(timezone.utc)
        assert_unsubscribe(message, address)
        text, html = parts(message)
        assert '<html lang="sv">' in html and "VECKANS VIKTIGASTE" in text
        tokens = FEEDBACK.findall(html)
        assert tokens and FEEDBACK.findall(text) == tokens
        claims = [read_token(token, SECRET) for token in tokens]
        assert {(c.digest_id, c.week, c.email) for c in claims} == {(DIGEST, WEEK, address)}
        assert {c.item_id for c in claims} <= ids
        assert Counter(c.verdict for c in claims) == {"relevant": len(tokens) // 2,
                                                      "inte-relevant": len(tokens) // 2}
        assert all(f"{PUBLIC_URL}/feedback/{token}" in html for token in tokens)
        with pytest.raises(TokenError):
            read_token(tokens[0], "en-annan-nyckel")
        count = int(SUBJECT.match(message["Subject"])[1])
        assert len({c.item_id for c in claims}) == count
    assert len(message_ids) == 3
    assert shown_titles(box.message(ANNA), everything | {NOT_RELEVANT, NEXT_WEEK}) == everything
    assert shown_titles(box.message(ORJAN), everything) == everything


def assert_unsubscribe(message: EmailMessage, address: str) -> None:
    link = re.fullmatch(r"<(.+)>", message["List-Unsubscribe"])[1]
    assert link.startswith(f"{PUBLIC_URL}/unsubscribe/")
    claim = read_unsubscribe_token(link.rsplit("/", 1)[1], SECRET)
    assert (claim.digest_id, claim.email) == (DIGEST, address)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert all(link in part for part in parts(message))  # also in the footer of both parts


def test_a_recipient_with_topics_gets_only_their_topics(scanned):
    items = scanned.week_items()
    everything = relevant_titles(items)
    hers = titles_for_topics(items, MARIA_TOPICS)
    assert REPRINTED in hers and hers < everything  # the fixtures cover both sides

    result = scanned.send()

    assert result.exit_code == 0, result.output
    maria = scanned.mailbox.message(MARIA)
    assert shown_titles(maria, everything) == hers
    assert int(SUBJECT.match(maria["Subject"])[1]) == len(hers)
    text, _ = parts(maria)
    labels = {TAXONOMY.by_id(topic).label_sv.upper() for topic in MARIA_TOPICS}
    headings = {line for line in text.splitlines() if line.isupper() and len(line) > 3}
    assert headings - {"VECKANS VIKTIGASTE"} <= labels, headings


def test_a_second_send_delivers_nothing_and_says_skipped_per_recipient(scanned):
    first = scanned.send()
    assert first.exit_code == 0, first.output
    assert len(scanned.mailbox.received) == 3

    again = scanned.send()

    assert again.exit_code == 0, again.output
    assert delivery_lines(again.stdout) == {address: "skipped" for address in READERS}
    assert len(scanned.mailbox.received) == 3
    assert sorted(scanned.mailbox.recipients()) == sorted(READERS)


def test_dry_run_renders_every_recipient_and_sends_nothing(scanned):
    result = scanned.send("--dry-run")

    assert result.exit_code == 0, result.output
    assert delivery_lines(result.stdout) == {address: "skipped — dry run: not sent"
                                             for address in READERS}
    assert scanned.mailbox.received == [] and not scanned.mailbox.attempts
    real = scanned.send()  # nothing was claimed by the dry run
    assert delivery_lines(real.stdout) == {address: "sent" for address in READERS}


def test_a_permanently_rejected_recipient_is_reported_and_the_others_get_theirs(scanned,
                                                                                fast_retries):
    scanned.mailbox.permanent.add(ORJAN)

    result = scanned.send()

    assert result.exit_code == 1, result.output
    lines = delivery_lines(result.stdout)
    assert lines[ANNA] == lines[MARIA] == "sent"
    assert lines[ORJAN].startswith("rejected") and "Mottagaren finns inte" in lines[ORJAN]
    assert sorted(scanned.mailbox.recipients()) == sorted([ANNA, MARIA])
    assert scanned.mailbox.attempts[ORJAN] == 1 and fast_retries == []  # 5xx: never retried


def test_a_temporary_451_is_retried_and_then_delivered(scanned, fast_retries):
    scanned.mailbox.temporary[ANNA] = 1

    result = scanned.send()

    assert result.exit_code == 0, result.output
    assert delivery_lines(result.stdout) == {address: "sent" for address in READERS}
    assert scanned.mailbox.attempts[ANNA] == 2
    assert sorted(scanned.mailbox.recipients()) == sorted(READERS)
    assert len(fast_retries) == 1 and fast_retries[0] > 0  # the CLI's backoff: 5 s


def test_an_smtp_server_that_is_down_defers_everyone_and_a_later_send_delivers(scanned,
                                                                               fast_retries):
    down = scanned.send(env={"SCANNER_SMTP_PORT": str(closed_port())})

    assert down.exit_code == 1, down.output
    lines = delivery_lines(down.stdout)
    assert set(lines) == set(READERS) and all(v.startswith("deferred") for v in lines.values())
    # 3 retries per recipient, 5 + 10 + 20 s each: 105 s of waiting for 3 recipients
    assert len(fast_retries) == 9 and sum(fast_retries) == pytest.approx(105)

    later = scanned.send()
    assert delivery_lines(later.stdout) == {address: "sent" for address in READERS}


VOCABULARY = (
    "läsfrämjande bokcirkel högläsning skolbibliotek barnbibliotek ungdomar bokprat talböcker "
    "lättläst nyanlända minoritetsspråk samiska finska meänkieli romani jiddisch e-legitimation "
    "digitalt utanförskap källkritik desinformation demokrati yttrandefrihet mötesplats "
    "öppettider meröppet filial bokbuss budget nämnd regionplan biblioteksplan statistik "
    "forskning utvärdering kompetens fortbildning ledarskap bibliotekarie rekrytering trygghet "
    "hot säkerhet beredskap kris hållbarhet klimat upphovsrätt e-böcker avtal förlag "
    "medieförsörjning fjärrlån tillgänglighet funktionsnedsättning äldreboende folkhälsa "
    "språkutveckling integration arbetsmarknad samverkan regionbibliotek kommun skola förskola "
    "läslust läsförståelse litteratur författarbesök poesi seminarium konferens nätverk "
    "handlingsplan strategi uppdrag riksdag regering kulturråd myndighet rapport enkät "
    "användare besökare utlåning katalog").split()
KOMMUNER = ("Arboga Askersund Degerfors Eksjö Falun Gnosjö Hallsberg Hedemora Hjo Karlskoga "
            "Kumla Laxå Lekeberg Lindesberg Ljusnarsberg Nora Orsa Sala Sunne Torsby Vara "
            "Vetlanda Ydre Åmål Älvdalen Öckerö").split()


def busy_week_feed(count: int) -> bytes:
    """An RSS feed with `count` different library news items spread over 2026-W47 (word
    combinations drawn with a fixed seed, so no two items tell the same story)."""
    rng = random.Random(47)
    entries = []
    for n in range(count):
        words = rng.sample(VOCABULARY, 14)
        title = f"{KOMMUNER[n % len(KOMMUNER)]}s bibliotek: {' '.join(words[:4])}"
        text = (f"Folkbiblioteket i {KOMMUNER[n % len(KOMMUNER)]} arbetar med {words[4]}, "
                f"{words[5]} och {words[6]}. " + " ".join(words[7:]) + ". " +
                " ".join(rng.sample(VOCABULARY, 30)) + ".")
        moment = datetime(2026, 11, 16, 8, tzinfo=timezone.utc) + timedelta(minutes=61 * n)
        entries.append(f"<item><title>{title}</title>"
                       f"<link>https://nyhetsbrev.example.se/{n}</link>"
                       f"<guid isPermaLink=\"false\">veckan-{n}</guid>"
                       f"<pubDate>{format_datetime(moment)}</pubDate>"
                       f"<description>{text}</description></item>")
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
            "<title>Nyhetsbrevet</title><link>https://nyhetsbrev.example.se/</link>"
            "<language>sv</language>" + "".join(entries) + "</channel></rss>").encode("utf-8")


def test_a_busy_week_is_trimmed_under_gmails_clipping_size(cli):
    cli.add_source("nyhetsbrev", "Nyhetsbrevet Exempel", "nyhetsbrev.rss", busy_week_feed(150))
    text = (DATA / "digests" / f"{DIGEST}.yaml").read_text(encoding="utf-8")
    cli.write_digest(text.replace("items_per_section: 5", "items_per_section: 50")
                         .replace("top_count: 3", "top_count: 10"))
    cli.scan(expect="3 sources: 163 new")
    assert len(relevant_titles(cli.week_items())) > 100

    result = cli.send()

    assert result.exit_code == 0, result.output
    for address in (ANNA, ORJAN):
        raw = cli.mailbox.raw(address)
        message = cli.mailbox.message(address)
        text, html = parts(message)
        assert len(raw) < MAX_BYTES, len(raw)
        assert "fick inte plats i mejlet" in text  # the lowest-ranked were dropped, and said so
        shown = {read_token(t, SECRET).item_id for t in FEEDBACK.findall(html)}
        assert int(SUBJECT.match(message["Subject"])[1]) == len(shown) >= 20


# --- what never reaches a reader ---------------------------------------------------------------


def test_an_item_labelled_not_relevant_never_appears(scanned):
    everything = relevant_titles(scanned.week_items())
    assert LABELLED in everything
    item = scanned.item_titled(LABELLED)
    scanned.scanner.store.add_label(item.id, "irrelevant", None, "test", "cli",
                                    datetime.now(timezone.utc))

    preview = scanned("digest", "preview", "--week", WEEK)
    sent = scanned.send()

    assert preview.exit_code == 0 and sent.exit_code == 0, preview.output + sent.output
    left = everything - {LABELLED}
    assert f"vecka 47: {len(left)} nyheter" in preview.stdout
    folder = scanned.folder / "var" / "digests" / DIGEST / WEEK
    assert LABELLED not in (folder / "digest.html").read_text(encoding="utf-8")
    for address in READERS:
        assert LABELLED not in "".join(parts(scanned.mailbox.message(address)))
    anna = scanned.mailbox.message(ANNA)
    assert shown_titles(anna, everything) == left
    linked = {read_token(token, SECRET).item_id for token in FEEDBACK.findall(parts(anna)[1])}
    assert item.id not in linked


def test_an_item_sent_in_an_earlier_week_is_not_repeated_for_that_recipient(scanned):
    text = (DATA / "digests" / f"{DIGEST}.yaml").read_text(encoding="utf-8")
    scanned.write_digest(text.replace("window: 7d", "window: 14d"))  # W47 also covers W46
    earlier = relevant_titles(scanned.week_items(EARLIER_WEEK))
    this_week = relevant_titles(scanned.week_items())
    assert earlier and this_week

    first = scanned.send(week=EARLIER_WEEK)
    assert first.exit_code == 0, first.output
    assert shown_titles(scanned.mailbox.message(ANNA), earlier | this_week) == earlier
    scanned.mailbox.received.clear()
    newcomer = "nils.ek@example.se"
    scanned.write_digest(text.replace("window: 7d", "window: 14d").replace(
        "recipients:\n", f"recipients:\n  - name: Nils Ek\n    email: {newcomer}\n"))

    second = scanned.send()

    assert second.exit_code == 0, second.output
    assert delivery_lines(second.stdout) == {a: "sent" for a in (*READERS, newcomer)}
    assert REPRINTED_LATER in earlier & this_week  # one story over both weeks
    assert shown_titles(scanned.mailbox.message(ANNA), earlier | this_week) == \
        this_week - earlier
    assert shown_titles(scanned.mailbox.message(newcomer), earlier | this_week) == \
        earlier | this_week


def test_a_story_sent_last_week_is_not_repeated_when_another_source_reprints_it(scanned):
    """7-day windows: the original is in W46 only, the reprint in W47 only."""
    original = scanned.item_titled_in(REPRINTED_LATER, EARLIER_WEEK)
    reprint = scanned.item_titled_in(REPRINTED_LATER, WEEK)
    assert original.id != reprint.id and original.story == reprint.story  # the archive knows
    first = scanned.send(week=EARLIER_WEEK)
    assert first.exit_code == 0, first.output
    assert REPRINTED_LATER in parts(scanned.mailbox.message(ANNA))[0]
    scanned.mailbox.received.clear()

    second = scanned.send()

    assert second.exit_code == 0, second.output
    assert REPRINTED_LATER not in parts(scanned.mailbox.message(ANNA))[0]


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "preview", "send"])
def test_a_missing_secret_key_names_the_variable(cli, command):
    result = cli("digest", command, "--week", WEEK, env={"SCANNER_SECRET_KEY": None})

    assert result.exit_code == 2, result.output
    assert "SCANNER_SECRET_KEY" in result.stderr and "Traceback" not in result.output
    assert result.stdout == "" and cli.mailbox.received == []


def test_a_missing_secret_key_claims_nobody(scanned):
    assert scanned.send(env={"SCANNER_SECRET_KEY": ""}).exit_code == 2
    result = scanned.send()
    assert delivery_lines(result.stdout) == {address: "sent" for address in READERS}


def test_an_unknown_digest_id_names_the_known_ones(cli):
    result = cli("digest", "send", "chefer", "--week", WEEK)

    assert result.exit_code == 2, result.output
    assert "unknown digest 'chefer'" in result.stderr and DIGEST in result.stderr
    assert cli.mailbox.received == []


@pytest.mark.parametrize("week, says", [("2026-48", "write it like 2026-W48"),
                                        ("2026-W54", "2026 has 53 weeks"),
                                        ("vecka 47", "write it like 2026-W48")])
def test_a_malformed_week_is_explained(cli, week, says):
    result = cli("digest", "build", "--week", week)

    assert result.exit_code == 2, result.output
    assert f"'{week}'" in result.stderr and says in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_digests_folder_is_explained(cli):
    shutil.rmtree(cli.folder / "digests")

    for command in ("build", "preview", "send"):
        result = cli("digest", command, "--week", WEEK)
        assert result.exit_code == 2, result.output
        assert "digests not found" in result.stderr and "one YAML file per digest" in \
            result.stderr
