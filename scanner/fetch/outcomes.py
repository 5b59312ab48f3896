"""Every HTTP and network outcome of a fetch, mapped to a stable error key and a message.

This is the one place that knows what a status code or an httpx exception means for a source.
Each message is one English line naming the source id, what happened and the fix.

Error keys (stable, stored in SourceState.last_error_key):
  http_<status>       any error status, e.g. http_404, http_410, http_429, http_500, http_503
  dns                 host name does not resolve
  connection_refused  nothing listens at host:port
  connection_failed   other connect failures (unreachable network, reset during connect)
  connect_timeout     no TCP/TLS connection within SCANNER_CONNECT_TIMEOUT
  read_timeout        the server stopped sending
  timeout             the whole fetch exceeded SCANNER_TIMEOUT
  tls                 TLS handshake or certificate verification failed
  too_many_redirects  more than MAX_REDIRECTS redirects
  redirect_loop       a redirect pointed back to a URL already visited
  bad_redirect        a 3xx without a usable Location header
  body_too_large      the body exceeded SCANNER_MAX_BODY_BYTES and was cut
  invalid_url         the URL cannot be fetched (not http/https, malformed)
  robots_disallowed   robots.txt forbids the URL for our User-Agent
  protocol_error      the server broke HTTP
  network_error       the connection failed while sending or reading
  decoding_error      a compressed body could not be decoded
  unexpected          anything else (a bug in scanner)
"""

from __future__ import annotations

import errno
import socket
import ssl
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus

import httpx

from scanner.models import FetchResult, Source
from scanner.settings import Settings

MAX_REDIRECTS = 10
MAX_RETRY_AFTER = timedelta(days=7)

_DISCOVER = "find the new feed URL (scanner sources discover) and update sources.yaml"
_TRANSIENT = "usually temporary; scanner retries with backoff — if it lasts for days, "

MESSAGES: dict[str, str] = {
    "http_3xx": "{id}: HTTP {status_text} at {url} — the server answered with a redirect "
    "scanner cannot follow; open the URL in a browser, then {discover}",
    "http_400": "{id}: HTTP 400 Bad Request at {url} — the server rejects the URL; check the "
    "url in sources.yaml",
    "http_401": "{id}: HTTP 401 Unauthorized at {url} — the feed needs a login; use a public "
    "feed URL or remove the source from sources.yaml",
    "http_403": "{id}: HTTP 403 Forbidden at {url} — the site refuses us; ask the site owner to "
    "allow User-Agent 'scanner', or {discover}",
    "http_404": "{id}: HTTP 404 Not Found at {url} — the feed has moved or been removed; "
    "{discover}",
    "http_410": "{id}: HTTP 410 Gone at {url} — the site says the feed is gone for good, so the "
    "source is disabled; {discover}, or remove it",
    "http_429": "{id}: HTTP 429 Too Many Requests at {url} — the site limits our rate; the next "
    "try waits {retry}; raise interval for this source in sources.yaml if it keeps happening",
    "http_4xx": "{id}: HTTP {status_text} at {url} — the server rejects the request; check "
    "the url in sources.yaml",
    "http_503": "{id}: HTTP 503 Service Unavailable at {url} — the site is down or overloaded; "
    "the next try waits {retry}; " + _TRANSIENT + "contact the site owner",
    "http_5xx": "{id}: HTTP {status_text} at {url} — server error at the site; "
    + _TRANSIENT + "contact the site owner",
    "dns": "{id}: cannot resolve host {host} for {url} — check the spelling of the url in "
    "sources.yaml; the domain may no longer exist",
    "connection_refused": "{id}: connection refused by {host} at {url} — the server is down or "
    "the port is wrong; check the url in sources.yaml; " + _TRANSIENT + "contact the site owner",
    "connection_failed": "{id}: cannot connect to {host} at {url} ({detail}) — check the network "
    "of this machine and the url in sources.yaml",
    "connect_timeout": "{id}: no connection to {host} within {connect_timeout:g} s at {url} — the "
    "server or the network is slow or down; " + _TRANSIENT + "raise SCANNER_CONNECT_TIMEOUT",
    "read_timeout": "{id}: {host} stopped sending data at {url} — the server is overloaded; "
    + _TRANSIENT + "raise SCANNER_TIMEOUT",
    "timeout": "{id}: fetching {url} took longer than {timeout:g} s — the server is very slow; "
    + _TRANSIENT + "raise SCANNER_TIMEOUT",
    "tls": "{id}: TLS error at {url} ({detail}) — the site's HTTPS certificate does not verify "
    "(expired, self-signed or wrong host); contact the site owner — scanner never skips "
    "certificate checks",
    "too_many_redirects": "{id}: more than {max_redirects} redirects starting at {url} — open "
    "the URL in a browser to find where the feed lives, then update sources.yaml",
    "redirect_loop": "{id}: redirect loop at {url} — the site redirects back to a URL already "
    "visited; open it in a browser, then {discover}",
    "bad_redirect": "{id}: HTTP {status} redirect without a usable Location at {url} — the "
    "server is misconfigured; contact the site owner or {discover}",
    "body_too_large": "{id}: the response from {url} is larger than {max_body:,} bytes and was "
    "cut off — check that the url is a feed, not a large file; raise SCANNER_MAX_BODY_BYTES "
    "if the feed really is that large",
    "invalid_url": "{id}: invalid URL {url} ({detail}) — fix the url in sources.yaml; it must "
    "start with http:// or https://",
    "robots_disallowed": "{id}: robots.txt of {host} disallows {url} for scanner — ask the site "
    "owner to allow User-Agent 'scanner', or remove the source from sources.yaml",
    "protocol_error": "{id}: {host} broke the HTTP protocol at {url} ({detail}) — "
    + _TRANSIENT + "contact the site owner",
    "network_error": "{id}: the connection to {host} failed at {url} ({detail}) — "
    + _TRANSIENT + "check the network of this machine",
    "decoding_error": "{id}: cannot decode the compressed body from {url} ({detail}) — the "
    "server sends broken gzip/deflate/brotli data; contact the site owner",
    "unexpected": "{id}: unexpected error while fetching {url} ({detail}) — this is a bug in "
    "scanner; please report it with this message",
}

MOVED_MESSAGE = (
    "{id}: the feed has moved permanently from {url} to {moved_to} — update the url in "
    "sources.yaml"
)


def error_result(source: Source, url: str, key: str, now: datetime, settings: Settings,
                 **fields) -> FetchResult:
    """A FetchResult with outcome "error", its stable key and its one-line message."""
    detail = fields.pop("detail", "")
    status = fields.get("status")
    message = _message(key, source, url, settings, detail, status, fields.get("retry_after"))
    return FetchResult(source_id=source.id, url=source.url, outcome="error", fetched_at=now,
                       error_key=key, message=message, **fields)


def status_result(source: Source, url: str, response: httpx.Response, now: datetime,
                  settings: Settings) -> FetchResult:
    """The error result for a non-2xx, non-304 final response."""
    status = response.status_code
    retry = None
    if status in (429, 503):
        retry = parse_retry_after(response.headers.get("retry-after"), now)
    return error_result(source, url, f"http_{status}", now, settings, status=status,
                        retry_after=retry, disable=status == 410, final_url=url,
                        headers=dict(response.headers.items()))


def exception_result(source: Source, url: str, exc: BaseException, now: datetime,
                     settings: Settings) -> FetchResult:
    """The error result for an exception raised while fetching `url`."""
    key = exception_key(exc)
    return error_result(source, url, key, now, settings, detail=str(exc) or type(exc).__name__)


def moved_message(source: Source, moved_to: str) -> str:
    return MOVED_MESSAGE.format(id=source.id, url=source.url, moved_to=moved_to)


def exception_key(exc: BaseException) -> str:
    """The stable error key of an exception (httpx, OS, SSL or other)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return "invalid_url"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        return "read_timeout"
    if isinstance(exc, httpx.ConnectError):
        return _connect_key(exc)
    return _transport_key(exc)


def _transport_key(exc: BaseException) -> str:
    if any(isinstance(e, ssl.SSLError) for e in _causes(exc)):
        return "tls"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too_many_redirects"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError)):
        return "protocol_error"
    if isinstance(exc, httpx.DecodingError):
        return "decoding_error"
    if isinstance(exc, (httpx.NetworkError, httpx.ProxyError, ConnectionError)):
        return "network_error"
    return "unexpected"


def _connect_key(exc: BaseException) -> str:
    """Tell DNS failure, refusal and TLS failure apart by walking the exception chain."""
    causes = list(_causes(exc))
    if any(isinstance(e, ssl.SSLError) for e in causes):
        return "tls"
    if any(isinstance(e, socket.gaierror) for e in causes):
        return "dns"
    if any(_is_refused(e) for e in causes):
        return "connection_refused"
    text = " ".join(str(e) for e in causes).lower()
    if any(s in text for s in ("name or service", "nodename", "getaddrinfo", "name resolution")):
        return "dns"
    return "connection_refused" if "refused" in text else "connection_failed"


def _is_refused(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED)


def _causes(exc: BaseException):
    """The exception, its causes and contexts, and members of exception groups."""
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]
        todo += list(getattr(current, "exceptions", ()) or ())


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as seconds or an HTTP-date, relative to now; capped at MAX_RETRY_AFTER."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        delay = when - _aware(now)
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def _message(key: str, source: Source, url: str, settings: Settings, detail: str,
             status: int | None, retry: timedelta | None) -> str:
    template = MESSAGES.get(key) or MESSAGES[_status_family(status)]
    return template.format(
        id=source.id, url=_one_line(url), host=httpx.URL(url).host if _parses(url) else url,
        status=status, status_text=f"{status} {_reason(status)}".strip(),
        detail=_one_line(detail) if detail else "no detail",
        retry=_human(retry), timeout=settings.timeout,
        connect_timeout=settings.connect_timeout, max_body=settings.max_body_bytes,
        max_redirects=MAX_REDIRECTS, discover=_DISCOVER,
    )


def _status_family(status: int | None) -> str:
    if status is None or status >= 500:
        return "http_5xx"
    return "http_4xx" if status >= 400 else "http_3xx"


def _reason(status: int | None) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _parses(url: str) -> bool:
    try:
        return bool(httpx.URL(url).host)
    except Exception:  # noqa: BLE001 - any malformed URL
        return False


def _human(delay: timedelta | None) -> str:
    if delay is None:
        return "the usual backoff"
    seconds = int(delay.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def _one_line(detail: str) -> str:
    text = " ".join(detail.split())
    return text if len(text) <= 200 else text[:197] + "..."
