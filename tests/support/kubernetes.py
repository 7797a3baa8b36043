"""The Kubernetes manifests without a cluster: rendered by `kubectl kustomize`, and their
containers run as local processes the way a kubelet would start them."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (KUBERNETES / "overlays").iterdir() if p.is_dir())
# A kustomize that knows `labels`, `replacements` and components (v4 and later).
KUBECTL_HINT = "kubectl with kustomize v4 or later (kubectl 1.21+) is needed on PATH"


def render(overlay: str) -> list[dict]:
    """Every object `kubectl apply -k deploy/kubernetes/overlays/<overlay>` would send."""
    kubectl = shutil.which("kubectl")
    assert kubectl, KUBECTL_HINT
    done = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"kubectl kustomize {overlay}: {done.stderr} ({KUBECTL_HINT})"
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def find(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = find(objects, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def generated_name(objects: list[dict], kind: str, name: str) -> dict:
    """A generated ConfigMap or Secret by its name before kustomize's hash suffix."""
    found = [
        o
        for o in find(objects, kind)
        if re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?", o["metadata"]["name"])
    ]
    assert len(found) == 1, f"{kind} {name}: {[o['metadata']['name'] for o in found]}"
    return found[0]


def containers(objects: list[dict]) -> Iterator[tuple[dict, dict]]:
    """(workload, container) for every container of every Deployment."""
    for deployment in find(objects, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield deployment, container


def data_of(obj: dict) -> dict[str, str]:
    """A ConfigMap's or Secret's data, decoded."""
    if obj["kind"] == "Secret":
        plain = {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
        return plain | obj.get("stringData", {})
    return dict(obj.get("data", {}))


_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion: a defined variable is replaced, $$ is a literal $, an
    undefined reference stays as written."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(substitute, text)


@dataclass
class LocalPod:
    """One container of a rendered Deployment, started as a local process.

    As the kubelet would: env from values, ConfigMaps and Secrets of the rendered objects (in
    order, with $(VAR) expansion), `command` + `args` expanded, `workingDir` as the image's
    (the Dockerfile's COPY lines laid out in a folder), every volume mounted there (a
    ConfigMap's files written out, an emptyDir empty). The pod network is loopback: Service
    names and 0.0.0.0 become 127.0.0.1; ports stay as the manifest says.
    """

    objects: list[dict]
    deployment: dict
    container: dict
    root: Path
    services: tuple[str, ...]

    @property
    def pod_spec(self) -> dict:
        return self.deployment["spec"]["template"]["spec"]

    def on_loopback(self, text: str) -> str:
        for name in self.services:
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", "127.0.0.1", text)
        return text.replace("0.0.0.0", "127.0.0.1")

    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for entry in self.container.get("env", []):
            if "value" in entry:
                value = expand(entry["value"], env)
            else:
                source = entry["valueFrom"]
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    value = data_of(one(self.objects, "Secret", ref["name"]))[ref["key"]]
                else:
                    ref = source["configMapKeyRef"]
                    value = data_of(one(self.objects, "ConfigMap", ref["name"]))[ref["key"]]
            env[entry["name"]] = self.on_loopback(value)
        return env

    def command(self, env: dict[str, str]) -> list[str]:
        words = [expand(w, env) for w in self.container["command"] + self.container["args"]]
        words = [self.on_loopback(w) for w in words]
        assert words[0] == "python", f"{self.container['name']}: not the image's python"
        return [sys.executable, *words[1:]]

    def image_folder(self) -> Path:
        """The image's working directory: what the Dockerfile copies there, then the mounts."""
        working = self.container["workingDir"]
        folder = self.root / self.container["name"] / working.strip("/")
        for line in (ROOT / "Dockerfile").read_text().splitlines():
            parts = line.split()
            if parts[:1] != ["COPY"] or parts[1].startswith("--"):
                continue
            *sources, target = parts[1:]
            for source in sources:  # Docker's rules: a folder's contents, a file into a folder
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, folder / target, dirs_exist_ok=True)
                    continue
                into_folder = target.endswith("/") or len(sources) > 1
                destination = (
                    folder / target / Path(source).name if into_folder else folder / target
                )
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, destination)
        volumes = {v["name"]: v for v in self.pod_spec.get("volumes", [])}
        for mount in self.container.get("volumeMounts", []):
            path = mount["mountPath"]
            inside = folder / Path(path).relative_to(working) if path.startswith(working) else None
            target = inside or self.root / self.container["name"] / "mounts" / path.strip("/")
            shutil.rmtree(target, ignore_errors=True)  # a mount hides what the image had there
            target.mkdir(parents=True)
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                config_map = one(self.objects, "ConfigMap", volume["configMap"]["name"])
                for key, content in data_of(config_map).items():
                    (target / key).write_text(content)
        return folder

    def port(self, name_or_number: str | int) -> int:
        for port in self.container.get("ports", []):
            if name_or_number in (port["name"], port["containerPort"]):
                return port["containerPort"]
        raise KeyError(f"{self.container['name']} has no port {name_or_number}")

    def probe_url(self, probe: str) -> str:
        get = self.container[probe]["httpGet"]
        return f"http://127.0.0.1:{self.port(get['port'])}{get['path']}"

    def start(self, extra_args: list[str] = (), extra_env: dict[str, str] | None = None):
        env = self.env()
        folder = self.image_folder()
        log = (self.root / f"{self.container['name']}-{id(self)}.log").open("w")
        return subprocess.Popen(
            self.command(env) + list(extra_args),
            cwd=folder,
            # Only what the manifest gives a container, and a master bound to loopback.
            env={
                "PATH": "/usr/bin:/bin",
                "PYTHONUNBUFFERED": "1",
                "LOCUST_MASTER_BIND_HOST": "127.0.0.1",
                **env,
                **(extra_env or {}),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def local_pod(objects: list[dict], deployment: str, root: Path) -> LocalPod:
    workload = one(objects, "Deployment", deployment)
    services = tuple(o["metadata"]["name"] for o in find(objects, "Service"))
    container = workload["spec"]["template"]["spec"]["containers"][0]
    return LocalPod(objects, workload, container, root, services)
