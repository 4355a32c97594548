"""The image's recipe: deploy/Dockerfile passes hadolint, installs only hash-pinned
dependencies, runs as a numeric non-root user; its build context carries every package;
and the lock files still cover what pyproject.toml asks for (a dependency added without
`python3 deploy/tools.py lock` fails here, not in the image)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.k8s.conftest import REPO, run, tool

DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)", re.MULTILINE)


def pins(lock: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(lock.read_text())}


def test_dockerfile_passes_hadolint() -> None:
    done = run([tool("hadolint"), "--failure-threshold", "info", DOCKERFILE])
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_rejects_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python\nRUN pip install scrapy\nRUN apt-get install -y chromium\n")
    done = run([tool("hadolint"), careless])
    assert done.returncode != 0 and "DL3013" in done.stdout and "DL3006" in done.stdout


def test_dockerfile_installs_pinned_dependencies_and_drops_root() -> None:
    text = DOCKERFILE.read_text()
    flat = " ".join(text.replace("\\\n", " ").split())
    assert "--no-binary=pdqhash,vpdq -r /tmp/lock/requirements.lock" in flat
    assert "pip install --no-deps --require-hashes --no-build-isolation" in flat
    assert "--require-hashes --only-binary=:all: -r /tmp/lock/build.lock" in flat
    assert "--no-deps --no-build-isolation /src" in flat
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    assert (
        "chromium" in text
        and "ffmpeg" in text
        and re.search(r'^ENTRYPOINT \[.*"radar"\]', text, re.MULTILINE)
    )


def test_build_context_carries_every_package() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"!{package}/" in ignore, f"add !{package}/ to deploy/Dockerfile.dockerignore"


def test_lock_covers_the_project_dependencies() -> None:
    locked = pins(DEPLOY / "requirements.lock")
    wanted = list(PYPROJECT["project"]["dependencies"])
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, (
            f"{name} is not in deploy/requirements.lock: run deploy/tools.py lock"
        )
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{name}=={locked[name]} does not satisfy {requirement}: run deploy/tools.py lock"
        )


def test_build_lock_matches_the_runtime_lock() -> None:
    build, runtime = pins(DEPLOY / "build.lock"), pins(DEPLOY / "requirements.lock")
    for requirement in PYPROJECT["build-system"]["requires"]:
        assert canonicalize_name(Requirement(requirement).name) in build, requirement
    for name in set(build) & set(runtime):
        assert build[name] == runtime[name], name  # one numpy, built against and run with


def test_every_locked_file_has_a_hash() -> None:
    for lock in ("requirements.lock", "build.lock", "tools.lock"):
        text = (DEPLOY / lock).read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
        assert entries
        for entry in entries:
            assert "--hash=sha256:" in entry, f"{lock}: {entry.splitlines()[0]}"


def test_tools_lock_pins_what_tools_in_names() -> None:
    locked = pins(DEPLOY / "tools.lock")
    for name, version in PIN.findall((DEPLOY / "tools.in").read_text()):
        assert locked[canonicalize_name(name)] == version, name


def test_compose_file_is_valid_and_runs_every_role() -> None:
    compose = DEPLOY / "compose.yaml"
    done = run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", compose])
    assert done.returncode == 0, done.stdout + done.stderr
    text = compose.read_text()
    for role in ("crawler", "matcher", "scheduler", "review"):
        assert re.search(rf"^  {role}:\n    <<: \*radar\n    command: \[{role}", text, re.M), role
    assert "RADAR_REVIEW_SECRET: ${RADAR_REVIEW_SECRET:?" in text  # required, no default
    assert "command: [review, --elasticsearch," in text  # the hits the matchers write
    assert "RADAR_DB: postgresql://" in text and "command: [db, upgrade]" in text
    installs = (REPO / "devservers" / "installs.py").read_text()
    kafka = re.search(r'KAFKA_VERSION = "([^"]+)"', installs)
    elastic = re.search(r'ES_VERSION = "([^"]+)"', installs)
    assert kafka and f"apache/kafka:{kafka[1]}" in text
    assert elastic and f"elasticsearch:{elastic[1]}" in text
