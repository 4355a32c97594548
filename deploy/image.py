#!/usr/bin/env python3
"""Build the image of deploy/Dockerfile on a machine without Docker and without a
reachable image registry: podman with runc, on a Debian 12 base made with debootstrap.

    python3 deploy/image.py base      # localhost/radar-base:bookworm (debootstrap + import)
    python3 deploy/image.py build     # the base, then localhost/reupload-radar:local
    python3 deploy/image.py build --tag localhost/reupload-radar:test

``podman``, ``runc``, ``debootstrap`` and ``catatonit`` (the pause process of
``podman kube play``'s pods) are Debian packages; run as root, the script installs them
when missing, else it says what to install. podman reads ``deploy/podman.conf`` (runc,
no default ulimits, cgroupfs), through ``CONTAINERS_CONF``: nothing of the machine's own
podman setup is changed.

The base is what the python image would be: Debian 12 minbase with python3,
python3-venv, python-is-python3 and ca-certificates, from Debian's archive. The build
mounts the machine's CA bundle over the image's for its ``RUN`` steps (``apt-get`` and
``pip`` behind a TLS-inspecting proxy need it); it is never copied into a layer.
Standard library only, like deploy/tools.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
CONF = DEPLOY / "podman.conf"
DEBS = ("podman", "runc", "debootstrap", "catatonit")
SUITE = "bookworm"
MIRROR = os.environ.get("RADAR_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
BASE = "localhost/radar-base:bookworm"
IMAGE = "localhost/reupload-radar:local"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ImageError(RuntimeError):
    """podman or a build step failed; the message says which and what to do."""


def env() -> dict[str, str]:
    """The environment every podman call of the project runs with."""
    return {**os.environ, "CONTAINERS_CONF": str(CONF)}


def podman(*args: str, check: bool = True, capture: bool = False, **kwargs: object) -> str:
    """Run ``podman ARGS`` with the project's configuration; its stdout if *capture*."""
    done = subprocess.run(
        ["podman", *args],
        env=env(),
        check=False,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        **kwargs,  # type: ignore[call-overload]
    )
    if check and done.returncode != 0:
        detail = (done.stderr or "").strip()[-2000:] if capture else ""
        raise ImageError(f"podman {' '.join(args[:3])} ... exited {done.returncode}\n{detail}")
    return done.stdout or ""


def ensure_podman() -> None:
    """podman and its helpers are installed (as root: with apt-get), or ImageError."""
    missing = [d for d in DEBS if not shutil.which(d)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise ImageError(f"install {' '.join(missing)}: sudo apt-get install -y {' '.join(DEBS)}")
    apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *DEBS]):
        if subprocess.run(cmd, env=apt, check=False).returncode != 0:
            raise ImageError(f"{' '.join(cmd)} failed")


def exists(image: str) -> bool:
    return (
        subprocess.run(["podman", "image", "exists", image], env=env(), check=False).returncode == 0
    )


def base(force: bool = False) -> str:
    """The Debian base image (built once; its label names the package set), its name."""
    ensure_podman()
    recipe = hashlib.sha256(f"{SUITE} {MIRROR} {BASE_PACKAGES}".encode()).hexdigest()[:12]
    if not force and exists(BASE):
        label = podman("image", "inspect", "--format", "{{.Labels.recipe}}", BASE, capture=True)
        if label.strip() == recipe:
            return BASE
    with tempfile.TemporaryDirectory(prefix="radar-base-") as tmp:
        root = Path(tmp) / "rootfs"
        include = ",".join(BASE_PACKAGES)
        cmd = ["debootstrap", "--variant=minbase", f"--include={include}", SUITE, str(root)]
        if subprocess.run([*cmd, MIRROR], check=False).returncode != 0:
            raise ImageError("debootstrap failed (see its output above)")
        # apt's lists and caches do not belong in a base image
        for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
            for entry in (root / junk).glob("*"):
                if entry.is_file():
                    entry.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        changes = [f"ENV PATH={PATH}", "ENV LANG=C.UTF-8", 'CMD ["/bin/bash"]']
        changes.append(f"LABEL recipe={recipe}")
        args = [a for c in changes for a in ("--change", c)]
        podman("import", *args, "-", BASE, stdin=tar.stdout)
        if tar.wait() != 0:
            raise ImageError("tar of the debootstrap folder failed")
    return BASE


def build(tag: str = IMAGE) -> str:
    """Build deploy/Dockerfile on the base; the image's name."""
    base_image = base()
    volume = [f"--volume={CA_BUNDLE}:{CA_BUNDLE}:ro"] if CA_BUNDLE.exists() else []
    podman(
        "build",
        "--network=host",
        f"--ignorefile={DEPLOY / 'Dockerfile.dockerignore'}",
        f"--file={DEPLOY / 'Dockerfile'}",
        f"--build-arg=PYTHON_IMAGE={base_image}",
        *volume,
        f"--tag={tag}",
        str(REPO),
    )
    return tag


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "build"
    try:
        if command == "base":
            print(base(force="--force" in argv))
        elif command == "build":
            tag = argv[argv.index("--tag") + 1] if "--tag" in argv else IMAGE
            print(build(tag))
        else:
            print(f"usage: {sys.argv[0]} base [--force] | build [--tag NAME]", file=sys.stderr)
            return 2
    except ImageError as exc:
        print(f"deploy/image.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
