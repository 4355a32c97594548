"""What the built objects promise beyond their schemas: every radar pod meets the
"restricted" Pod Security Standard with a read-only root and bounded resources, probes
hit the endpoints the roles serve, no secret value is in a manifest, autoscaling never
exceeds the partitions of the topic it watches, and the topics are those of
wire/topics.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.k8s.conftest import PLAYED, Build, build, kustomizations
from wire import topics

ROLE_COMMANDS = {"crawler", "matcher", "scheduler", "review", "schedule", "topics", "db"}
# The roles that keep state in the service store (PostgreSQL), and those that must not.
STORE_USERS = {"crawler", "scheduler", "review", "schedule", "db"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN", re.IGNORECASE)


def workloads(b: Build) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(object, pod template) of every Deployment, Job and CronJob of the radar."""
    found = []
    for obj in b.of_kind("Deployment", "Job", "CronJob"):
        spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
        found.append((obj, spec["template"]))
    assert found
    return found


def config(b: Build) -> dict[str, str]:
    data: dict[str, str] = b.get("ConfigMap", "radar-config")["data"]
    return data


def test_namespace_enforces_restricted_pod_security(built: Build) -> None:
    labels = built.get("Namespace", built.namespace())["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(
        o["metadata"].get("namespace") == built.namespace()
        for o in built.objects
        if o["kind"] != "Namespace"
    )


def test_pods_meet_the_restricted_standard(built: Build) -> None:
    for obj, template in workloads(built):
        name = f"{built.name}: {obj['kind']}/{obj['metadata']['name']}"
        spec = template["spec"]
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name
        assert pod_security["runAsUser"] != 0, name
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for container in spec.get("initContainers", []) + spec["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security.get("privileged", False) is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert not security["capabilities"].get("add"), name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{name}: a read-only root needs a writable /tmp"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), name


def test_every_volume_is_bounded_or_a_claim(built: Build) -> None:
    for obj, template in workloads(built):
        for volume in template["spec"].get("volumes", []):
            if "emptyDir" in volume:
                assert volume["emptyDir"].get("sizeLimit"), (obj["metadata"]["name"], volume)
            else:
                assert {"secret", "persistentVolumeClaim", "configMap"} & set(volume), volume


def test_roles_run_the_one_image_with_a_radar_command(built: Build) -> None:
    images = set()
    for obj, template in workloads(built):
        spec = template["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            images.add(container["image"])
            assert container["args"][0] in ROLE_COMMANDS, obj["metadata"]["name"]
    assert len(images) == 1, images
    (image,) = images
    assert "/" in image and not image.endswith(":latest"), f"overlay must set the image: {image}"


def test_long_running_roles_have_probes_on_their_endpoints(built: Build) -> None:
    health_port = int(config(built)["RADAR_HEALTH_PORT"])
    deployments = {d["metadata"]["name"]: d for d in built.of_kind("Deployment")}
    assert {"radar-crawler", "radar-matcher", "radar-review"} <= set(deployments)
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container[probe]["httpGet"]
            port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
            if name == "radar-review":
                assert (get["path"], port) == (path, 8080), (name, probe)
                assert container["args"][-4:] == ["--host", "0.0.0.0", "--port", "8080"]
                assert "--elasticsearch" in container["args"]  # the hits the matchers write
            else:
                assert (get["path"], port) == (path, health_port), (name, probe)
        assert "startupProbe" in container, name


def test_each_role_has_its_service_account_and_service(built: Build) -> None:
    accounts = {a["metadata"]["name"] for a in built.of_kind("ServiceAccount")}
    services = {s["metadata"]["name"] for s in built.of_kind("Service")}
    for deployment in built.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] in accounts
        assert name in services, name
    for account in built.of_kind("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False


def test_no_secret_value_in_any_manifest(built: Build) -> None:
    for secret in built.of_kind("Secret"):  # only generated, non-secret role definitions
        assert secret["metadata"]["name"] == "radar-es-roles", secret["metadata"]["name"]
        assert set(secret.get("data", {})) == {"roles.yml"}
    for key in config(built):
        assert not SECRET_NAME.search(key), key
    for obj, template in workloads(built):
        for container in template["spec"]["containers"]:
            for env in container.get("env", []):
                if SECRET_NAME.search(env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), (obj["metadata"], env)
    assert "BEGIN PRIVATE KEY" not in built.yaml and "BEGIN CERTIFICATE" not in built.yaml


def test_crawlers_may_not_reach_private_networks(built: Build) -> None:
    assert config(built)["RADAR_ALLOWED_NETWORKS"] == ""


def partitions(b: Build) -> dict[str, int]:
    """Partitions per topic: the KafkaTopics, else the topics Job's --partitions."""
    found = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in b.of_kind("KafkaTopic")}
    if found:
        return found
    (job,) = [j for j in b.of_kind("Job") if j["metadata"]["name"] == "radar-topics"]
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    count = int(args[args.index("--partitions") + 1])
    prefix = config(b)["RADAR_KAFKA_NAMESPACE"]
    return {prefix + name: count for name in topics.ALL_TOPICS}


def test_autoscaling_stays_within_the_partitions(built: Build) -> None:
    scaled = built.of_kind("ScaledObject")
    if not scaled:
        return
    prefix = config(built)["RADAR_KAFKA_NAMESPACE"]
    expected = {
        "radar-crawler": (topics.FRONTIER_TOPIC, config(built)["RADAR_CRAWLER_GROUP"]),
        "radar-matcher": (topics.HASHES_TOPIC, config(built)["RADAR_MATCHER_GROUP"]),
    }
    counts = partitions(built)
    deployments = {d["metadata"]["name"] for d in built.of_kind("Deployment")}
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled} == set(expected)
    for obj in scaled:
        target = obj["spec"]["scaleTargetRef"]["name"]
        assert target in deployments
        (trigger,) = obj["spec"]["triggers"]
        topic, group = expected[target]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["topic"] == prefix + topic
        assert trigger["metadata"]["consumerGroup"] == group
        assert trigger["metadata"]["bootstrapServers"] == config(built)["RADAR_KAFKA_BOOTSTRAP"]
        assert 1 <= obj["spec"]["minReplicaCount"] <= obj["spec"]["maxReplicaCount"]
        assert obj["spec"]["maxReplicaCount"] <= counts[prefix + topic], target
        auth = trigger.get("authenticationRef")
        if config(built)["RADAR_KAFKA_SECURITY_PROTOCOL"].startswith("SASL"):
            assert auth and built.get("TriggerAuthentication", auth["name"])
            assert trigger["metadata"]["sasl"] == "scram_sha512"
        # KEDA-managed: no replica count in the Deployment to fight the autoscaler.
        assert "replicas" not in built.get("Deployment", target)["spec"]


def test_strimzi_topics_are_those_of_wire_topics(built: Build) -> None:
    kafka_topics = built.of_kind("KafkaTopic")
    if built.flavour != "prod":
        assert not kafka_topics
        return
    by_name = {t["spec"]["topicName"]: t["spec"] for t in kafka_topics}
    assert set(by_name) == set(topics.ALL_TOPICS)
    for name, spec in by_name.items():
        compacted = spec["config"].get("cleanup.policy") == "compact"
        assert compacted == (name in topics.COMPACTED_TOPICS), name
        assert spec["replicas"] >= 3 and spec["config"]["min.insync.replicas"] == 2, name


def test_prod_clients_use_tls_and_scram_users_that_exist(built: Build) -> None:
    if built.flavour != "prod":
        return
    cfg = config(built)
    assert cfg["RADAR_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert cfg["RADAR_ES_URL"].startswith("https://")
    kafka = built.get("Kafka", "radar")
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] and listener["authentication"]["type"] == "scram-sha-512"
    assert cfg["RADAR_KAFKA_BOOTSTRAP"] == f"radar-kafka-bootstrap:{listener['port']}"
    users = {u["metadata"]["name"] for u in built.of_kind("KafkaUser")}
    for _obj, template in workloads(built):
        for container in template["spec"]["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            if "RADAR_KAFKA_SASL_USERNAME" in env:
                user = env["RADAR_KAFKA_SASL_USERNAME"]["value"]
                assert user in users, user
                ref = env["RADAR_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
                assert (ref["name"], ref["key"]) == (user, "password")
    roles = [r for p in built.of_kind("KafkaNodePool") for r in p["spec"]["roles"]]
    assert "controller" in roles and "broker" in roles  # KRaft: no ZooKeeper
    assert built.get("Elasticsearch", "radar")["spec"]["version"].startswith("8.")
    nodes = sum(n["count"] for n in built.get("Elasticsearch", "radar")["spec"]["nodeSets"])
    assert 1 <= int(cfg["RADAR_ES_REPLICAS"]) < nodes  # a copy of every hit on another node


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container.get("env", [])}


def test_state_is_in_the_shared_service_store_and_waits_for_its_migration(built: Build) -> None:
    """No volume holds state (every replica shares PostgreSQL, whose URL is a Secret);
    each pod that opens the store waits for the migrations Job's schema first."""
    assert not built.of_kind("PersistentVolumeClaim")
    migrate = built.get("Job", "radar-db-migrate")
    assert migrate["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    users = set()
    for obj, template in workloads(built):
        spec = template["spec"]
        assert not any("persistentVolumeClaim" in v for v in spec.get("volumes", []))
        (container,) = spec["containers"]
        command = container["args"][0]
        db = env_of(container).get("RADAR_DB")
        if command not in STORE_USERS:
            assert db is None, obj["metadata"]["name"]
            continue
        users.add(command)
        assert db["valueFrom"]["secretKeyRef"] == {"name": "radar-db", "key": "url"}
        assert template["metadata"]["labels"]["radar/postgres-client"] == "true"
        if command != "db":
            (init,) = spec["initContainers"]
            assert init["args"] == ["db", "current"], obj["metadata"]["name"]
            assert env_of(init)["RADAR_DB"] == db
    assert users >= {"crawler", "review", "db"} and users & {"scheduler", "schedule"}


def test_the_review_app_runs_replicated_with_the_settings_it_reads(built: Build) -> None:
    """Two replicas, kept through updates and disruptions; the environment the manifest
    gives the container is the one ReviewSettings reads (the secret's name, secure
    cookies behind the TLS ingress)."""
    from notices.send import SmtpSettings
    from review.settings import ReviewSettings

    review = built.get("Deployment", "radar-review")
    assert review["spec"]["replicas"] >= 2
    assert review["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = built.get("PodDisruptionBudget", "radar-review")
    assert budget["spec"]["maxUnavailable"] == 1
    (container,) = review["spec"]["template"]["spec"]["containers"]
    env = {**config(built)}
    for name, item in env_of(container).items():
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref == {"name": "radar-app", "key": "secret-key"}:
            env[name] = "s" * 48
        elif "value" in item:
            env[name] = item["value"]
    settings = ReviewSettings.from_env("postgresql://radar@db/radar", env=env)
    assert settings.secret_key == "s" * 48
    assert settings.secure_cookies is True
    smtp = SmtpSettings.from_env(env)  # notice mail over TLS, not to the pod's loopback
    assert smtp.host == config(built)["RADAR_SMTP_HOST"] != "127.0.0.1"
    assert smtp.security == "starttls" and smtp.port == 587
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in env_of(container).values()
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert refs["RADAR_SMTP_PASSWORD"] == {
        "name": "radar-smtp",
        "key": "password",
        "optional": True,
    }


def _given(b: Build, container: dict[str, Any]) -> dict[str, str | None]:
    """The environment a container is given: name -> its value (None when it comes from
    a Secret, which must exist in the build or be referenced by name)."""
    given: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = b.get("ConfigMap", source["configMapRef"]["name"])["data"]
            given.update({k: str(v) for k, v in data.items()})
        elif "secretRef" in source:
            raise AssertionError("a whole Secret as environment hides which names it sets")
    for name, item in env_of(container).items():
        if "value" in item:
            given[name] = str(item["value"])
        elif "secretKeyRef" in item.get("valueFrom", {}):
            given[name] = None
        elif "configMapKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["configMapKeyRef"]
            given[name] = str(b.get("ConfigMap", ref["name"])["data"][ref["key"]])
    return given


@pytest.mark.parametrize("name", [*kustomizations(), PLAYED])
def test_every_role_is_given_every_setting_it_requires(name: str) -> None:
    """Each long-running role's container is given every name the settings registry
    requires of it in a cluster (ops/environment.py ``required``), non-empty; and the
    registry requires something of each role, so a role that loses a name fails here."""
    from ops.environment import required

    b = build(name)
    roles = set()
    for obj, template in workloads(b):
        (container,) = template["spec"]["containers"]
        # `radar schedule` is the scheduler's one-shot form (a CronJob): the same needs
        role = {"schedule": "scheduler"}.get(container["args"][0], container["args"][0])
        if role not in {"crawler", "matcher", "review", "scheduler"}:
            continue  # Jobs (migrations, topics) read what their command needs, no more
        roles.add(role)
        given = _given(b, container)
        assert required(role), role
        probes = obj["kind"] != "CronJob"  # a run-to-completion job serves no probes
        for needed in required(role):
            if needed == "RADAR_HEALTH_PORT" and not probes:
                continue
            assert needed in given, f"{name}: {obj['metadata']['name']} lacks {needed}"
            assert given[needed] != "", f"{name}: {obj['metadata']['name']}: {needed} is empty"
    assert roles == {"crawler", "matcher", "review", "scheduler"}


def test_a_missing_required_setting_is_caught() -> None:
    """The check above on a container that lost RADAR_ES_URL and has an empty secret."""
    b = Build("synthetic", "", [{"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}])
    container = {
        "envFrom": [{"configMapRef": {"name": "c"}}],
        "env": [{"name": "RADAR_REVIEW_SECURE_COOKIES", "value": ""}],
    }
    given = _given(b, container)
    from ops.environment import required

    missing = [n for n in required("review") if n not in given or given[n] == ""]
    assert "RADAR_ES_URL" in missing and "RADAR_REVIEW_SECURE_COOKIES" in missing


@pytest.mark.parametrize("name", [*kustomizations(), PLAYED])
def test_each_overlay_says_how_its_hit_index_is_copied_and_rolled_over(name: str) -> None:
    """The hit index's replicas and rollover come from each overlay's config, valid for
    ElasticSettings: a cluster keeps a copy and rolls over by size, one node neither
    copies nor (played locally) rolls over."""
    from store.elastic import ElasticSettings

    b = build(name)
    settings = ElasticSettings.from_env(config(b))
    if name == PLAYED:
        assert settings.replicas == 0 and settings.rollover_conditions() == {}
    elif b.flavour == "dev":
        assert settings.replicas == 0
        assert settings.rollover_conditions() == {"max_primary_shard_size": "1gb"}
    else:
        assert settings.replicas == 1
        assert settings.rollover_conditions() == {"max_primary_shard_size": "30gb"}
