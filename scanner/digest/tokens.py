"""Signed links in digests: per-item feedback ("relevant" / "inte-relevant") and unsubscribe.

A token is `<payload>.<signature>`, both base64url without padding: the payload is the fields
joined by newlines (kind "f" or "u", digest id, then week, email, item id and verdict 0 = relevant,
1 = inte-relevant for feedback; email for unsubscribe), the signature the first 16 bytes of HMAC-SHA256(secret, "scanner-digest-v1." + payload). Tokens
are signed, not encrypted: they carry the recipient's own address, which the link goes back to.
The web side reads them with `read_token` / `read_unsubscribe_token` and the same secret
(SCANNER_SECRET_KEY); a changed character anywhere makes them raise TokenError.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from scanner.errors import ScannerError

VERDICTS = ("relevant", "inte-relevant")
SIGNATURE_BYTES = 16
_CONTEXT = b"scanner-digest-v1."
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


class TokenError(ScannerError):
    """A feedback or unsubscribe link is damaged, forged or signed with another key."""


@dataclass(frozen=True)
class FeedbackClaim:
    """What a verified feedback link says: this recipient judged this item in this digest."""

    digest_id: str
    week: str
    email: str
    item_id: int
    verdict: str  # "relevant" | "inte-relevant"

    @property
    def relevant(self) -> bool:
        return self.verdict == "relevant"


@dataclass(frozen=True)
class UnsubscribeClaim:
    """What a verified unsubscribe link says: this address leaves this digest."""

    digest_id: str
    email: str


def make_token(secret: str | bytes, digest_id: str, week: str, email: str, item_id: int,
               verdict: str) -> str:
    """A signed feedback token for one item and one verdict."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not '{verdict}'")
    return _sign(secret, ["f", digest_id, week, email, str(int(item_id)),
                          str(VERDICTS.index(verdict))])


def token_length(digest_id: str, week: str, email: str, item_id: int) -> int:
    """len(make_token(...)) for either verdict, without signing it."""
    fields = ["f", digest_id, week, email, str(int(item_id)), "0"]
    return _b64_length(len("\n".join(fields).encode("utf-8"))) + 1 + _b64_length(SIGNATURE_BYTES)


def read_token(token: str, secret: str | bytes) -> FeedbackClaim:
    """Verify a feedback token. Raises TokenError when it is damaged or forged."""
    fields = _verify(token, secret, "f")
    try:
        digest_id, week, email, item_id, verdict = fields
        return FeedbackClaim(digest_id, week, email, int(item_id), VERDICTS[int(verdict)])
    except (ValueError, IndexError):
        raise TokenError("the feedback link is incomplete; use the link from the email") from None


def make_unsubscribe_token(secret: str | bytes, digest_id: str, email: str) -> str:
    """A signed token that unsubscribes `email` from one digest."""
    return _sign(secret, ["u", digest_id, email])


def read_unsubscribe_token(token: str, secret: str | bytes) -> UnsubscribeClaim:
    """Verify an unsubscribe token. Raises TokenError when it is damaged or forged."""
    fields = _verify(token, secret, "u")
    try:
        digest_id, email = fields
        return UnsubscribeClaim(digest_id, email)
    except ValueError:
        raise TokenError("the unsubscribe link is incomplete; use the link from the email") \
            from None


def feedback_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/feedback/{token}"


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"


def _sign(secret: str | bytes, fields: list[str]) -> str:
    if any("\n" in field for field in fields):
        raise ValueError("token fields must not contain line breaks")
    payload = _b64("\n".join(fields).encode("utf-8"))
    return f"{payload}.{_b64(_mac(secret, payload))}"


def _verify(token: str, secret: str | bytes, kind: str) -> list[str]:
    payload, dot, signature = (token or "").strip().partition(".")
    if not dot or not _BASE64URL.match(payload) or not _BASE64URL.match(signature):
        raise TokenError("the link is not a digest link (its token has no signature)")
    if not hmac.compare_digest(signature, _b64(_mac(secret, payload))):  # canonical text
        raise TokenError("the link's signature does not match: it was changed, or it was signed "
                         "with another SCANNER_SECRET_KEY")
    found, *fields = _unb64(payload).decode("utf-8").split("\n")
    if found != kind:
        raise TokenError("the link is of another kind (feedback and unsubscribe links differ)")
    return fields


def _mac(secret: str | bytes, payload: str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise TokenError("SCANNER_SECRET_KEY is not set; digests need it to sign their links")
    return hmac.new(key, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()[
        :SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_length(size: int) -> int:
    return (4 * size + 2) // 3  # base64 without its "=" padding


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("the link is damaged (its token is not valid base64)") from None
