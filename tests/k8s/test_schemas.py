"""Every built object is valid: core Kubernetes kinds strictly against the API schemas
(kubernetes-validate --strict, oldest and newest supported release), the Strimzi, ECK and
KEDA resources against ../shared/k8s-schemas (check-jsonschema). The Prometheus
Operator's kinds have no schema there: tests/k8s/test_monitoring.py checks their
structure and every metric they name instead. Any other kind fails. The validators are
also shown to reject a broken object, so a pass means something."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.conftest import SCHEMAS, Build, run, tool

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # the oldest we support, the newest the tool has
CUSTOM_GROUPS = ("kafka.strimzi.io", "elasticsearch.k8s.elastic.co", "keda.sh")
# Checked by tests/k8s/test_monitoring.py (kind by kind), not against a schema.
STRUCTURAL = {
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}


def schema_of(obj: dict[str, Any]) -> Path | None:
    """The JSON schema file of a custom resource, None for a core (or unknown) kind."""
    group, _, version = obj["apiVersion"].rpartition("/")
    if group not in CUSTOM_GROUPS:
        return None
    return SCHEMAS / group / f"{obj['kind'].lower()}_{version}.json"


def _write(tmp_path: Path, objects: list[dict[str, Any]], name: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(f"---\n{json.dumps(o)}" for o in objects))  # JSON is YAML
    return path


def kubernetes_validate(path: Path, version: str) -> tuple[int, str]:
    done = run([tool("kubernetes-validate"), "--strict", "--quiet", "-k", version, path])
    return done.returncode, done.stdout + done.stderr


def check_jsonschema(schema: Path, instances: list[Path]) -> tuple[int, str]:
    done = run([tool("check-jsonschema"), "--schemafile", schema, *instances])
    return done.returncode, done.stdout + done.stderr


def test_schemas_folder_is_there() -> None:
    assert (SCHEMAS / "README.md").is_file(), f"custom resource schemas missing: {SCHEMAS}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_are_valid(built: Build, version: str, tmp_path: Path) -> None:
    core = [
        o
        for o in built.objects
        if schema_of(o) is None and (o["apiVersion"], o["kind"]) not in STRUCTURAL
    ]
    assert core
    code, output = kubernetes_validate(_write(tmp_path, core, "core.yaml"), version)
    # --quiet prints only warnings and errors; an unknown kind is only a warning there.
    assert code == 0 and not output.strip(), f"{built.name} on Kubernetes {version}:\n{output}"


def test_custom_resources_are_valid(built: Build, tmp_path: Path) -> None:
    by_schema: dict[Path, list[Path]] = {}
    for i, obj in enumerate(built.objects):
        schema = schema_of(obj)
        if schema is None:
            continue
        assert schema.is_file(), f"{built.name}: no schema for {obj['apiVersion']} {obj['kind']}"
        instance = tmp_path / f"{i}-{obj['kind']}-{obj['metadata']['name']}.json"
        instance.write_text(json.dumps(obj))
        by_schema.setdefault(schema, []).append(instance)
    if built.flavour == "prod":
        kinds = {p.stem for p in by_schema}
        assert {"kafka_v1", "kafkanodepool_v1", "kafkatopic_v1", "elasticsearch_v1"} <= kinds
    for schema, instances in by_schema.items():
        code, output = check_jsonschema(schema, instances)
        assert code == 0, f"{built.name}: {schema.name}:\n{output}"


def test_kubernetes_validate_rejects_a_broken_object(tmp_path: Path) -> None:
    broken = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "x"}]}}},
        "replica": 2,  # a typo: only --strict notices
    }
    code, output = kubernetes_validate(_write(tmp_path, [broken], "broken.yaml"), "1.37.0")
    assert code != 0 and "replica" in output


def test_check_jsonschema_rejects_a_broken_resource(tmp_path: Path) -> None:
    broken = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "x"},
        "spec": {"partitions": 0, "replica": 3},
    }
    instance = tmp_path / "broken.json"
    instance.write_text(json.dumps(broken))
    schema = schema_of(broken)
    assert schema is not None
    code, _ = check_jsonschema(schema, [instance])
    assert code != 0
