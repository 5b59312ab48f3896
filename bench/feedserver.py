"""A fast loopback feed server for benchmarks: asyncio, keep-alive, ETag/304.

Run as a process: python bench/feedserver.py DIR HOSTS  — prints one line per host base URL.
Serves DIR/<name>.xml at /<name>.xml and an allow-all /robots.txt on each 127.0.0.x host.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from pathlib import Path

ROBOTS = b"User-agent: *\nAllow: /\n"


def load_files(folder: Path) -> dict[str, tuple[bytes, str]]:
    files = {"/robots.txt": (ROBOTS, '"robots"')}
    for path in folder.glob("*.xml"):
        body = path.read_bytes()
        files[f"/{path.name}"] = (body, '"' + hashlib.sha1(body).hexdigest() + '"')
    return files


def response(status: str, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *(
        f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def answer(files, path: str, request_headers: dict[str, str]) -> bytes:
    if path not in files:
        return response("404 Not Found", {}, b"not found")
    body, etag = files[path]
    if request_headers.get("if-none-match") == etag:
        return response("304 Not Modified", {"ETag": etag}, b"")
    return response("200 OK", {"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"},
                    body)


async def serve_connection(files, reader, writer) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = dict(_header(line) for line in lines[1:] if ":" in line)
            writer.write(answer(files, path, headers))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


def _header(line: str) -> tuple[str, str]:
    name, value = line.split(":", 1)
    return name.strip().lower(), value.strip()


async def main(folder: Path, hosts: int) -> None:
    files = load_files(folder)
    servers = []
    for n in range(1, hosts + 1):
        server = await asyncio.start_server(lambda r, w: serve_connection(files, r, w),
                                            f"127.0.0.{n}", 0, backlog=1024)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        print(f"http://127.0.0.{n}:{port}", flush=True)
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
