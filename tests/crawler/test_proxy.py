"""The browser's proxy, driven directly: it forwards to allowed addresses only, checks
the address a name resolves to (stub resolver) and every request on its own."""

from __future__ import annotations

import asyncio

from crawler.addresses import parse_networks
from crawler.proxy import GuardedProxy, bind_loopback
from crawler.resolver import stub_lookup
from tests.crawler.harness import FixtureServer, Reply


async def _ask(proxy_port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(request)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


def test_proxy_forwards_allowed_and_refuses_internal() -> None:
    allowed = FixtureServer({"/hello": Reply(body=b"hello from the site")})
    internal = FixtureServer({"prefix:/": Reply(body=b"secret")}, host="127.0.0.2")
    with allowed, internal:
        site_port = allowed.url.rsplit(":", 1)[1]
        internal_port = internal.url.rsplit(":", 1)[1]

        async def scenario() -> list[bytes]:
            sock = bind_loopback()
            proxy = GuardedProxy(
                sock,
                parse_networks(["127.0.0.1/32"]),
                lookup=stub_lookup({"site.test": ["127.0.0.1"], "intra.test": ["127.0.0.2"]}),
                timeout=5,
            )
            await proxy.start()
            port = sock.getsockname()[1]
            try:
                return [
                    await _ask(
                        port,
                        f"GET http://site.test:{site_port}/hello HTTP/1.1\r\n"
                        f"Host: site.test:{site_port}\r\n"
                        "Proxy-Connection: keep-alive\r\n\r\n".encode(),
                    ),
                    await _ask(
                        port,
                        f"GET http://intra.test:{internal_port}/ HTTP/1.1\r\n"
                        f"Host: intra.test\r\n\r\n".encode(),
                    ),
                    await _ask(
                        port, f"CONNECT 127.0.0.2:{internal_port} HTTP/1.1\r\n\r\n".encode()
                    ),
                    await _ask(
                        port,
                        b"GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n",
                    ),
                ]
            finally:
                await proxy.stop()

        ok, by_name, tunnel, metadata = asyncio.run(scenario())
    assert ok.startswith(b"HTTP/1.0 200") and ok.endswith(b"hello from the site")
    for refused in (by_name, tunnel, metadata):
        assert refused.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"127.0.0.2" in by_name and b"metadata" in metadata
    assert sum(internal.requests.values()) == 0
    assert allowed.headers_seen[0][1].get("connection") == "close"
    assert "proxy-connection" not in allowed.headers_seen[0][1]
