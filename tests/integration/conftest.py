"""Integration fixtures: real local Kafka and Elasticsearch, shared by the whole session.

`devservers.servers.up()` fetches (on first use), starts and health-checks both servers once per
test session; they are stopped with `down()` when the session ends. A server that cannot
start fails the tests that need it, with the server's log tail: never a skip.
"""

from __future__ import annotations

import pytest

from devservers import servers as local_servers


@pytest.fixture(scope="session")
def servers(request: pytest.FixtureRequest) -> local_servers.Servers:
    """Addresses of the running local servers; `down()` runs at the end of the session."""
    request.addfinalizer(local_servers.down)
    try:
        return local_servers.up()
    except local_servers.ServersError as exc:
        pytest.fail(f"local servers did not start: {exc}", pytrace=False)
