#!/usr/bin/env python3
"""Play a kustomize overlay (k8s/overlays/local) on this machine with ``podman kube play``:
every Deployment and Job of it runs as podman pods of the image deploy/image.py builds.

    python3 deploy/play.py up [--set KEY=VALUE ...] [--secret NAME/KEY=VALUE ...]
    python3 deploy/play.py down

``up`` plays the overlay and then serves its Services until interrupted; ``down`` removes
every pod and secret it made. ``make deploy-test`` drives the same thing
(:class:`LocalCluster`) end to end. What it does, in a cluster's order:

1. renders the overlay (``kustomize build``, the pinned kustomize of deploy/tools.py);
2. Secrets become podman secrets (``secretKeyRef`` reads them); a value
   ``set-by-deploy-play`` must be given (``--secret``), except ``radar-app/secret-key``,
   which is a fresh random key. ``--set`` overrides keys of the ConfigMap radar-config;
3. each Job runs as a pod (``restartPolicy: Never``) and must exit 0 before anything else
   starts (``radar db upgrade``: the roles' init containers wait for it in a cluster, so
   they are left out here: podman 4.3 fails a pod whose finished init container it
   cannot remove in time, and does not retry one that failed);
4. each Deployment of N replicas becomes N podman deployments ``<name>-<i>``: podman gives
   the pods of one Deployment the same environment, and on the host's network (where the
   pods reach the servers on loopback) each replica needs its own ports. So each
   replica's named container ports (``health``, ``http``) get their own host ports, set
   through ``RADAR_HEALTH_PORT`` and the ``--port`` argument, as a cluster gives each pod
   its own address (the ``ports`` lists go: podman maps no ports on the host's network);
5. each Service with a selector gets a TCP listener on loopback that spreads connections
   over the replicas it selects (round robin, skipping a replica that refuses), as
   kube-proxy does; ``cluster.services`` maps its name to the port.
NetworkPolicies, PodDisruptionBudgets, ServiceAccounts and the CRDs have no podman
counterpart: they are rendered, not played (tests/k8s validates them offline).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import itertools
import json
import secrets as random_secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEPLOY = Path(__file__).resolve().parent
sys.path.insert(0, str(DEPLOY))
import image  # noqa: E402  (deploy/image.py: podman with the project's configuration)
import tools  # noqa: E402  (deploy/tools.py: the pinned kustomize)

OVERLAY = DEPLOY.parent / "k8s" / "overlays" / "local"
PLACEHOLDER = "set-by-deploy-play"
GENERATED = {("radar-app", "secret-key")}
NOT_PLAYED = {"NetworkPolicy", "PodDisruptionBudget", "ServiceAccount", "Ingress"}
LABEL = "io.reupload-radar.play"  # on every podman secret this script makes


class PlayError(RuntimeError):
    """The overlay could not be played; the message says which step and shows logs."""


def render(overlay: Path = OVERLAY) -> list[dict[str, Any]]:
    """The overlay's objects, as ``kustomize build`` renders them."""
    built = subprocess.run(
        [str(tools.tool("kustomize")), "build", str(overlay)],
        check=False,
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        raise PlayError(f"kustomize build {overlay}: {built.stderr.strip()}")
    return tools.yaml_documents(built.stdout)


@dataclass
class Replica:
    """One played pod: replica *index* of *deployment*, and its host ports by name."""

    deployment: str
    index: int
    labels: dict[str, str]
    containers: list[str]
    ports: dict[str, int]

    @property
    def pod(self) -> str:
        return f"{self.deployment}-{self.index}-pod-0"

    def container(self, name: str | None = None) -> str:
        """The podman name of a container of this pod (the first one by default)."""
        return f"{self.pod}-{name or self.containers[0]}"


@dataclass
class LocalCluster:
    """The overlay played on podman (see the module docstring). Use as a context manager,
    or call :meth:`up` and :meth:`down`; ``down`` also runs when ``up`` fails."""

    overlay: Path = OVERLAY
    config: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # "name/key" -> value
    port_base: int = 19500
    workdir: Path = Path("/tmp/radar-play")
    ready_timeout: float = 240.0
    replicas: list[Replica] = field(default_factory=list)
    services: dict[str, int] = field(default_factory=dict)
    _servers: list[socket.socket] = field(default_factory=list)
    _secret_names: list[str] = field(default_factory=list)
    _pods: list[str] = field(default_factory=list)
    _ports: itertools.count[int] = field(default_factory=itertools.count)

    def __enter__(self) -> LocalCluster:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    # -- up ----------------------------------------------------------------------------

    def up(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._ports = itertools.count(self.port_base)
        documents = render(self.overlay)
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for d in documents:
            by_kind.setdefault(d["kind"], []).append(d)
        try:
            self._remove_leftovers(by_kind)
            config_maps = [self._config_map(c) for c in by_kind.get("ConfigMap", [])]
            for secret in by_kind.get("Secret", []):
                self._secret(secret)
            for job in by_kind.get("Job", []):
                self._job(job, config_maps)
            for deployment in by_kind.get("Deployment", []):
                self._deployment(deployment, config_maps)
            for replica in self.replicas:
                self._wait_ready(replica)
            for service in by_kind.get("Service", []):
                self._service(service)
        except BaseException:
            self.down()
            raise

    def _remove_leftovers(self, by_kind: dict[str, list[dict[str, Any]]]) -> None:
        """Pods of an earlier run that was killed before its ``down``."""
        names = [d["metadata"]["name"] for d in by_kind.get("Deployment", [])]
        names += [d["metadata"]["name"] for d in by_kind.get("Job", [])]
        listed = image.podman("pod", "ps", "--format", "{{.Name}}", capture=True).split()
        stale = [p for p in listed if any(p == n or p.startswith(f"{n}-") for n in names)]
        if stale:
            image.podman("pod", "rm", "--force", "--time", "5", *stale, capture=True)

    def _config_map(self, config_map: dict[str, Any]) -> dict[str, Any]:
        config_map = copy.deepcopy(config_map)
        if config_map["metadata"]["name"] == "radar-config":
            config_map["data"] = {**config_map.get("data", {}), **self.config}
        return config_map

    def _secret(self, secret: dict[str, Any]) -> None:
        name = secret["metadata"]["name"]
        values = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
        values.update(secret.get("stringData", {}))
        for key, value in values.items():
            given = self.secrets.get(f"{name}/{key}")
            if given is not None:
                values[key] = given
            elif value == PLACEHOLDER and (name, key) in GENERATED:
                values[key] = random_secrets.token_urlsafe(48)
            elif value == PLACEHOLDER:
                raise PlayError(f"Secret {name}: give {key} (--secret {name}/{key}=VALUE)")
        # podman's secretKeyRef reads a JSON object of base64 values (a Secret's data)
        payload = json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in values.items()})
        image.podman("secret", "rm", name, check=False, capture=True)
        image.podman(
            "secret", "create", "--label", f"{LABEL}=1", name, "-", input=payload, capture=True
        )
        self._secret_names.append(name)

    def _play(self, name: str, documents: list[dict[str, Any]]) -> None:
        path = self.workdir / f"{name}.yaml"
        path.write_text("\n---\n".join(json.dumps(d, indent=1) for d in documents) + "\n")
        self._pods.append(name)
        image.podman("kube", "play", "--quiet", str(path), capture=True)

    def _job(self, job: dict[str, Any], config_maps: list[dict[str, Any]]) -> None:
        name = job["metadata"]["name"]
        template = job["spec"]["template"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": template["metadata"].get("labels", {})},
            "spec": {**template["spec"], "restartPolicy": "Never"},
        }
        self._play(name, [*config_maps, pod])
        containers = [c["name"] for c in template["spec"]["containers"]]
        for container in containers:
            code = image.podman("wait", f"{name}-{container}", capture=True).strip()
            if code != "0":
                raise PlayError(f"Job {name} exited {code}:\n{self.logs(f'{name}-{container}')}")
        image.podman("pod", "rm", "--force", name, capture=True)
        self._pods.remove(name)

    def _deployment(self, deployment: dict[str, Any], config_maps: list[dict[str, Any]]) -> None:
        name = deployment["metadata"]["name"]
        for index in range(int(deployment["spec"].get("replicas", 1))):
            one = copy.deepcopy(deployment)
            one["metadata"]["name"] = f"{name}-{index}"
            one["spec"]["replicas"] = 1
            spec = one["spec"]["template"]["spec"]
            # The init containers only wait for the migrations Job, which has exited 0 by
            # now (step 3). podman 4.3 removes a finished init container in a race with
            # its exit ("cannot remove container ... as it is running"), so they go.
            spec.pop("initContainers", None)
            ports: dict[str, int] = {}
            for container in spec["containers"]:
                # On the host's network a container port is only the port its process
                # binds (podman refuses port mappings there): the replica's own, below.
                for port in container.pop("ports", []):
                    ports[port["name"]] = next(self._ports)
                self._localise(container, ports)
            # podman 4.3 lets envFrom win over env, so RADAR_HEALTH_PORT (radar-config's
            # 9102) is set in a copy of each ConfigMap for this replica alone.
            own = []
            for config_map in config_maps:
                mine = copy.deepcopy(config_map)
                mine["metadata"]["name"] = f"{config_map['metadata']['name']}-{name}-{index}"
                if "health" in ports and "RADAR_HEALTH_PORT" in mine.get("data", {}):
                    mine["data"]["RADAR_HEALTH_PORT"] = str(ports["health"])
                own.append(mine)
            renamed = {
                c["metadata"]["name"]: o["metadata"]["name"]
                for c, o in zip(config_maps, own, strict=True)
            }
            for container in spec["containers"]:
                for source in container.get("envFrom", []):
                    ref = source.get("configMapRef")
                    if ref and ref["name"] in renamed:
                        ref["name"] = renamed[ref["name"]]
            self._play(f"{name}-{index}", [*own, one])
            self.replicas.append(
                Replica(
                    name,
                    index,
                    one["spec"]["template"]["metadata"].get("labels", {}),
                    [c["name"] for c in spec["containers"]],
                    ports,
                )
            )

    @staticmethod
    def _localise(container: dict[str, Any], ports: dict[str, int]) -> None:
        """Point a container at its replica's ports (env and ``--port``), and its probes."""
        if "health" in ports:
            env = [e for e in container.get("env", []) if e["name"] != "RADAR_HEALTH_PORT"]
            container["env"] = [*env, {"name": "RADAR_HEALTH_PORT", "value": str(ports["health"])}]
        args = container.get("args", [])
        if "--port" in args and "http" in ports:
            args[args.index("--port") + 1] = str(ports["http"])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            http = container.get(probe, {}).get("httpGet")
            if http and isinstance(http.get("port"), str):
                http["port"] = ports[http["port"]]

    def _wait_ready(self, replica: Replica) -> None:
        port = replica.ports.get("http") or replica.ports.get("health")
        if port is None:
            return
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            url = f"http://127.0.0.1:{port}/readyz"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=3) as r:
                if r.status == 200:
                    return
            state = image.podman(
                "inspect", "--format", "{{.State.Status}}", replica.container(), capture=True
            )
            if state.strip() in {"exited", "dead"}:
                break  # podman 4.3 does not restart it here (see kill): fail at once
            time.sleep(1)
        raise PlayError(f"{replica.pod} not ready on :{port}\n{self.logs(replica.container())}")

    def _service(self, service: dict[str, Any]) -> None:
        spec = service["spec"]
        selector = spec.get("selector") or {}
        if not selector or spec.get("clusterIP") == "None":
            return  # headless Services only name pods (metrics scraping): nothing to spread
        selected = [
            r for r in self.replicas if all(r.labels.get(k) == v for k, v in selector.items())
        ]
        target = spec["ports"][0].get("targetPort")
        endpoints = [r.ports[target] for r in selected if target in r.ports]
        if not endpoints:
            return
        listener = socket.create_server(("127.0.0.1", 0))
        self._servers.append(listener)
        self.services[service["metadata"]["name"]] = listener.getsockname()[1]
        threading.Thread(target=_spread, args=(listener, endpoints), daemon=True).start()

    # -- use ---------------------------------------------------------------------------

    def replicas_of(self, deployment: str) -> list[Replica]:
        return [r for r in self.replicas if r.deployment == deployment]

    def logs(self, container: str) -> str:
        """The container's last output (stdout and stderr), for failure messages."""
        done = subprocess.run(
            ["podman", "logs", "--tail", "80", container],
            env=image.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        return (done.stdout + done.stderr)[-6000:]

    def kill(self, replica: Replica) -> None:
        """SIGKILL the replica's main container, then start it again, as a kubelet does
        for ``restartPolicy: Always`` (podman 4.3 restarts a kube-played container only
        under systemd), and wait until it is ready again."""
        image.podman("kill", "--signal", "KILL", replica.container(), capture=True)
        image.podman("wait", replica.container(), capture=True)
        self._restart(replica)
        self._wait_ready(replica)

    def _restart(self, replica: Replica, timeout: float = 60.0) -> None:
        """Start the killed container again. Right after a SIGKILL, podman 4.3's exit
        handler (``conmon`` -> ``podman container cleanup``) may still hold the container or
        the pod's infra container in a transitional state, and ``podman start`` then fails
        ("container state improper"); a kubelet retries with a back-off, and so does this.
        When the container is seen running again (the exit handler restarted it), it is done."""
        deadline = time.monotonic() + timeout
        errors: list[str] = []
        while True:
            state = image.podman(
                "inspect", "--format", "{{.State.Status}}", replica.container(), capture=True
            ).strip()
            if state == "running":
                return
            done = subprocess.run(
                ["podman", "start", replica.container()],
                env=image.env(),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                return
            errors.append(f"[{state}] {done.stderr.strip()[-500:]}")
            if time.monotonic() > deadline:
                raise PlayError(
                    f"{replica.pod}: podman start kept failing\n" + "\n".join(errors[-3:])
                )
            # the pod's infra container may be what is stuck: start the pod as a whole
            image.podman("pod", "start", replica.pod, check=False, capture=True)
            time.sleep(min(2.0, 0.25 * len(errors)))

    def exec(
        self, replica: Replica, *command: str, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        """``kubectl exec``: run a command in the replica's main container."""
        return subprocess.run(
            [
                "podman",
                "exec",
                *(["-i"] if "input" in kwargs else []),
                replica.container(),
                *command,
            ],
            env=image.env(),
            capture_output=True,
            text=True,
            check=False,
            **kwargs,
        )

    # -- down --------------------------------------------------------------------------

    def down(self) -> None:
        for listener in self._servers:
            listener.close()
        self._servers.clear()
        if self._pods:
            listed = image.podman("pod", "ps", "--format", "{{.Name}}", capture=True).split()
            ours = [p for p in listed if any(p.startswith(name) for name in self._pods)]
            if ours:
                image.podman("pod", "rm", "--force", "--time", "10", *ours, capture=True)
        self._pods.clear()
        for name in self._secret_names:
            image.podman("secret", "rm", name, check=False, capture=True)
        self._secret_names.clear()


def _spread(listener: socket.socket, endpoints: list[int]) -> None:
    turn = itertools.cycle(range(len(endpoints)))
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # closed by down()
        start = next(turn)
        for k in range(len(endpoints)):
            port = endpoints[(start + k) % len(endpoints)]
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=3)
            except OSError:
                continue
            upstream.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()
            break
        else:
            client.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="deploy/play.py", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME/KEY=VALUE")
    args = parser.parse_args(argv)
    cluster = LocalCluster(
        config=dict(s.split("=", 1) for s in args.set),
        secrets=dict(s.split("=", 1) for s in args.secret),
    )
    try:
        if args.command == "down":
            documents = render()
            names = {
                kind: [d["metadata"]["name"] for d in documents if d["kind"] == kind]
                for kind in ("Deployment", "Job", "Secret")
            }
            cluster._pods = names["Deployment"] + names["Job"]
            cluster._secret_names = names["Secret"]
            cluster.down()
            return 0
        with cluster:
            for r in cluster.replicas:
                print(f"{r.pod}: ports {r.ports}")
            for name, port in cluster.services.items():
                print(f"Service {name}: 127.0.0.1:{port}")
            print("playing; Ctrl-C tears it down", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except (PlayError, image.ImageError, tools.ToolError) as exc:
        print(f"deploy/play.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
