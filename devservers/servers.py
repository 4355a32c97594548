"""Local Apache Kafka, Elasticsearch and PostgreSQL for integration tests and the
distributed mode.

Fetches Kafka and Elasticsearch from Maven Central with ``mvn`` (Kafka's jars;
Elasticsearch's ``integ-test-zip`` distribution) and uses the machine's PostgreSQL
(Debian's ``postgresql`` package: a cluster made with ``initdb``, run with ``pg_ctl``);
starts them as background processes detached from the caller, checks their health and
stops them. All listen on 127.0.0.1 only.

Everything lives under the servers home: ``RADAR_SERVERS_HOME`` if set, else
``/var/cache/reupload-radar`` for root without ``XDG_CACHE_HOME`` (root's home is closed
to the Elasticsearch user), else ``${XDG_CACHE_HOME:-~/.cache}/reupload-radar``::

    kafka-<version>/libs/   broker jars       elasticsearch-<version>/  the distribution
    kafka/                  config, data/     elasticsearch/   config/ data/ logs/ tmp/
    postgresql/             data/ (the cluster), sockets/, password (of role radar)
    run/                    <server>.pid, <server>.log (console output), mvn-*.log

Ports, overridable by environment: Kafka 19092 (``RADAR_KAFKA_PORT``), its KRaft
controller 19093 (``RADAR_KAFKA_CONTROLLER_PORT``), Elasticsearch HTTP 19200
(``RADAR_ES_PORT``) and transport 19300 (``RADAR_ES_TRANSPORT_PORT``), PostgreSQL 15432
(``RADAR_PG_PORT``). Elasticsearch and PostgreSQL refuse to run as root, so under root
they run as the system users ``radar-es`` and ``radar-pg``, created on first use. Config
templates: ``deploy/local/``. Linux only (reads ``/proc``).

Command line: ``python -m devservers.servers up|down|status``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from devservers.installs import (
    ES_VERSION,
    PG_ROLE,
    ServersError,
    elasticsearch_command,
    kafka_command,
    postgres_cluster,
)

STOP_TIMEOUT = 30.0  # seconds between SIGTERM and SIGKILL
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
_LAUNCHED: dict[int, subprocess.Popen[bytes]] = {}  # our children, kept to be reaped


@dataclass(frozen=True)
class Servers:
    """Where clients reach the local servers."""

    kafka_bootstrap: str
    elasticsearch_url: str
    postgres_url: str = ""  # postgresql://radar:<password>@127.0.0.1:<port>/radar


@dataclass(frozen=True)
class _Server:
    """One managed server: its ports, its files, and how to recognise its processes."""

    name: str  # "kafka", "elasticsearch" or "postgresql"
    home: Path
    ports: tuple[int, ...]  # client port, then controller (Kafka) or transport (ES) port
    marker: str  # a path found in the command line of each of its processes

    @property
    def state(self) -> Path:
        return self.home / self.name

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "run" / f"{self.name}.log"


def _port(var: str, default: int) -> int:
    raw = os.environ.get(var, "")
    port = int(raw) if raw.isdigit() else 0 if raw else default
    if not 0 < port < 65536:
        raise ServersError(f"{var}={raw!r} is not a TCP port number")
    return port


def _kafka(home: Path) -> _Server:
    port = _port("RADAR_KAFKA_PORT", 19092)
    ports = (port, _port("RADAR_KAFKA_CONTROLLER_PORT", port + 1))
    return _Server("kafka", home, ports, str(home / "kafka" / "server.properties"))


def _es(home: Path) -> _Server:
    port = _port("RADAR_ES_PORT", 19200)
    ports = (port, _port("RADAR_ES_TRANSPORT_PORT", port + 100))
    return _Server("elasticsearch", home, ports, str(home / f"elasticsearch-{ES_VERSION}"))


def _pg(home: Path) -> _Server:
    return _Server("postgresql", home, (_port("RADAR_PG_PORT", 15432),), str(home / "postgresql"))


def postgres_url(home: Path | None = None, database: str = PG_ROLE) -> str:
    """The URL of *database* on the local PostgreSQL of *home* (role ``radar``)."""
    root = servers_home(home)
    try:
        password = (root / "postgresql" / "password").read_text().strip()
    except OSError:
        raise ServersError(f"no PostgreSQL cluster under {root}: run 'radar up' first") from None
    return f"postgresql://{PG_ROLE}:{password}@127.0.0.1:{_pg(root).ports[0]}/{database}"


def servers_home(home: Path | None = None) -> Path:
    """The servers home (see the module docstring), absolute; *home* wins if given."""
    if home is None and os.environ.get("RADAR_SERVERS_HOME"):
        home = Path(os.environ["RADAR_SERVERS_HOME"])
    elif home is None and os.geteuid() == 0 and not os.environ.get("XDG_CACHE_HOME"):
        home = Path("/var/cache/reupload-radar")
    elif home is None:
        home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "reupload-radar")
    return home.expanduser().resolve()


def _addresses(home: Path) -> Servers:
    pg = postgres_url(home) if (home / "postgresql" / "password").exists() else ""
    return Servers(
        f"127.0.0.1:{_kafka(home).ports[0]}", f"http://127.0.0.1:{_es(home).ports[0]}", pg
    )


@contextlib.contextmanager
def _lock(home: Path) -> Iterator[None]:
    """Serialise starts and stops across processes sharing *home* (not re-entrant)."""
    (home / "run").mkdir(parents=True, exist_ok=True)
    with open(home / "run" / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
    return "(missing)"


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def _group(pgid: int, marker: str) -> list[int]:
    """Live processes of process group *pgid* whose command line contains *marker*."""
    for popen in _LAUNCHED.values():
        popen.poll()  # reap our own exited children
    members = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            if int(group) == pgid and state != "Z" and marker in _cmdline(int(entry.name)):
                members.append(int(entry.name))
    return members


def _running(server: _Server) -> int | None:
    """The pid (= process group) of *server* if it runs; a stale pid file is removed."""
    try:
        pid = int(server.pid_file.read_text().strip())
    except (OSError, ValueError):
        pid = 0
    if pid > 0 and _group(pid, server.marker):
        return pid
    server.pid_file.unlink(missing_ok=True)
    return None


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _launch(
    server: _Server,
    argv: list[str],
    env: dict[str, str] | None = None,
    user: pwd.struct_passwd | None = None,
) -> None:
    """Start *argv* in a new session (its own process group) and write the pid file."""
    with open(server.log_file, "wb") as log:
        popen = subprocess.Popen(
            argv,
            cwd=server.state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
    _LAUNCHED[popen.pid] = popen
    server.pid_file.write_text(f"{popen.pid}\n")


def _healthy(server: _Server) -> bool:
    """Kafka: an admin client lists topics. Elasticsearch: cluster health yellow or green.
    PostgreSQL: role radar signs in and database radar exists (created here once)."""
    if not _listening(server.ports[0]):
        return False
    if server.name == "postgresql":
        return _postgres_ready(server.home)
    if server.name == "elasticsearch":
        url = f"http://127.0.0.1:{server.ports[0]}/_cluster/health"
        try:
            with _HTTP.open(url, timeout=5) as response:
                return json.load(response).get("status") in ("yellow", "green")
        except (OSError, ValueError):
            return False
    try:
        from kafka import KafkaAdminClient  # lazy: only Kafka users need kafka-python
    except ImportError:
        raise ServersError("kafka-python missing: pip install 'kafka-python>=2.3,<3'") from None
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{server.ports[0]}",
            request_timeout_ms=5000,
            api_version_auto_timeout_ms=5000,
        )
        admin.list_topics()
        admin.close()
    except Exception:  # any client error means "not yet"
        return False
    return True


def _postgres_ready(home: Path) -> bool:
    import psycopg  # lazy: only users of the service database need psycopg

    try:
        with psycopg.connect(postgres_url(home, "postgres"), connect_timeout=5) as conn:
            conn.autocommit = True
            if conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", (PG_ROLE,)).fetchone():
                return True
            conn.execute(f"CREATE DATABASE {PG_ROLE}")
        return True
    except psycopg.Error:
        return False


def _start_postgres(server: _Server) -> None:
    """``pg_ctl start`` (it detaches the postmaster in a session of its own) and the pid
    file from the cluster's ``postmaster.pid``."""
    pg_ctl, _, user = postgres_cluster(server.home, server.state, server.ports[0])
    server.log_file.touch()
    if user is not None:
        os.chown(server.log_file, user.pw_uid, user.pw_gid)
    data = server.state / "data"
    command = [str(pg_ctl), "-D", str(data), "-l", str(server.log_file), "-w", "-t", "120"]
    result = subprocess.run(
        [*command, "start"],
        cwd=server.state,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        extra_groups=[] if user else None,
    )
    if result.returncode != 0:
        raise ServersError(
            f"pg_ctl start failed (exit {result.returncode}): {result.stdout}{result.stderr}"
            f"\nlast lines of {server.log_file}:\n{_tail(server.log_file)}"
        )
    pid = (data / "postmaster.pid").read_text().split()[0]
    server.pid_file.write_text(f"{pid}\n")


def _stop(server: _Server, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the server's process group, SIGKILL after *timeout* s; remove the pid file.
    PostgreSQL: SIGINT (its fast shutdown) to the postmaster alone, which stops its
    children itself."""
    pid = _running(server)
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        if pid is None or not _group(pid, server.marker):
            break
        with contextlib.suppress(ProcessLookupError):
            if server.name == "postgresql" and sig == signal.SIGTERM:
                os.kill(pid, signal.SIGINT)
            else:
                os.killpg(pid, sig)
        end = time.monotonic() + wait
        while _group(pid, server.marker) and time.monotonic() < end:
            time.sleep(0.2)
    if pid is not None and _group(pid, server.marker):
        raise ServersError(f"{server.name} (process group {pid}) survived SIGKILL")
    end = time.monotonic() + 10.0  # a JVM's zombie leader's last threads may hold its ports
    while pid is not None and any(map(_listening, server.ports)) and time.monotonic() < end:
        time.sleep(0.2)
    server.pid_file.unlink(missing_ok=True)


def _await(server: _Server, deadline: float, timeout: float) -> None:
    """Return once *server* is healthy; else stop it and raise with its log's tail."""
    while not _healthy(server):
        if _running(server) is None:
            problem = "exited during start-up"
        elif time.monotonic() > deadline:
            problem = f"not healthy within {timeout:.0f} s"
            _stop(server)
        else:
            time.sleep(0.5)
            continue
        log = server.log_file
        raise ServersError(f"{server.name} {problem}; last lines of {log}:\n{_tail(log)}")


def up(
    kafka: bool = True,
    elasticsearch: bool = True,
    home: Path | None = None,
    timeout: float = 180,
    postgres: bool = True,
) -> Servers:
    """Make the requested servers run and be healthy; return where to reach them.

    Fetches them on first use (not counted in *timeout*), formats Kafka's storage once and
    reuses servers already running from this home (pid file + process check). Waits at
    most *timeout* seconds for health; a server that does not get there is stopped. The
    processes outlive the caller: stop them with :func:`down`. Raises ServersError when
    java or mvn is missing, a download fails, a port is taken, or a server is not healthy.
    """
    root = servers_home(home)
    candidates = ((_kafka(root), kafka), (_es(root), elasticsearch), (_pg(root), postgres))
    wanted = [s for s, on in candidates if on]
    with _lock(root):
        to_start = [server for server in wanted if _running(server) is None]
        for server in to_start:
            for port in server.ports:
                if _listening(port):
                    raise ServersError(
                        f"127.0.0.1:{port} is taken by a process that is not "
                        f"the {server.name} of {root}: stop it or change ports"
                    )
        for server in to_start:
            server.state.mkdir(parents=True, exist_ok=True)
            if server.name == "kafka":
                _launch(server, kafka_command(root, server.state, *server.ports))
            elif server.name == "postgresql":
                _start_postgres(server)
            else:
                _launch(server, *elasticsearch_command(root, server.state, *server.ports))
        deadline = time.monotonic() + timeout
        for server in wanted:
            _await(server, deadline, timeout)
    return _addresses(root)


def down(home: Path | None = None) -> None:
    """Stop the servers that run (SIGTERM, SIGKILL after 30 s); their data stays."""
    root = servers_home(home)
    with _lock(root):
        _stop(_es(root))
        _stop(_kafka(root))
        _stop(_pg(root))


def start_postgres(home: Path | None = None, timeout: float = 180) -> str:
    """Start PostgreSQL alone, as :func:`up` does; return the URL of database radar."""
    return up(kafka=False, elasticsearch=False, home=home, timeout=timeout).postgres_url


def stop_postgres(home: Path | None = None) -> None:
    """Stop PostgreSQL alone; the other servers keep running."""
    root = servers_home(home)
    with _lock(root):
        _stop(_pg(root))


def start_elasticsearch(home: Path | None = None, timeout: float = 180) -> str:
    """Start Elasticsearch alone, as :func:`up` does; return its URL."""
    return up(kafka=False, home=home, timeout=timeout).elasticsearch_url


def stop_elasticsearch(home: Path | None = None) -> None:
    """Stop Elasticsearch alone; Kafka keeps running."""
    root = servers_home(home)
    with _lock(root):
        _stop(_es(root))


def start_kafka(home: Path | None = None, timeout: float = 180) -> str:
    """Start Kafka alone, as :func:`up` does; return its bootstrap address."""
    return up(elasticsearch=False, home=home, timeout=timeout).kafka_bootstrap


def stop_kafka(home: Path | None = None) -> None:
    """Stop Kafka alone; Elasticsearch keeps running."""
    root = servers_home(home)
    with _lock(root):
        _stop(_kafka(root))


def status(home: Path | None = None) -> dict[str, dict[str, object]]:
    """Per server name: address, pid (None when stopped), whether its port accepts, log."""
    root = servers_home(home)
    found = _addresses(root)
    report: dict[str, dict[str, object]] = {}
    for server, address in (
        (_kafka(root), found.kafka_bootstrap),
        (_es(root), found.elasticsearch_url),
        (_pg(root), found.postgres_url.rsplit("@", 1)[-1]),  # no password in reports
    ):
        report[server.name] = {
            "address": address,
            "pid": _running(server),
            "listening": _listening(server.ports[0]),
            "log": str(server.log_file),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m devservers.servers up|down|status``: prints the addresses; 1 on ServersError."""
    parser = argparse.ArgumentParser(prog="python -m devservers.servers", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--home", type=Path, help="the servers home (default: see above)")
    parser.add_argument("--no-kafka", action="store_true", help="up: leave Kafka alone")
    parser.add_argument("--no-elasticsearch", action="store_true", help="up: leave ES alone")
    parser.add_argument("--no-postgres", action="store_true", help="up: leave PostgreSQL alone")
    parser.add_argument("--timeout", type=float, default=180.0, help="up: health wait (s)")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            found = up(
                not args.no_kafka,
                not args.no_elasticsearch,
                args.home,
                args.timeout,
                not args.no_postgres,
            )
            print(f"kafka bootstrap: {found.kafka_bootstrap}")
            print(f"elasticsearch:   {found.elasticsearch_url}")
            if found.postgres_url:
                print(f"postgresql:      {found.postgres_url}")
        elif args.command == "down":
            down(args.home)
            print(f"stopped the servers of {servers_home(args.home)}")
        else:
            report = {"home": str(servers_home(args.home)), **status(args.home)}
            print(json.dumps(report, indent=2))
    except ServersError as exc:
        print(f"devservers.servers: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
