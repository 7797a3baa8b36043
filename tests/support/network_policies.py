"""Kubernetes NetworkPolicy semantics, evaluated on rendered objects: may this pod (or address)
open a connection to that one, on this port?

As the API defines it: a pod selected by a policy of a type (Ingress, Egress) is isolated in
that direction and admits only what some rule of those policies admits; rules are additive; a
peer is a podSelector (the policy's namespace), a namespaceSelector, both (and), or an ipBlock;
a rule without `to`/`from` admits every peer, without `ports` every port. A connection needs
the source's egress and the destination pod's ingress. Only `matchLabels` selectors are
understood; anything else fails the evaluation instead of guessing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Peer:
    """A pod (namespace and labels) or an address outside the cluster (ip)."""

    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ip: str | None = None

    @property
    def is_pod(self) -> bool:
        return self.namespace is not None


def pod(namespace: str, labels: dict[str, str]) -> Peer:
    return Peer(namespace, dict(labels))


def address(ip: str) -> Peer:
    return Peer(ip=ip)


def _selects(selector: dict | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    unknown = set(selector) - {"matchLabels"}
    assert not unknown, f"selector form not understood: {unknown}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _namespace_labels(namespace: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": namespace}


def _peer_matches(rule_peer: dict, policy_namespace: str, peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if peer.is_pod:
            return False  # ipBlock is for addresses outside the cluster
        block = rule_peer["ipBlock"]
        ip = ipaddress.ip_address(peer.ip)
        return ip in ipaddress.ip_network(block["cidr"]) and not any(
            ip in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if not peer.is_pod:
        return False
    if "namespaceSelector" in rule_peer:
        in_namespace = _selects(rule_peer["namespaceSelector"], _namespace_labels(peer.namespace))
    else:
        in_namespace = peer.namespace == policy_namespace
    return in_namespace and _selects(rule_peer.get("podSelector"), peer.labels)


def _port_matches(ports: list[dict] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(
        p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports
    )


def _admits(policies: list[dict], subject: Peer, other: Peer, port: int, proto: str, way: str):
    """Whether `subject`'s policies of direction `way` admit `other` on the port."""
    kind = "Egress" if way == "egress" else "Ingress"
    peers_key = "to" if way == "egress" else "from"
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace") == subject.namespace
        and kind in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"]["podSelector"], subject.labels)
    ]
    if not selecting:
        return True  # not isolated in this direction
    for policy in selecting:
        for rule in policy["spec"].get(way, []):
            peers = rule.get(peers_key)
            namespace = policy["metadata"].get("namespace")
            if (not peers or any(_peer_matches(p, namespace, other) for p in peers)) and (
                _port_matches(rule.get("ports"), port, proto)
            ):
                return True
    return False


def may_connect(
    objects: list[dict], source: Peer, destination: Peer, port: int, protocol: str = "TCP"
) -> bool:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    if source.is_pod and not _admits(policies, source, destination, port, protocol, "egress"):
        return False
    if destination.is_pod:
        return _admits(policies, destination, source, port, protocol, "ingress")
    return True
