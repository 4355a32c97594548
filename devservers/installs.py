"""The software behind ``devservers.servers``: fetching Kafka and Elasticsearch, writing their
config (and PostgreSQL's) from ``deploy/local/`` templates, and the command line that
starts each.

Kafka is ``org.apache.kafka:kafka_2.13`` plus its runtime jars and a reload4j binding,
fetched by ``mvn dependency:copy-dependencies`` on a small generated pom. Elasticsearch is
the ``integ-test-zip`` distribution from Maven Central, unpacked in the servers home. Both
use the machine's Java 17+. PostgreSQL is the machine's (Debian's ``postgresql``
package): a cluster made once with ``initdb`` (user ``radar``, a generated password,
SCRAM on TCP), run with ``pg_ctl``. Only ``devservers.servers`` should need this module.
"""

from __future__ import annotations

import base64
import contextlib
import os
import pwd
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

KAFKA_VERSION = "3.9.2"
SLF4J_VERSION = "1.7.36"  # the slf4j-reload4j binding Kafka 3.9's own distribution ships
ES_VERSION = "8.19.21"
ES_USER = "radar-es"
PG_USER = "radar-pg"
PG_ROLE = "radar"  # the database role and database the stores use
TEMPLATES = Path(__file__).resolve().parents[1] / "deploy" / "local"
KAFKA_JVM = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true"]
DOWNLOAD_TIMEOUT = 1800.0  # seconds for one mvn run


class ServersError(RuntimeError):
    """A server could not be fetched, started or made healthy; the first line says why."""


def _need(tool: str, hint: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise ServersError(f"{tool} not found on PATH: {hint}")
    return found


def java_home() -> Path:
    """ES_JAVA_HOME, else JAVA_HOME, else the JDK of the ``java`` on PATH."""
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            return Path(os.environ[var])
    java = _need("java", "install Java 17+ (e.g. apt-get install openjdk-17-jre-headless)")
    return Path(java).resolve().parents[1]


def _run(
    argv: list[str],
    what: str,
    log: Path,
    cwd: Path,
    timeout: float,
    user: pwd.struct_passwd | None = None,
) -> None:
    """Run *argv* (as *user* if given) to completion, its output in *log*; ServersError
    naming the first error."""
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "wb") as out:
            code = subprocess.call(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
            )
    except subprocess.TimeoutExpired:
        raise ServersError(f"{what} took over {timeout:.0f} s; output in {log}") from None
    if code:
        lines = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace")).splitlines()
        reason = next(
            (x for x in lines if "ERROR" in x or "FATAL" in x or "error:" in x),
            lines[0] if lines else "no output",
        )
        raise ServersError(f"{what} failed (exit {code}): {reason.strip()}; output in {log}")


def _mvn(home: Path, what: str, cwd: Path, *args: str) -> None:
    mvn = _need("mvn", "install Maven (e.g. apt-get install maven)")
    argv = [mvn, "-B", "-q", "-Dstyle.color=never", *args]
    _run(
        argv,
        f"downloading {what} with mvn",
        home / "run" / f"mvn-{what}.log",
        cwd,
        DOWNLOAD_TIMEOUT,
    )


def _render(name: str, target: Path, **values: object) -> None:
    """Write deploy/local/*name* to *target* with each ``{{key}}`` replaced by its value."""
    try:
        text = (TEMPLATES / name).read_text()
    except OSError as exc:
        raise ServersError(f"config template {TEMPLATES / name}: {exc.strerror}") from None
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    if "{{" in text:
        raise ServersError(f"config template {TEMPLATES / name} has a placeholder with no value")
    target.write_text(text)


def install_kafka(home: Path) -> Path:
    """The folder of Kafka's jars under *home*, fetched from Maven Central on first use."""
    build = home / f"kafka-{KAFKA_VERSION}"
    libs = build / "libs"
    if not (libs / ".complete").exists():
        build.mkdir(parents=True, exist_ok=True)
        _render(
            "kafka-pom.xml",
            build / "pom.xml",
            kafka_version=KAFKA_VERSION,
            slf4j_version=SLF4J_VERSION,
        )
        shutil.rmtree(libs, ignore_errors=True)
        _mvn(
            home,
            "kafka",
            build,
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        )
        (libs / ".complete").touch()
    return libs


def install_elasticsearch(home: Path) -> Path:
    """The unpacked Elasticsearch under *home*, fetched from Maven Central on first use."""
    dist = home / f"elasticsearch-{ES_VERSION}"
    if not (dist / ".complete").exists():
        downloads = home / "downloads"
        downloads.mkdir(exist_ok=True)
        artifact = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
        _mvn(
            home,
            "elasticsearch",
            downloads,
            "dependency:copy",
            f"-Dartifact={artifact}",
            f"-DoutputDirectory={downloads}",
        )
        archive = downloads / f"elasticsearch-{ES_VERSION}.zip"
        shutil.rmtree(dist, ignore_errors=True)
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():  # extract() keeps names inside home; modes by hand
                os.chmod(zipped.extract(info, home), (info.external_attr >> 16) & 0o777 or 0o755)
        archive.unlink()
        (dist / ".complete").touch()
    return dist


def _system_user(name: str) -> pwd.struct_passwd | None:
    """Who a server that refuses root runs as: *name* under root (created if missing),
    else None (us)."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    useradd = _need("useradd", "install passwd, or run as a user other than root")
    options = "--system --user-group --no-create-home --home-dir /nonexistent --shell"
    done = subprocess.run(
        [useradd, *options.split(), "/usr/sbin/nologin", name], capture_output=True, text=True
    )
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ServersError(f"could not create user {name}: {done.stderr.strip()}") from None


def _give(path: Path, user: pwd.struct_passwd) -> None:
    """Check that *user* can reach *path*; make everything under it owned by *user*."""
    for parent in path.parents:
        info = parent.stat()
        if info.st_uid != user.pw_uid and not info.st_mode & 0o001:
            raise ServersError(
                f"user {user.pw_name} cannot enter {parent} (mode {info.st_mode & 0o777:o}): "
                "set RADAR_SERVERS_HOME to a folder outside it"
            )
    for item in [path, *path.rglob("*")]:
        os.chown(item, user.pw_uid, user.pw_gid, follow_symlinks=False)


def kafka_command(home: Path, state: Path, port: int, controller_port: int) -> list[str]:
    """Fetch Kafka, write its config under *state*, format its storage once; its argv."""
    java = [str(java_home() / "bin" / "java"), *KAFKA_JVM]
    libs = install_kafka(home)
    conf, data = state / "server.properties", state / "data"
    data.mkdir(parents=True, exist_ok=True)
    _render("server.properties", conf, port=port, controller_port=controller_port, data_dir=data)
    _render("log4j.properties", state / "log4j.properties")
    java += [f"-Dlog4j.configuration=file:{state}/log4j.properties", "-cp", f"{libs}/*"]
    if not (data / "meta.properties").exists():
        cluster = "A" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[1:22]  # no "-"
        _run(
            [*java, "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(conf)],
            "formatting Kafka storage",
            home / "run" / "kafka-format.log",
            state,
            120,
        )
    return [*java, "kafka.Kafka", str(conf)]


def elasticsearch_command(
    home: Path, state: Path, port: int, transport_port: int
) -> tuple[list[str], dict[str, str], pwd.struct_passwd | None]:
    """Fetch Elasticsearch, write its config under *state* and hand that folder to its
    user; return its argv, its whole environment, and the user to run it as (None: us)."""
    jdk, dist, user = java_home(), install_elasticsearch(home), _system_user(ES_USER)
    conf, data, logs, tmp = (state / name for name in ("config", "data", "logs", "tmp"))
    if not conf.exists():
        shutil.copytree(dist / "config", conf)
    for folder in (data, logs, tmp):
        folder.mkdir(parents=True, exist_ok=True)
    _render(
        "elasticsearch.yml",
        conf / "elasticsearch.yml",
        port=port,
        transport_port=transport_port,
        data_dir=data,
        logs_dir=logs,
    )
    _render("jvm.options", conf / "jvm.options", logs_dir=logs, tmp_dir=tmp)
    if user is not None:
        _give(state, user)  # the distribution stays root's and world-readable
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(state),
        "ES_JAVA_HOME": str(jdk),
        "ES_PATH_CONF": str(conf),
        "ES_TMPDIR": str(tmp),
    }
    return [str(dist / "bin" / "elasticsearch")], env, user


def postgres_bin() -> Path:
    """The folder of the machine's PostgreSQL server programs (the newest installed)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    if pg_ctl := shutil.which("pg_ctl"):
        return Path(pg_ctl).parent
    raise ServersError(
        "PostgreSQL is not installed: apt-get install -y postgresql (Debian), or put "
        "pg_ctl and initdb on PATH"
    )


def postgres_cluster(
    home: Path, state: Path, port: int
) -> tuple[Path, str, pwd.struct_passwd | None]:
    """Make the cluster under *state* once (``initdb``) and write its config; return the
    ``pg_ctl`` to run, the password of role ``radar``, and the user to run it as."""
    bindir, user = postgres_bin(), _system_user(PG_USER)
    data, sockets, secret = state / "data", state / "sockets", state / "password"
    sockets.mkdir(parents=True, exist_ok=True)
    if not secret.exists():
        secret.write_text(base64.urlsafe_b64encode(os.urandom(18)).decode())
        secret.chmod(0o600)
    password = secret.read_text().strip()
    if user is not None:
        _give(state, user)
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)  # a half-made cluster from a failed run
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_ROLE,
                f"--pwfile={secret}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            "initdb",
            home / "run" / "postgresql-initdb.log",
            state,
            300,
            user,
        )
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("\ninclude 'radar.conf'\n")
    _render("postgresql.conf", data / "radar.conf", port=port, socket_dir=sockets)
    if user is not None:
        _give(state, user)
    return bindir / "pg_ctl", password, user
