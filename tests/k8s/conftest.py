"""Builds of every kustomization under k8s/ (overlays and the combinations of k8s/tests),
made once per session with the pinned kustomize, and the pinned check tools.

The tools come from ``python3 deploy/tools.py install`` (the cache folder it prints with
``bin``). A missing tool fails the tests, never skips them: an unchecked manifest must
not look like a checked one.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
SCHEMAS = REPO.parent / "shared" / "k8s-schemas"


def _load_tools() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_tools", REPO / "deploy" / "tools.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and friends look modules up by name
    spec.loader.exec_module(module)
    return module


TOOLS = _load_tools()


def tool(name: str) -> Path:
    """The pinned tool, or a test failure that says how to install it."""
    try:
        return Path(TOOLS.tool(name))
    except TOOLS.ToolError as exc:
        pytest.fail(str(exc), pytrace=False)


def run(cmd: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], check=False, capture_output=True, text=True, **kwargs
    )


def yaml_documents(text: str) -> list[dict[str, Any]]:
    """Parse multi-document YAML (deploy/tools.py, with the tools' PyYAML)."""
    try:
        documents: list[dict[str, Any]] = TOOLS.yaml_documents(text)
    except TOOLS.ToolError as exc:
        pytest.fail(str(exc), pytrace=False)
    return documents


# Not a cluster: podman plays it on one machine (tests/deploy), test_local.py checks it.
PLAYED = "overlays/local"


def kustomizations() -> list[str]:
    """Every buildable folder for a cluster: k8s/overlays/* (but the played one) and
    k8s/tests/*, relative to k8s/."""
    found = sorted(
        str(path.parent.relative_to(K8S))
        for pattern in ("overlays/*/kustomization.yaml", "tests/*/kustomization.yaml")
        for path in K8S.glob(pattern)
        if str(path.parent.relative_to(K8S)) != PLAYED
    )
    assert found, "no kustomization found under k8s/overlays or k8s/tests"
    return found


def flavour(name: str) -> str:
    """'prod' or 'dev': which overlay a build is (or is built on)."""
    if name.startswith("overlays/"):
        return name.split("/")[1]
    text = (K8S / name / "kustomization.yaml").read_text()
    for candidate in ("prod", "dev"):
        if f"../../overlays/{candidate}" in text:
            return candidate
    raise AssertionError(f"{name}: builds on no known overlay")


@dataclass
class Build:
    name: str
    yaml: str
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def flavour(self) -> str:
        return flavour(self.name)

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] in kinds]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(matches) == 1, f"{self.name}: expected one {kind}/{name}, got {len(matches)}"
        return matches[0]

    def namespace(self) -> str:
        (ns,) = self.of_kind("Namespace")
        name: str = ns["metadata"]["name"]
        return name


_BUILDS: dict[str, Build] = {}


def build(name: str) -> Build:
    """``kustomize build k8s/<name>``, once per session."""
    if name not in _BUILDS:
        done = run([tool("kustomize"), "build", K8S / name])
        assert done.returncode == 0, f"kustomize build k8s/{name} failed:\n{done.stderr}"
        _BUILDS[name] = Build(name, done.stdout, yaml_documents(done.stdout))
    return _BUILDS[name]


@pytest.fixture(params=kustomizations())
def built(request: pytest.FixtureRequest) -> Build:
    return build(request.param)
