"""The offline demo: bundled snapshot feeds served on loopback, and a config pointing at them.

`scanner demo` needs no network: `serve_demo_feeds()` serves the files of demo_data/feeds/ from a
ThreadingHTTPServer on 127.0.0.1 (random free port) with the headers a real feed server sends
(Content-Type with charset, ETag, Last-Modified, 304 on conditional requests, robots.txt), and
`write_demo_config()` writes a sources.yaml whose URLs point at that server. The snapshot covers
the five ISO weeks 2026-W43..W47; `DEMO_NOW` is the moment the demo pretends it is.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo_data"
BASE_URL_PLACEHOLDER = "{base_url}"
FEEDS_PATH = "/feeds/"
# Monday 2026-11-23 08:00 Europe/Stockholm: "last week" is then 2026-W47 (16-22 November).
DEMO_NOW = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)

MEDIA_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
    ".xml": "application/xml",
}
ROBOTS_TXT = b"User-agent: *\nAllow: /\n"
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


@dataclass(frozen=True)
class FeedFile:
    """One bundled feed as served: its bytes and the validators a real server would send."""

    name: str
    body: bytes
    content_type: str
    etag: str
    last_modified: datetime  # UTC, whole seconds

    @property
    def last_modified_header(self) -> str:
        return format_datetime(self.last_modified, usegmt=True)


def demo_data_dir() -> Path:
    """The folder of bundled demo data (inside the installed package)."""
    return DEMO_DATA_DIR


def load_feed_files(feeds_dir: Path | None = None) -> dict[str, FeedFile]:
    """Read every feed file of feeds_dir (default: the bundled snapshot), keyed by file name."""
    folder = Path(feeds_dir) if feeds_dir is not None else DEMO_DATA_DIR / "feeds"
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in MEDIA_TYPES:
            files[path.name] = _feed_file(path)
    return files


def _feed_file(path: Path) -> FeedFile:
    body = path.read_bytes()
    mtime = datetime.fromtimestamp(int(path.stat().st_mtime), tz=timezone.utc)
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return FeedFile(path.name, body, _content_type(path.suffix, body), etag, mtime)


def _content_type(suffix: str, body: bytes) -> str:
    """Media type by file suffix; the charset is the one the XML declaration names (JSON: UTF-8)."""
    charset = "utf-8"
    if suffix != ".json":
        match = _XML_ENCODING.match(body[:200])
        charset = match.group(1).decode("ascii").lower() if match else "utf-8"
    return f"{MEDIA_TYPES[suffix]}; charset={charset}"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up mid-response is no news in a demo: print nothing."""


class _FeedHandler(BaseHTTPRequestHandler):
    """Serves /feeds/<name>, /robots.txt and a small index; anything else is 404."""

    files: dict[str, FeedFile] = {}
    server_version = "scanner-demo/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def log_message(self, format, *args) -> None:  # noqa: A002
        """Silent: the demo's output is the pipeline's, not an access log."""

    def _respond(self, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/robots.txt":
            self._send(200, ROBOTS_TXT, "text/plain; charset=utf-8", send_body)
        elif path in ("/", FEEDS_PATH):
            self._send(200, self._index(), "text/plain; charset=utf-8", send_body)
        elif path.startswith(FEEDS_PATH) and path[len(FEEDS_PATH):] in self.files:
            self._send_feed(self.files[path[len(FEEDS_PATH):]], send_body)
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8", send_body)

    def _send_feed(self, feed: FeedFile, send_body: bool) -> None:
        validators = {"ETag": feed.etag, "Last-Modified": feed.last_modified_header}
        if _not_modified(self.headers, feed):
            self.send_response(304)
            for name, value in validators.items():
                self.send_header(name, value)
            self.end_headers()
            return
        self._send(200, feed.body, feed.content_type, send_body,
                   {**validators, "Cache-Control": "max-age=300"})

    def _send(self, status: int, body: bytes, content_type: str, send_body: bool,
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _index(self) -> bytes:
        lines = ["scanner demo feeds", ""] + [FEEDS_PATH + name for name in sorted(self.files)]
        return ("\n".join(lines) + "\n").encode("utf-8")


def _not_modified(headers, feed: FeedFile) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == feed.etag for tag in tags)
    since = _http_date(headers.get("If-Modified-Since"))
    return since is not None and feed.last_modified <= since


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@contextmanager
def serve_demo_feeds(feeds_dir: Path | None = None) -> Iterator[str]:
    """Serve the demo feeds on 127.0.0.1 (free port) in a daemon thread; yield the base URL.

    The feeds are at <base_url>/feeds/<file name>. The server stops when the block exits.
    """
    handler = type("DemoFeedHandler", (_FeedHandler,), {"files": load_feed_files(feeds_dir)})
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="scanner-demo-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_demo_config(target_dir: Path, base_url: str) -> Path:
    """Write the demo's config folder (e.g. var/demo/) for base_url; return its sources.yaml.

    sources.yaml is the bundled template with {base_url} filled in. Any other bundled config
    (top-level *.yaml such as taxonomy.yaml, and the digests/ folder) is copied alongside, with
    the same substitution; existing files there are overwritten, nothing else is touched.
    """
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    base_url = base_url.rstrip("/")
    for source in sorted(DEMO_DATA_DIR.glob("*.yaml")):
        _write_filled(source, target_dir / source.name, base_url)
    digests = DEMO_DATA_DIR / "digests"
    if digests.is_dir():
        _copy_config_tree(digests, target_dir / "digests", base_url)
    return target_dir / "sources.yaml"


def _copy_config_tree(source_dir: Path, target_dir: Path, base_url: str) -> None:
    for source in sorted(source_dir.rglob("*")):
        target = target_dir / source.relative_to(source_dir)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif source.suffix in (".yaml", ".yml"):
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_filled(source, target, base_url)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def _write_filled(source: Path, target: Path, base_url: str) -> None:
    text = source.read_text(encoding="utf-8")
    target.write_text(text.replace(BASE_URL_PLACEHOLDER, base_url), encoding="utf-8")
