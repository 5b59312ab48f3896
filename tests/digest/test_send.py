"""Sending through a real SMTP server on loopback (aiosmtpd): structure, headers, retries."""

from __future__ import annotations

import email
import re
import socket
from collections import Counter
from email.policy import default
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from bs4 import BeautifulSoup

from scanner.digest.definitions import Recipient
from scanner.digest.render import MAX_MESSAGE_BYTES, render_digest
from scanner.digest.select import build_digest
from scanner.digest.send import (
    OutgoingMessage,
    SmtpConfig,
    build_message,
    send_messages,
    smtp_config_from_env,
)
from scanner.digest.tokens import make_unsubscribe_token, read_token, read_unsubscribe_token, \
    unsubscribe_url
from scanner.errors import SettingsError
from tests.digest.test_render import huge_week
from tests.digest.week import (
    FAILING,
    HISTORY,
    MANAGERS,
    NOW,
    PUBLIC_URL,
    SECRET,
    SOURCES,
    STORIES,
    WEEK,
    taxonomy,
    week_items,
)

SENDER = "Omvärldsbevakning Region Exempel <omvarld@example.se>"
READERS = (Recipient("Anna Lindqvist", "anna.lindqvist@example.se"),
           Recipient("Örjan Åberg", "orjan.aberg@example.se"),
           Recipient("Maria Nilsson", "maria.nilsson@example.se", topics=("barn-unga",)))


class Mailbox:
    """An aiosmtpd handler that keeps what it receives and fails on request:
    `temporary` answers 451 to an address that many times, `permanent` always 550."""

    def __init__(self, temporary: dict[str, int] | None = None, permanent=()) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.temporary = dict(temporary or {})
        self.permanent = set(permanent)
        self.attempts: Counter[str] = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts[address] += 1
        if address in self.permanent:
            return "550 5.1.1 No such mailbox here"
        if self.temporary.get(address, 0) > 0:
            self.temporary[address] -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def messages(self) -> dict[str, email.message.EmailMessage]:
        return {rcpts[0]: email.message_from_bytes(raw, policy=default)
                for _, rcpts, raw in self.received}


class LoopbackSmtp(Controller):
    """aiosmtpd on 127.0.0.1 with a port the OS picks."""

    def __init__(self, handler, **kwargs) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **kwargs)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp_server():
    servers = []

    def start(handler: Mailbox, **kwargs) -> SmtpConfig:
        server = LoopbackSmtp(handler, **kwargs)
        server.start()
        servers.append(server)
        return SmtpConfig(host="127.0.0.1", port=server.port, security="none", sender=SENDER,
                          timeout=5)

    yield start
    for server in servers:
        server.stop()


def outgoing(readers=READERS, items=None) -> list[OutgoingMessage]:
    messages = []
    for reader in readers:
        content = build_digest(MANAGERS, week_items() if items is None else items, taxonomy(),
                               SOURCES, STORIES, HISTORY, FAILING, set(), reader, NOW, WEEK)
        rendered = render_digest(content, MANAGERS, reader, PUBLIC_URL, SECRET, NOW)
        link = unsubscribe_url(PUBLIC_URL, make_unsubscribe_token(SECRET, MANAGERS.id,
                                                                  reader.email))
        message = build_message(rendered, reader, SENDER, link, "omvarld.example.se", NOW)
        messages.append(OutgoingMessage(reader, message))
    return messages


class Log:
    """claim/record callbacks backed by a set, like the store's delivery log."""

    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.records: list[tuple[str, str]] = []

    def claim(self, recipient: Recipient) -> bool:
        if recipient.email in self.claimed:
            return False
        self.claimed.add(recipient.email)
        return True

    def record(self, recipient: Recipient, result) -> None:
        self.records.append((recipient.email, result.outcome))


def test_the_digest_arrives_as_multipart_alternative_with_both_parts(smtp_server):
    mailbox = Mailbox()
    config = smtp_server(mailbox)
    log = Log()
    results = send_messages(outgoing(), config, log.claim, log.record, backoff=0)
    assert [r.outcome for r in results] == ["sent"] * 3
    assert log.records == [(r.email, "sent") for r in READERS]
    assert [rcpts for _, rcpts, _ in mailbox.received] == [[r.email] for r in READERS]
    assert {sender for sender, _, _ in mailbox.received} == {"omvarld@example.se"}
    anna = mailbox.messages()["anna.lindqvist@example.se"]
    assert anna.get_content_type() == "multipart/alternative"
    text, html = anna.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    assert "Veckans viktigaste".upper() in text.get_content()
    assert '<html lang="sv">' in html.get_content()


def test_headers_are_complete_and_encoded(smtp_server):
    mailbox = Mailbox()
    send_messages(outgoing(), smtp_server(mailbox), Log().claim, Log().record, backoff=0)
    raw = dict((rcpts[0], content) for _, rcpts, content in mailbox.received)
    orjan = mailbox.messages()["orjan.aberg@example.se"]
    assert orjan["Subject"] == "Omvärldsbevakning vecka 47: 12 nyheter i 10 prioriterade områden"
    assert parseaddr(orjan["From"]) == ("Omvärldsbevakning Region Exempel", "omvarld@example.se")
    assert parseaddr(orjan["To"]) == ("Örjan Åberg", "orjan.aberg@example.se")
    assert re.fullmatch(r"<[^<>@\s]+@omvarld\.example\.se>", orjan["Message-ID"])
    assert parsedate_to_datetime(orjan["Date"]) == NOW
    assert orjan["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(https://omvarld\.example\.se/unsubscribe/(\S+))>",
                        orjan["List-Unsubscribe"])
    assert read_unsubscribe_token(link[2], SECRET).email == "orjan.aberg@example.se"
    message_ids = {m["Message-ID"] for m in mailbox.messages().values()}
    assert len(message_ids) == 3
    for content in raw.values():
        content.decode("ascii")  # 7-bit clean: RFC 2047 headers, quoted-printable bodies
        assert b"Subject: =?utf-8?" in content


def test_links_in_the_received_email_verify_and_the_size_stays_under_gmails_limit(smtp_server):
    mailbox = Mailbox()
    send_messages(outgoing(READERS[:1], huge_week()), smtp_server(mailbox), Log().claim,
                  Log().record, backoff=0)
    (_, _, raw), = mailbox.received
    assert len(raw) < MAX_MESSAGE_BYTES
    message = email.message_from_bytes(raw, policy=default)
    text, html = (part.get_content() for part in message.iter_parts())
    soup = BeautifulSoup(html, "html.parser")
    feedback = [a["href"] for a in soup.find_all("a") if "/feedback/" in a["href"]]
    claims = [read_token(url.rsplit("/", 1)[1], SECRET) for url in feedback]
    assert claims and {c.email for c in claims} == {"anna.lindqvist@example.se"}
    assert set(feedback) == set(re.findall(r"https://\S+/feedback/\S+", text))
    assert "fick inte plats i mejlet" in text and "fick inte plats i mejlet" in html


def test_a_temporary_failure_is_retried_with_backoff(smtp_server):
    mailbox = Mailbox(temporary={"orjan.aberg@example.se": 2})
    waits: list[float] = []
    log = Log()
    results = send_messages(outgoing(), smtp_server(mailbox), log.claim, log.record, retries=3,
                            backoff=1.5, sleep=waits.append)
    assert [(r.email, r.outcome, r.attempts) for r in results] == [
        ("anna.lindqvist@example.se", "sent", 1), ("orjan.aberg@example.se", "sent", 3),
        ("maria.nilsson@example.se", "sent", 1)]
    assert waits == [1.5, 3.0]
    assert len(mailbox.received) == 3


def test_a_permanent_failure_is_reported_and_the_others_still_get_theirs(smtp_server):
    mailbox = Mailbox(permanent={"orjan.aberg@example.se"})
    waits: list[float] = []
    log = Log()
    results = send_messages(outgoing(), smtp_server(mailbox), log.claim, log.record,
                            sleep=waits.append)
    rejected = results[1]
    assert (rejected.outcome, rejected.code, rejected.attempts) == ("rejected", 550, 1)
    assert "No such mailbox" in rejected.message and not rejected.delivered
    assert waits == []  # never retried
    assert log.records == [("anna.lindqvist@example.se", "sent"),
                           ("orjan.aberg@example.se", "rejected"),
                           ("maria.nilsson@example.se", "sent")]
    assert sorted(mailbox.messages()) == ["anna.lindqvist@example.se", "maria.nilsson@example.se"]


def test_giving_up_after_the_retries_reports_deferred(smtp_server):
    mailbox = Mailbox(temporary={"anna.lindqvist@example.se": 99})
    results = send_messages(outgoing(READERS[:2]), smtp_server(mailbox), Log().claim,
                            Log().record, retries=2, backoff=0, sleep=lambda s: None)
    assert [(r.outcome, r.code, r.attempts) for r in results] == [("deferred", 451, 3),
                                                                  ("sent", None, 1)]
    assert mailbox.attempts["anna.lindqvist@example.se"] == 3


def test_claim_prevents_sending_twice(smtp_server):
    mailbox = Mailbox()
    config = smtp_server(mailbox)
    log = Log()
    messages = outgoing()
    send_messages(messages, config, log.claim, log.record, backoff=0)
    again = send_messages(messages, config, log.claim, log.record, backoff=0)
    assert [r.outcome for r in again] == ["skipped"] * 3
    assert len(mailbox.received) == 3
    assert mailbox.attempts == Counter({r.email: 1 for r in READERS})


def test_a_server_that_is_down_is_a_temporary_failure():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = SmtpConfig(host="127.0.0.1", port=port, security="none", sender=SENDER, timeout=2)
    waits: list[float] = []
    results = send_messages(outgoing(READERS[:1]), config, Log().claim, Log().record,
                            retries=2, backoff=2, sleep=waits.append)
    assert [(r.outcome, r.attempts) for r in results] == [("deferred", 3)]
    assert "refused" in results[0].message.lower()
    assert waits == [2, 4]


def test_login_uses_the_configured_user_and_password(smtp_server):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"hemligt", handled=False)

    mailbox = Mailbox()
    config = smtp_server(mailbox, authenticator=authenticator, auth_require_tls=False,
                         auth_exclude_mechanism=["LOGIN"])
    good = SmtpConfig(config.host, SENDER, config.port, "none", "omvarld", "hemligt", 5)
    assert send_messages(outgoing(READERS[:1]), good, Log().claim, Log().record)[0].delivered
    bad = SmtpConfig(config.host, SENDER, config.port, "none", "omvarld", "fel", 5)
    result = send_messages(outgoing(READERS[:1]), bad, Log().claim, Log().record)[0]
    assert (result.outcome, result.code) == ("rejected", 535)
    assert seen == [(b"omvarld", b"hemligt"), (b"omvarld", b"fel")]
    assert "hemligt" not in repr(good)


def test_smtp_settings_from_the_environment():
    config = smtp_config_from_env({"SCANNER_SMTP_HOST": "smtp.example.se",
                                   "SCANNER_MAIL_FROM": SENDER, "SCANNER_SMTP_SECURITY": "SSL",
                                   "SCANNER_SMTP_USER": "omvarld",
                                   "SCANNER_SMTP_PASSWORD": "hemligt"})
    assert (config.host, config.port, config.security) == ("smtp.example.se", 465, "ssl")
    assert (config.user, config.password) == ("omvarld", "hemligt")
    assert smtp_config_from_env({"SCANNER_SMTP_HOST": "h", "SCANNER_MAIL_FROM": "a@example.se"}
                                ).port == 587
    with pytest.raises(SettingsError) as caught:
        smtp_config_from_env({"SCANNER_SMTP_SECURITY": "tls", "SCANNER_SMTP_PORT": "smtp",
                              "SCANNER_MAIL_FROM": "Omvärldsbevakning"})
    assert str(caught.value).splitlines() == [
        "cannot send email:",
        "  SCANNER_SMTP_HOST is not set; set it to your mail server, e.g. smtp.example.se",
        "  SCANNER_SMTP_SECURITY='tls' is not one of starttls, ssl, none",
        "  SCANNER_SMTP_PORT='smtp' is not a port number (1–65535)",
        "  SCANNER_MAIL_FROM='Omvärldsbevakning' has no email address",
    ]
