"""The Kubernetes deployment, proven without a cluster: every overlay rendered by kubectl's
kustomize, every object checked against the API's schemas (and the Prometheus Operator's CRD
schemas), the references between objects resolved, the network policies evaluated, and the
generated objects compared with their sources."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import subprocess
from functools import cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from service.operation.safety import Allowlist
from tests.support.kubernetes import (
    KUBERNETES,
    OVERLAYS,
    ROOT,
    containers,
    data_of,
    find,
    generated_name,
    one,
    render,
)
from tests.support.network_policies import address, may_connect, pod

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # the oldest still commonly run, and the newest
CRDS = ROOT / "tests" / "schemas" / "prometheus-operator"
CREDENTIAL_KEYS = re.compile(r"SECURENET_.*(PASSWORD|API_KEY)$")
LOADGEN = {"app.kubernetes.io/name": "securenet-loadgen"}


@cache
def rendered(overlay: str) -> list[dict]:
    return render(overlay)


def namespace_of(objects: list[dict]) -> str:
    return one(objects, "Deployment", "loadgen-master")["metadata"]["namespace"]


def load_generator(overlay: str, component: str):
    return pod(
        namespace_of(rendered(overlay)), {**LOADGEN, "app.kubernetes.io/component": component}
    )


def test_expected_overlays_exist():
    assert OVERLAYS == ["sandbox", "staging"]


def test_generated_objects_equal_their_sources():
    spec = importlib.util.spec_from_file_location("generate", KUBERNETES / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    expected, written = generate.generated_files(), generate.written_files()
    stale = sorted(name for name in expected if written.get(name) != expected[name])
    extra = sorted(written.keys() - expected.keys())
    assert not stale and not extra, (
        f"deploy/kubernetes/base/generated differs from its sources (run `make kubernetes`): "
        f"changed {stale}, not generated {extra}"
    )


# --- schemas ------------------------------------------------------------------------------


def _go_regex_to_python(schema):
    """The CRDs carry Go regexes such as ^(?i)(abort|warn)?$; Python wants flags first."""
    if isinstance(schema, dict):
        return {
            k: (v.replace("^(?i)", "(?i)^") if k == "pattern" else _go_regex_to_python(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_go_regex_to_python(v) for v in schema]
    return schema


def _closed(schema):
    """The API server prunes unknown fields silently, so a misspelt field would pass the CRD's
    schema: closed here, every object schema with properties admits only those."""
    if isinstance(schema, dict):
        schema = {k: _closed(v) for k, v in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


@cache
def crd_validators() -> dict[tuple[str, str], jsonschema.Validator]:
    validators = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _closed(_go_regex_to_python(version["schema"]["openAPIV3Schema"]))
            jsonschema.Draft7Validator.check_schema(schema)
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_passes_the_kubernetes_and_operator_schemas(overlay):
    problems = []
    for obj in rendered(overlay):
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            validator = crd_validators()[(obj["apiVersion"], obj["kind"])]
            problems += [f"{name}: {e.json_path}: {e.message}" for e in validator.iter_errors(obj)]
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{name} on {version}: {error.message} at {list(error.path)}")
    assert not problems, "\n".join(problems)


def test_the_crd_check_catches_a_misspelt_field_the_api_server_would_drop():
    podmonitor = copy.deepcopy(one(rendered("sandbox"), "PodMonitor", "loadgen-master"))
    podmonitor["spec"]["podMetricsEndpoints"][0]["intervall"] = "15s"
    validator = crd_validators()[("monitoring.coreos.com/v1", "PodMonitor")]
    assert any("intervall" in e.message for e in validator.iter_errors(podmonitor))


@pytest.mark.parametrize("source", sorted((ROOT / "prometheus/rules").glob("*.yml")))
def test_each_rules_file_is_a_prometheus_rule_that_passes_promtool(source, tmp_path):
    rule = one(rendered("sandbox"), "PrometheusRule", source.stem.replace("_", "-"))
    assert rule["spec"]["groups"] == _groups(source)
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    done = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _groups(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())["groups"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dashboards_are_configmaps_for_the_grafana_sidecar_equal_to_their_sources(overlay):
    sources = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
    for source in sources:
        config_map = one(rendered(overlay), "ConfigMap", f"loadgen-dashboard-{source.stem}")
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert data_of(config_map) == {source.name: source.read_text()}
        json.loads(config_map["data"][source.name])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_locustfiles_configmap_is_the_locustfiles_folder(overlay):
    config_map = generated_name(rendered(overlay), "ConfigMap", "loadgen-locustfiles")
    sources = {p.name: p.read_text() for p in (ROOT / "locustfiles").glob("*.py")}
    assert data_of(config_map) == sources


# --- references between objects -----------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_probe_points_at_a_port_of_its_own_container(overlay):
    for workload, container in containers(rendered(overlay)):
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = container.get(probe_name)
            if probe is None:
                continue
            port = probe["httpGet"]["port"]
            where = f"{workload['metadata']['name']}/{container['name']} {probe_name}"
            assert port in ports or port in ports.values(), f"{where}: no port {port}"
            assert probe["httpGet"]["path"].startswith("/"), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_config_and_secret_reference_resolves(overlay):
    objects = rendered(overlay)
    secrets = {o["metadata"]["name"]: set(data_of(o)) for o in find(objects, "Secret")}
    config_maps = {o["metadata"]["name"]: set(data_of(o)) for o in find(objects, "ConfigMap")}
    # Created out of band (no credentials in git): its keys are those of the example file.
    example = KUBERNETES / "overlays" / overlay / "credentials.env.example"
    if example.exists():
        assert not find(objects, "Secret"), "a Secret rendered beside credentials.env.example"
        secrets["securenet-credentials"] = {
            line.split("=")[0] for line in example.read_text().splitlines() if "=" in line
        }
    referenced = 0
    for workload, container in containers(objects):
        where = f"{workload['metadata']['name']}/{container['name']}"
        for entry in container.get("env", []):
            source = entry.get("valueFrom", {})
            for kind, known in (("secretKeyRef", secrets), ("configMapKeyRef", config_maps)):
                if kind in source:
                    ref = source[kind]
                    assert ref["key"] in known.get(ref["name"], ()), f"{where}: {ref} missing"
                    referenced += 1
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, f"{where}: {volume}"
    assert referenced >= 14


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_come_only_from_the_secret(overlay):
    objects = rendered(overlay)
    secret_values = {v for o in find(objects, "Secret") for v in data_of(o).values()}
    for workload, container in containers(objects):
        where = f"{workload['metadata']['name']}/{container['name']}"
        for entry in container.get("env", []):
            if CREDENTIAL_KEYS.match(entry["name"]):
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{where}: {entry['name']}"
        words = container.get("command", []) + container.get("args", [])
        assert not secret_values & set(words), f"{where}: a secret on the command line"
        assert not any(v in w for v in secret_values for w in words), where
    for config_map in find(objects, "ConfigMap"):
        text = json.dumps(config_map["data"])
        leaked = [v for v in secret_values if f'"{v}"' in text or f"={v}" in text]
        assert not leaked, f"{config_map['metadata']['name']}: a secret value in a ConfigMap"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_master_is_one_replica_replaced_not_rolled_and_expects_every_worker(overlay):
    objects = rendered(overlay)
    master = one(objects, "Deployment", "loadgen-master")
    workers = one(objects, "Deployment", "loadgen-worker")
    assert master["spec"]["replicas"] == 1
    assert master["spec"]["strategy"]["type"] == "Recreate"
    env = {
        e["name"]: e.get("value")
        for e in master["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["LOCUST_EXPECT_WORKERS"] == str(workers["spec"]["replicas"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_reach_the_master_through_a_service_that_does_not_wait_for_readiness(overlay):
    objects = rendered(overlay)
    worker = one(objects, "Deployment", "loadgen-worker")["spec"]["template"]["spec"]
    args = worker["containers"][0]["args"]
    host = next(a.split("=", 1)[1] for a in args if a.startswith("--master-host="))
    port = int(next(a.split("=", 1)[1] for a in args if a.startswith("--master-port=")))
    service = one(objects, "Service", host)
    master = one(objects, "Deployment", "loadgen-master")["spec"]["template"]
    assert all(
        master["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items()
    )
    target = next(p["targetPort"] for p in service["spec"]["ports"] if p["port"] == port)
    assert target in {p["name"] for p in master["spec"]["containers"][0]["ports"]}
    # The master is ready only once workers run users: a Service of ready pods only would
    # never let the first worker in.
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in find(objects, "Service"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pod_monitor_scrapes_the_master_metrics_port(overlay):
    objects = rendered(overlay)
    monitor = one(objects, "PodMonitor", "loadgen-master")
    master = one(objects, "Deployment", "loadgen-master")["spec"]["template"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert all(master["metadata"]["labels"].get(k) == v for k, v in selector.items())
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    container = master["spec"]["containers"][0]
    port = next(p for p in container["ports"] if p["name"] == endpoint["port"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert str(port["containerPort"]) == env["SECURENET_METRICS_PORT"]
    assert endpoint["path"] == "/metrics"


# --- security -----------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_restricted_and_sized(overlay):
    objects = rendered(overlay)
    for workload, container in containers(objects):
        where = f"{workload['metadata']['name']}/{container['name']}"
        pod_security = workload["spec"]["template"]["spec"]["securityContext"]
        security = container["securityContext"]
        assert pod_security["runAsNonRoot"] is True and pod_security["runAsUser"] > 0, where
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", where
        assert security["readOnlyRootFilesystem"] is True, where
        assert security["allowPrivilegeEscalation"] is False, where
        assert security["capabilities"]["drop"] == ["ALL"], where
        assert "add" not in security["capabilities"], where
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"]), where
        assert "memory" in resources["limits"], where
    namespace = one(objects, "Namespace", namespace_of(objects))
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert find(objects, "PodDisruptionBudget", "loadgen-worker")


# --- network policies ---------------------------------------------------------------------

DNS = pod("kube-system", {"k8s-app": "kube-dns"})
PROMETHEUS = pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
OTHER_PROMETHEUS = pod("default", {"app.kubernetes.io/name": "prometheus"})
SEED_SCAN_TARGETS = ("192.168.1.10", "10.0.0.5", "10.0.0.1")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_reach_only_their_master_dns_and_the_target(overlay):
    objects = rendered(overlay)
    namespace = namespace_of(objects)
    worker, master = load_generator(overlay, "worker"), load_generator(overlay, "master")
    assert may_connect(objects, worker, master, 5557)
    assert may_connect(objects, worker, DNS, 53, "UDP")
    assert may_connect(objects, worker, DNS, 53, "TCP")
    assert not may_connect(objects, worker, master, 8099)
    assert not may_connect(objects, worker, pod(namespace, {"app": "anything-else"}), 8000)
    assert not may_connect(objects, worker, pod("kube-system", {"k8s-app": "kube-dns"}), 443)
    for ip in (*SEED_SCAN_TARGETS, "1.1.1.1", "169.254.169.254"):
        assert not may_connect(objects, worker, address(ip), 443), ip
        assert not may_connect(objects, worker, address(ip), 80), ip


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_master_takes_only_its_workers_and_the_monitoring_namespace(overlay):
    objects = rendered(overlay)
    namespace = namespace_of(objects)
    worker, master = load_generator(overlay, "worker"), load_generator(overlay, "master")
    assert may_connect(objects, PROMETHEUS, master, 8099)
    assert not may_connect(objects, OTHER_PROMETHEUS, master, 8099)
    assert not may_connect(objects, PROMETHEUS, master, 5557)
    assert not may_connect(objects, pod(namespace, {"app": "anything-else"}), master, 5557)
    assert not may_connect(objects, pod("other", LOADGEN), master, 5557)
    assert not may_connect(objects, master, worker, 5557)
    assert not may_connect(objects, PROMETHEUS, worker, 8099)
    for ip in SEED_SCAN_TARGETS:
        assert not may_connect(objects, master, address(ip), 443)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_allowlist_and_the_egress_policy_admit_the_same_target(overlay):
    objects = rendered(overlay)
    target = data_of(generated_name(objects, "ConfigMap", "loadgen-target"))
    allowlist = Allowlist.parse(target["allowed-hosts"])
    worker, master = load_generator(overlay, "worker"), load_generator(overlay, "master")
    host = re.match(r"https?://([^:/]+)(?::(\d+))?", target["url"])
    port = int(host.group(2) or (443 if target["url"].startswith("https") else 80))
    for network in allowlist.networks:  # an address range: the egress ipBlock
        for ip in (network[1], network[-2]):
            assert may_connect(objects, worker, address(str(ip)), port), ip
            assert may_connect(objects, master, address(str(ip)), port), ip
        outside = network[-1] + 2
        assert not allowlist.allows(str(outside))
        assert not may_connect(objects, worker, address(str(outside)), port)
    for name in allowlist.patterns:  # an in-cluster Service: the pods it selects
        service = one(objects, "Service", name)
        serving = one(objects, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert all(serving.get(k) == v for k, v in service["spec"]["selector"].items())
        backend = pod(service["metadata"]["namespace"], serving)
        for service_port in service["spec"]["ports"]:
            assert may_connect(objects, worker, backend, service_port["port"])
        assert not may_connect(objects, worker, backend, 22)
    assert allowlist.allows(host.group(1)) or allowlist.networks


def test_the_policy_evaluator_refuses_what_no_rule_admits():
    # The evaluator itself: a pod under a default-deny and nothing else reaches nothing.
    deny = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "n"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    a, b = pod("n", {"app": "a"}), pod("n", {"app": "b"})
    assert may_connect([], a, b, 80)
    assert not may_connect([deny], a, b, 80)
    assert not may_connect([deny], a, address("203.0.113.1"), 443)
