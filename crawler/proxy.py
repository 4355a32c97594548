"""The browser's only way out: a forward proxy that applies the address rule.

Chromium renders hostile pages, which load scripts, call APIs and follow redirects on
their own; none of that passes through Scrapy's middlewares. So the browser gets no
network of its own: it is launched with this proxy for every URL, loopback included
(Playwright's ``<-loopback>`` rule), and with a host-resolver rule that makes any name
it would look up itself unresolvable. For each request (each redirect hop is a new
request) the proxy resolves the host once, refuses the connection if any answer is
forbidden (:func:`crawler.resolver.check_addresses`), and connects to the address it
checked. Plain ``http://`` requests are forwarded one per connection; ``CONNECT`` (TLS,
WebSockets) is tunnelled.

Runs on the crawl's asyncio loop (Scrapy's asyncio reactor). Counts in the crawl stats:
``radar/refused/address`` (a refusal), ``radar/browser/proxy/requests`` and
``radar/browser/proxy/errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from crawler.addresses import Network, forbidden_reason
from crawler.resolver import ForbiddenAddressError, Lookup, check_addresses, system_lookup

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
_HOP_HEADERS = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")


def bind_loopback() -> socket.socket:
    """A listening TCP socket on 127.0.0.1 with an ephemeral port (not yet served)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.setblocking(False)
    return sock


class GuardedProxy:
    def __init__(
        self,
        sock: socket.socket,
        allowed: Sequence[Network] = (),
        stats: Any = None,
        lookup: Lookup = system_lookup,
        timeout: float = 30.0,
    ) -> None:
        self.sock = sock
        self.allowed = tuple(allowed)
        self.stats = stats
        self.lookup = lookup
        self.timeout = timeout
        self.server: asyncio.AbstractServer | None = None
        self.refused: list[str] = []  # "host: reason", for logs and tests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _count(self, key: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(key)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, sock=self.sock, limit=MAX_HEAD)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 5)
            self.server = None

    async def _address(self, host: str) -> str:
        """The checked address to connect to; raises ForbiddenAddressError or OSError."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            loop = asyncio.get_running_loop()
            answers = await loop.run_in_executor(None, self.lookup, host)
            return check_addresses(host, answers, self.allowed)
        reason = forbidden_reason(literal, self.allowed)
        if reason:
            raise ForbiddenAddressError(f"{host} is {reason}")
        return str(literal)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
            line, _, rest = head.partition(b"\r\n")
            method, target, version = line.decode("latin-1").split(" ", 2)
            if method == "CONNECT":
                host, _, port_text = target.rpartition(":")
                port, path = int(port_text), ""
            else:
                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    raise ValueError(f"not an absolute http URL: {target[:200]!r}")
                host, port = parts.hostname, parts.port or 80
                path = parts.path or "/"
                if parts.query:
                    path += "?" + parts.query
            self._count("radar/browser/proxy/requests")
            try:
                address = await self._address(host)
            except ForbiddenAddressError as exc:
                self._count("radar/refused/address")
                self.refused.append(str(exc))
                log.info("browser request refused: %s", exc)
                await self._answer(writer, b"403 Forbidden", str(exc))
                return
            except OSError as exc:
                self._count("radar/browser/proxy/errors")
                await self._answer(writer, b"502 Bad Gateway", f"cannot resolve {host}: {exc}")
                return
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, port, limit=MAX_HEAD), self.timeout
            )
            upstream = up_writer
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            else:
                kept = [
                    h
                    for h in rest.split(b"\r\n")
                    if h and h.split(b":", 1)[0].strip().lower() not in _HOP_HEADERS
                ]
                request = f"{method} {path} {version}\r\n".encode("latin-1")
                up_writer.write(request + b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n")
            pipes = [
                asyncio.ensure_future(self._pipe(reader, up_writer)),
                asyncio.ensure_future(self._pipe(up_reader, writer)),
            ]
            # The server's side ending ends the exchange (its response is complete).
            await asyncio.wait([pipes[1]])
            pipes[0].cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self._count("radar/browser/proxy/errors")
            log.debug("browser proxy: %s", exc)
        except TimeoutError:
            self._count("radar/browser/proxy/errors")
        finally:
            for stream in (upstream, writer):
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), self.timeout)
                if not chunk:
                    break
                writer.write(chunk)
                await writer.drain()
        except (OSError, TimeoutError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if writer.can_write_eof():
                    writer.write_eof()

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: bytes, text: str) -> None:
        body = text.encode("utf-8", "replace")[:2000]
        writer.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        with contextlib.suppress(Exception):
            await writer.drain()
