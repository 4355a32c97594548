"""k8s/overlays/local, the overlay `make deploy-test` plays with podman (deploy/play.py):
what it renders must be what podman can run and what the test relies on."""

from __future__ import annotations

import base64
from typing import Any

from tests.k8s.conftest import PLAYED, build

PODMAN_VOLUMES = {"emptyDir", "hostPath", "persistentVolumeClaim", "configMap"}


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    built = build(PLAYED)
    return [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in built.of_kind("Deployment", "Job")
    ]


def test_every_role_is_played_with_the_replicas_of_the_deployment_test() -> None:
    built = build(PLAYED)
    replicas = {
        d["metadata"]["name"]: d["spec"].get("replicas", 1) for d in built.of_kind("Deployment")
    }
    assert replicas == {
        "radar-crawler": 2,
        "radar-matcher": 2,
        "radar-review": 2,
        "radar-scheduler": 1,
    }
    jobs = {j["metadata"]["name"] for j in built.of_kind("Job")}
    assert jobs == {"radar-db-migrate", "radar-topics"}


def test_pods_run_on_the_hosts_network_with_the_local_image_and_volumes_podman_plays() -> None:
    for name, spec in pod_specs():
        assert spec.get("hostNetwork") is True, name
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= PODMAN_VOLUMES, (name, volume)
        mounted = {v["name"] for v in spec.get("volumes", [])}
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["image"] == "localhost/reupload-radar:local", name
            assert {m["name"] for m in container.get("volumeMounts", [])} <= mounted, name


def test_the_config_points_at_loopback_and_no_credential_is_in_the_repository() -> None:
    built = build(PLAYED)
    data = built.get("ConfigMap", "radar-config")["data"]
    assert data["RADAR_KAFKA_BOOTSTRAP"].startswith("127.0.0.1:")
    assert data["RADAR_ES_URL"].startswith("http://127.0.0.1:")
    assert data["RADAR_KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert data["RADAR_ALLOWED_NETWORKS"] == "", "only a test opens loopback to crawlers"
    for secret in built.of_kind("Secret"):
        values = {base64.b64decode(v).decode() for v in secret.get("data", {}).values()}
        assert values == {"set-by-deploy-play"}, secret["metadata"]["name"]
