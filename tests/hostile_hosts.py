"""A hostile web host on loopback: one raw TCP server whose answer depends on the path.

Unlike :class:`tests.crawler.harness.FixtureServer` (a well-behaved HTTP server with
programmable routes), this one speaks broken HTTP on purpose, byte by byte, so the
client's parser, deadline and caps are what is tested. Every mode is a path:

=========================  ==============================================================
``/garbage``               a non-HTTP banner (``SSH-2.0-...``) and close
``/silent``                reads the request, closes without a byte
``/reset``                 reads the request, resets the connection (RST)
``/drip``                  the status line, one byte every ``drip_interval`` seconds
``/drip-body``             headers at once, then the body one byte per ``drip_interval``
``/hang``                  reads the request, then sends nothing until the client leaves
``/endless-headers``       a status line, then small headers without end
``/huge-header``           one header line of 1 MiB
``/redirect-loop``         302 to itself, forever
``/short-length``          ``Content-Length: 100000`` but 10 bytes, then close
``/long-length``           ``Content-Length: 10`` but 100,000 bytes
``/gzip-bomb``             ``Content-Encoding: gzip`` of 64 MiB of zeros (about 290 KB)
``/png-bomb``              a valid 1-bit PNG of 10,000 x 10,000 pixels (about 12 KB)
``/.well-known/security.txt``  hostile contacts: a comma list, a CRLF, 200 KB of lines
``/ok.png``                a small benign PNG (so a round can be seen to go on)
=========================  ==============================================================

Loopback only (``127.0.0.1``, port 0). ``connections`` counts the requests per path.
Drip and hang loops end when the client goes away or the server stops.
"""

from __future__ import annotations

import collections
import io
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections.abc import Callable
from functools import cache
from typing import Any, Self

from PIL import Image

MODES = (
    "/garbage",
    "/silent",
    "/reset",
    "/drip",
    "/drip-body",
    "/hang",
    "/endless-headers",
    "/huge-header",
    "/redirect-loop",
    "/short-length",
    "/long-length",
    "/gzip-bomb",
    "/png-bomb",
    "/.well-known/security.txt",
    "/ok.png",
)


@cache
def gzip_bomb(mib: int = 64) -> bytes:
    """``mib`` MiB of zeros, gzip-compressed (64 MiB: about 290 KB)."""
    z = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    return b"".join(z.compress(chunk) for _ in range(mib)) + z.flush()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_bomb(side: int = 10_000) -> bytes:
    """A valid all-black 1-bit PNG of ``side`` x ``side`` pixels, built with zlib alone."""
    row = b"\x00" + bytes((side + 7) // 8)  # filter byte + packed pixels
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@cache
def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


HOSTILE_SECURITY_TXT = (
    b"Contact: mailto:a@evil.example,leak@third.example\r\n"
    b"Contact: mailto:abuse@host.example\r\nBcc: leak@third.example\r\n"
    + b"Contact: mailto:x@host.example\r\n"
    * 6000
)


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _reply(body: bytes, content_type: str, **extra: str) -> bytes:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return _head("200 OK", {**headers, "Connection": "close"}) + body


class HostileHost:
    """Start with ``with HostileHost() as host:``; ``host.url("/garbage")``."""

    def __init__(self, drip_interval: float = 2.0) -> None:
        self.drip_interval = drip_interval
        self.connections: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    # -- modes: each gets the connected socket after the request was read ---------------
    def _send_slowly(self, sock: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self._stop.wait(self.drip_interval):
                return
            sock.sendall(data[i : i + 1])

    def _wait_for_close(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                if not sock.recv(1024):
                    return
            except TimeoutError:
                continue

    def _endless_headers(self, sock: socket.socket) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\n")
        block = b"".join(b"X-Pad-%d: yes\r\n" % i for i in range(1000))
        for _ in range(10_000):  # at most about 180 MB, normally the client leaves first
            if self._stop.is_set():
                return
            sock.sendall(block)

    def _serve(self, sock: socket.socket, path: str) -> None:
        modes: dict[str, Callable[[], Any]] = {
            "/garbage": lambda: sock.sendall(b"SSH-2.0-OpenSSH_9.6 hostile\r\n"),
            "/silent": lambda: None,
            "/reset": lambda: sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            ),
            "/drip": lambda: self._send_slowly(sock, b"HTTP/1.1 200 OK\r\n" + b"X" * 10_000),
            "/drip-body": lambda: (
                sock.sendall(
                    _head("200 OK", {"Content-Type": "image/png", "Content-Length": "100000"})
                ),
                self._send_slowly(sock, small_png() * 100),
            ),
            "/hang": lambda: self._wait_for_close(sock),
            "/endless-headers": lambda: self._endless_headers(sock),
            "/huge-header": lambda: sock.sendall(
                b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * (1 << 20) + b"\r\n\r\n"
            ),
            "/redirect-loop": lambda: sock.sendall(
                _head(
                    "302 Found",
                    {"Location": "/redirect-loop", "Content-Length": "0", "Connection": "close"},
                )
            ),
            "/short-length": lambda: sock.sendall(
                _head("200 OK", {"Content-Type": "image/png", "Content-Length": "100000"})
                + b"\x89PNG\r\n\x1a\n\x00\x00"
            ),
            "/long-length": lambda: sock.sendall(
                _head("200 OK", {"Content-Type": "image/png", "Content-Length": "10"})
                + small_png() * 200
            ),
            "/gzip-bomb": lambda: sock.sendall(
                _reply(gzip_bomb(), "image/png", Content_Encoding="gzip")
            ),
            "/png-bomb": lambda: sock.sendall(_reply(png_bomb(), "image/png")),
            "/.well-known/security.txt": lambda: sock.sendall(
                _reply(HOSTILE_SECURITY_TXT, "text/plain")
            ),
            "/ok.png": lambda: sock.sendall(_reply(small_png(), "image/png")),
        }
        mode = modes.get(path)
        if mode is None:
            sock.sendall(_reply(b"not found\n", "text/plain").replace(b"200 OK", b"404 Not Found"))
            return
        mode()

    def start(self) -> Self:
        host = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(10)
                request = b""
                try:
                    while b"\r\n\r\n" not in request and len(request) < 65536:
                        data = sock.recv(4096)
                        if not data:
                            return
                        request += data
                    parts = request.split(b" ", 2)
                    path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
                    host.connections[path] += 1
                    host._serve(sock, path)
                except OSError:
                    pass  # the client left: that is what clients of a hostile host do

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        gzip_bomb(), png_bomb()  # built before serving, so no mode waits for them
        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def elapsed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds it took)``: for bounded-time assertions."""
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start
