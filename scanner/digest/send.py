"""Rendered digests -> email messages -> an SMTP server, one recipient at a time.

`send_messages` asks `claim(recipient)` before each message (False: someone already sent or is
sending it, skip) and calls `record(recipient, result)` after. Temporary failures (4xx replies,
refused or dropped connections, timeouts) are retried with exponential backoff on a fresh
connection; permanent ones (5xx) are reported for that recipient and the others still go out.
"""

from __future__ import annotations

import secrets
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from typing import Literal

from scanner.digest.definitions import Recipient
from scanner.digest.render import RenderedDigest
from scanner.errors import SettingsError

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
ENV = {"host": "SCANNER_SMTP_HOST", "port": "SCANNER_SMTP_PORT",
       "security": "SCANNER_SMTP_SECURITY", "user": "SCANNER_SMTP_USER",
       "password": "SCANNER_SMTP_PASSWORD", "sender": "SCANNER_MAIL_FROM"}
Outcome = Literal["sent", "skipped", "rejected", "deferred"]


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send. `sender` is the From: header, e.g. "Regionbiblioteket
    <omvarld@example.se>"; its address is also the envelope sender."""

    host: str
    sender: str
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0

    def __repr__(self) -> str:  # never show the password in logs or tracebacks
        return (f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r}, "
                f"user={self.user!r}, sender={self.sender!r})")


@dataclass(frozen=True)
class OutgoingMessage:
    recipient: Recipient
    message: EmailMessage


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one recipient's message.

    outcome: sent; skipped (claim said no: already sent or being sent); rejected (a permanent
    5xx reply, do not retry); deferred (still failing temporarily after every retry).
    """

    email: str
    outcome: Outcome
    attempts: int = 0
    code: int | None = None
    message: str = ""

    @property
    def delivered(self) -> bool:
        return self.outcome == "sent"


def smtp_config_from_env(env: Mapping[str, str | None]) -> SmtpConfig:
    """An SmtpConfig from the SCANNER_SMTP_* / SCANNER_MAIL_FROM values (e.g. os.environ).

    Raises SettingsError naming every variable that is missing or wrong.
    """
    value = {key: (env.get(name) or "").strip() for key, name in ENV.items()}
    security = value["security"].lower() or "starttls"
    problems = [f"{ENV[key]} is not set; {hint}" for key, hint in (
        ("host", "set it to your mail server, e.g. smtp.example.se"),
        ("sender", "set it to the From address, e.g. Omvärldsbevakning <omvarld@example.se>"),
    ) if not value[key]]
    if security not in SECURITY:
        problems.append(f"{ENV['security']}='{value['security']}' is not one of "
                        f"{', '.join(SECURITY)}")
    if value["port"] and not (value["port"].isdigit() and 0 < int(value["port"]) < 65536):
        problems.append(f"{ENV['port']}='{value['port']}' is not a port number (1–65535)")
    if value["sender"] and "@" not in parseaddr(value["sender"])[1]:
        problems.append(f"{ENV['sender']}='{value['sender']}' has no email address")
    if problems:
        raise SettingsError("cannot send email:\n  " + "\n  ".join(problems))
    port = int(value["port"]) if value["port"] else DEFAULT_PORTS[security]
    return SmtpConfig(value["host"], value["sender"], port, security, value["user"] or None,
                      value["password"] or None)


def build_message(rendered: RenderedDigest, recipient: Recipient, sender: str,
                  list_unsubscribe_url: str, message_id_domain: str,
                  now: datetime) -> EmailMessage:
    """multipart/alternative: plain text first, then HTML (clients show the last they can),
    both UTF-8 quoted-printable; Date, Message-ID and one-click List-Unsubscribe (RFC 8058)."""
    message = EmailMessage(policy=SMTP)
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = formataddr((recipient.name, recipient.email))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(now, message_id_domain)
    message["List-Unsubscribe"] = f"<{list_unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["List-Id"] = f"{rendered.content.title} <{rendered.content.digest_id}." \
                         f"{message_id_domain}>"
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8",
                            cte="quoted-printable")
    return message


def message_id(now: datetime, domain: str) -> str:
    """A short unique Message-ID (short, so the header is never folded): <time.random@domain>."""
    return f"<{int(now.timestamp())}.{secrets.token_hex(8)}@{domain}>"


def send_messages(messages: Sequence[OutgoingMessage], config: SmtpConfig,
                  claim: Callable[[Recipient], bool],
                  record: Callable[[Recipient, DeliveryResult], None], retries: int = 3,
                  backoff: float = 5.0, sleep: Callable[[float], None] = time.sleep,
                  ssl_context: ssl.SSLContext | None = None) -> list[DeliveryResult]:
    """Send each message on one connection (reopened after a failure); see the module docstring.

    A message is tried at most `retries` + 1 times, waiting backoff, 2·backoff, 4·backoff, ...
    seconds between tries.
    """
    connection = _Connection(config, ssl_context)
    results = []
    try:
        for outgoing in messages:
            if not claim(outgoing.recipient):
                result = DeliveryResult(outgoing.recipient.email, "skipped")
            else:
                result = _deliver(connection, outgoing, config, retries, backoff, sleep)
            record(outgoing.recipient, result)
            results.append(result)
    finally:
        connection.close()
    return results


def _deliver(connection: _Connection, outgoing: OutgoingMessage, config: SmtpConfig,
             retries: int, backoff: float, sleep: Callable[[float], None]) -> DeliveryResult:
    email = outgoing.recipient.email
    for attempt in range(1, retries + 2):
        try:
            connection.send(outgoing.message, email)
            return DeliveryResult(email, "sent", attempt)
        except Exception as exc:  # classified below; anything unknown is re-raised
            code, text, permanent = _classify(exc)
            if permanent:
                return DeliveryResult(email, "rejected", attempt, code, text)
            connection.close()
            if attempt > retries:
                return DeliveryResult(email, "deferred", attempt, code, text)
            sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def _classify(exc: Exception) -> tuple[int | None, str, bool]:
    """(SMTP code, reason, permanent?) of a failed send. Unknown errors are re-raised."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return code, _text(reply), 500 <= code < 600
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code, _text(exc.smtp_error), 500 <= exc.smtp_code < 600
    if isinstance(exc, (smtplib.SMTPException, OSError)):
        return None, str(exc) or type(exc).__name__, False
    raise exc


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class _Connection:
    """One SMTP session, opened on first use and after any failure."""

    def __init__(self, config: SmtpConfig, context: ssl.SSLContext | None) -> None:
        self.config, self.context = config, context
        self.smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, email: str) -> None:
        smtp = self.smtp or self._open()
        envelope_from = parseaddr(self.config.sender)[1]
        smtp.send_message(message, from_addr=envelope_from, to_addrs=[email])

    def _open(self) -> smtplib.SMTP:
        config = self.config
        context = self.context or ssl.create_default_context()
        if config.security == "ssl":
            smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                    context=context)
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            if config.security == "starttls":
                smtp.starttls(context=context)
            if config.user:
                smtp.login(config.user, config.password or "")
        except BaseException:
            smtp.close()
            raise
        self.smtp = smtp
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None
