#!/usr/bin/env python3
"""The deployment check tools, pinned, installed idempotently into a cache folder; and the
refresh of the pinned dependency files.

    python3 deploy/tools.py install   # kustomize, kubernetes-validate, check-jsonschema, hadolint
    python3 deploy/tools.py bin       # print the folder that holds them (for PATH)
    python3 deploy/tools.py lock      # resolve deploy/{requirements,build,dev,tools}.lock,
                                      # keeping every pin (--upgrade: the newest versions)

``install`` needs Python 3.11+ (``python3 -m venv``), Go (``go install`` builds kustomize from
the Go module proxy) and PyPI; it does nothing when the pinned versions are already in
place, and holds a file lock, so two runs at once do not race. The Python tools come from
``deploy/tools.lock`` with ``--require-hashes``; kustomize is ``KUSTOMIZE_VERSION`` below.

The folder is ``RADAR_TOOLS_HOME``, else ``/var/cache/reupload-radar/tools`` for root, else
``${XDG_CACHE_HOME:-~/.cache}/reupload-radar/tools`` (next to the local servers' cache of
``radar up``). Runs with the standard library only: it is what sets the tools up.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

KUSTOMIZE_VERSION = "v5.8.2"  # the newest v5 whose go.mod (go 1.26.0) builds with Go 1.26
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
PYTHON_TOOLS = ("kubernetes-validate", "check-jsonschema", "hadolint", "uv")
TOOLS = ("kustomize", *PYTHON_TOOLS)

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
TOOLS_IN = DEPLOY / "tools.in"
TOOLS_LOCK = DEPLOY / "tools.lock"
# Extras the image installs besides the core dependencies (browser rendering, the review
# app and notices are core dependencies now: every role ships in the one image).
IMAGE_EXTRAS: tuple[str, ...] = ()
IMAGE_PYTHON = "3.11"  # the Python of deploy/Dockerfile's base image
IMAGE_PLATFORM = "x86_64-manylinux_2_28"  # its machine (Debian 12: glibc 2.36)


class ToolError(RuntimeError):
    """A tool is missing or could not be installed; the message says what to do."""


def tools_home() -> Path:
    """The cache folder of the tools (see the module docstring)."""
    if os.environ.get("RADAR_TOOLS_HOME"):
        return Path(os.environ["RADAR_TOOLS_HOME"])
    if os.geteuid() == 0:
        return Path("/var/cache/reupload-radar/tools")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "reupload-radar" / "tools"


def bin_dir() -> Path:
    return tools_home() / "bin"


def tool(name: str) -> Path:
    """The path of an installed tool; raises ToolError (with the fix) when it is missing."""
    if name not in TOOLS:
        raise ValueError(f"unknown tool {name!r}")
    path = bin_dir() / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ToolError(f"{name} is not in {bin_dir()}: run python3 deploy/tools.py install")
    return path


def yaml_documents(text: str) -> list[dict[str, Any]]:
    """The non-empty documents of multi-document YAML, read with the tools' Python (it
    has PyYAML; neither these scripts nor the project need it). Raises ToolError."""
    python = tool("kubernetes-validate").resolve().parent / "python"
    code = (
        "import json,sys,yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))"
    )
    done = subprocess.run(
        [str(python), "-c", code], input=text, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ToolError(f"reading YAML: {done.stderr.strip()}")
    documents: list[dict[str, Any]] = json.loads(done.stdout)
    return documents


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(cmd: list[str], **kwargs: object) -> str:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise ToolError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return str(done.stdout)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _install_python_tools(home: Path) -> bool:
    """Install deploy/tools.lock into ``home/venv``; False when it was already there."""
    env_dir = home / "venv"
    stamp = env_dir / ".tools-lock-sha256"
    wanted = _digest(TOOLS_LOCK)
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return False
    if env_dir.exists():
        shutil.rmtree(env_dir)
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "--quiet", "--no-cache-dir", "--require-hashes", "-r", str(TOOLS_LOCK)])
    stamp.write_text(wanted + "\n")
    return True


def _kustomize_version(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        return _run([str(path), "version"]).strip()
    except (ToolError, OSError):
        return None


def _install_kustomize(home: Path) -> bool:
    """Build kustomize with ``go install`` into ``home/bin``; False when already there."""
    target = home / "bin" / "kustomize"
    if _kustomize_version(target) == KUSTOMIZE_VERSION:
        return False
    go = shutil.which("go")
    if go is None:
        raise ToolError(
            "Go is needed to build kustomize (go install from the Go module proxy): "
            "install Go 1.26 or newer and put it on PATH"
        )
    staging = home / "go-bin"
    staging.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(staging), "CGO_ENABLED": "0"}
    _run([go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"], env=env, cwd=home)
    built = staging / "kustomize"
    version = _kustomize_version(built)
    if version != KUSTOMIZE_VERSION:
        raise ToolError(f"built kustomize says {version!r}, expected {KUSTOMIZE_VERSION}")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(built, target)
    return True


def install() -> list[str]:
    """Install every tool that is missing or at another version; return what was installed.
    Raises ToolError when something cannot be installed."""
    home = tools_home()
    done = []
    with _locked(home):
        if _install_python_tools(home):
            done += list(PYTHON_TOOLS)
        (home / "bin").mkdir(parents=True, exist_ok=True)
        for name in PYTHON_TOOLS:
            link = home / "bin" / name
            source = home / "venv" / "bin" / name
            if not source.is_file():
                raise ToolError(f"{source} missing after installing {TOOLS_LOCK.name}")
            if link.is_symlink() or link.exists():
                if link.resolve() == source.resolve():
                    continue
                link.unlink()
            link.symlink_to(source)
        if _install_kustomize(home):
            done.append("kustomize")
    for name in TOOLS:
        tool(name)
    return done


def lock(upgrade: bool = False) -> None:
    """Resolve the four lock files, with hashes. By default every version already pinned is
    kept and only what changed in the inputs is resolved (adding a package moves nothing
    else); ``upgrade`` re-resolves from scratch (the newest versions the bounds allow). The
    files: the image's runtime (``pyproject.toml``, for
    CPython 3.11 on x86_64 Linux), the image's build requirements (``deploy/build.in``,
    constrained to the runtime's versions, so numpy is the same in both), the development
    environment of ``make venv`` (the runtime's versions plus the ``dev`` extra) and the
    check tools. Then: review the diff, run the tests, rebuild the image, commit."""
    uv = str(tool("uv"))
    common = ["pip", "compile", "--quiet", "--generate-hashes", "--no-cache"]
    common += ["--upgrade"] if upgrade else []
    common += ["--custom-compile-command", "python3 deploy/tools.py lock"]
    image = ["--python-version", IMAGE_PYTHON, "--python-platform", IMAGE_PLATFORM]
    extras = [arg for extra in IMAGE_EXTRAS for arg in ("--extra", extra)]
    dev_out = ["-o", "deploy/dev.lock"]
    runs = [
        ["pyproject.toml", *extras, *image, "-o", "deploy/requirements.lock"],
        ["deploy/build.in", "-c", "deploy/requirements.lock", *image, "-o", "deploy/build.lock"],
        # the development environment (make venv): the image's versions plus the dev extra
        ["pyproject.toml", "--extra", "dev", "-c", "deploy/requirements.lock", *image, *dev_out],
        # the tools run on the developer's or CI's machine, whatever it is
        ["deploy/tools.in", "--universal", "--python-version", "3.11", "-o", "deploy/tools.lock"],
    ]
    for args in runs:
        _run([uv, *common, *args], cwd=REPO)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "install"
    try:
        if command == "install":
            done = install()
            what = f"installed {', '.join(done)}" if done else "up to date"
            print(f"tools in {bin_dir()}: {what}")
        elif command == "bin":
            print(bin_dir())
        elif command == "lock":
            lock(upgrade="--upgrade" in argv[1:])
            print("wrote deploy/{requirements,build,dev,tools}.lock")
        else:
            print(f"usage: {sys.argv[0]} install|bin|lock [--upgrade]", file=sys.stderr)
            return 2
    except ToolError as exc:
        print(f"deploy/tools.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
