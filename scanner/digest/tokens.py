"""Signed links in digests: per-item feedback ("relevant" / "inte-relevant") and unsubscribe.

A token is `<payload>.<signature>`, both base64url without padding: the payload is compact JSON,
the signature the first 16 bytes of HMAC-SHA256(secret, "scanner-digest-v1." + payload). Tokens
are signed, not encrypted: they carry the recipient's own address, which the link goes back to.
The web side reads them with `read_token` / `read_unsubscribe_token` and the same secret
(SCANNER_SECRET_KEY); a changed character anywhere makes them raise TokenError.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
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
    return _sign(secret, {"k": "f", "d": digest_id, "w": week, "e": email, "i": item_id,
                          "v": VERDICTS.index(verdict)})


def read_token(token: str, secret: str | bytes) -> FeedbackClaim:
    """Verify a feedback token. Raises TokenError when it is damaged or forged."""
    data = _verify(token, secret, "f")
    try:
        return FeedbackClaim(str(data["d"]), str(data["w"]), str(data["e"]), int(data["i"]),
                             VERDICTS[int(data["v"])])
    except (KeyError, ValueError, IndexError, TypeError):
        raise TokenError("the feedback link is incomplete; use the link from the email") from None


def make_unsubscribe_token(secret: str | bytes, digest_id: str, email: str) -> str:
    """A signed token that unsubscribes `email` from one digest."""
    return _sign(secret, {"k": "u", "d": digest_id, "e": email})


def read_unsubscribe_token(token: str, secret: str | bytes) -> UnsubscribeClaim:
    """Verify an unsubscribe token. Raises TokenError when it is damaged or forged."""
    data = _verify(token, secret, "u")
    try:
        return UnsubscribeClaim(str(data["d"]), str(data["e"]))
    except KeyError:
        raise TokenError("the unsubscribe link is incomplete; use the link from the email") \
            from None


def feedback_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/feedback/{token}"


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"


def _sign(secret: str | bytes, data: dict) -> str:
    payload = _b64(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_b64(_mac(secret, payload))}"


def _verify(token: str, secret: str | bytes, kind: str) -> dict:
    payload, dot, signature = (token or "").strip().partition(".")
    if not dot or not _BASE64URL.match(payload) or not _BASE64URL.match(signature):
        raise TokenError("the link is not a digest link (its token has no signature)")
    if not hmac.compare_digest(_unb64(signature), _mac(secret, payload)):
        raise TokenError("the link's signature does not match: it was changed, or it was signed "
                         "with another SCANNER_SECRET_KEY")
    data = json.loads(_unb64(payload))
    if not isinstance(data, dict) or data.get("k") != kind:
        raise TokenError("the link is of another kind (feedback and unsubscribe links differ)")
    return data


def _mac(secret: str | bytes, payload: str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise TokenError("SCANNER_SECRET_KEY is not set; digests need it to sign their links")
    return hmac.new(key, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()[
        :SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("the link is damaged (its token is not valid base64)") from None
