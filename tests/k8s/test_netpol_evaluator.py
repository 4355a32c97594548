"""The evaluator itself, on hand-written policies: its reading of the API's rules."""

from __future__ import annotations

from typing import Any

from tests.k8s.netpol import address, connection_allowed, egress_allowed, pod, selector_matches


def policy(spec: dict[str, Any], namespace: str = "ns") -> dict[str, Any]:
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": namespace},
        "spec": spec,
    }


A = pod("10.0.0.1", "ns", {"app": "a"})
B = pod("10.0.0.2", "ns", {"app": "b"}, ports={"http": 8080})
C = pod("10.0.0.3", "other", {"app": "b"})


def test_no_policy_allows_everything() -> None:
    assert connection_allowed([], A, B, 80)


def test_policy_types_default_to_ingress_and_egress_when_egress_is_given() -> None:
    ingress_only = policy({"podSelector": {}})
    assert egress_allowed([ingress_only], A, address("1.1.1.1"), 443)
    assert not connection_allowed([ingress_only], A, B, 80)
    egress_too = policy({"podSelector": {}, "egress": []})
    assert not egress_allowed([egress_too], A, address("1.1.1.1"), 443)


def test_policies_add_up_and_select_by_label_and_namespace() -> None:
    deny = policy({"podSelector": {}, "policyTypes": ["Egress"]})
    allow_b = policy(
        {
            "podSelector": {"matchLabels": {"app": "a"}},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}]}],
        }
    )
    assert egress_allowed([deny, allow_b], A, B, 80)
    assert not egress_allowed([deny, allow_b], A, C, 80)  # podSelector alone: own namespace
    assert not egress_allowed([deny, allow_b], B, A, 80)  # the allow does not select B


def test_namespace_and_pod_selector_in_one_peer_both_apply() -> None:
    rule = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "other"}
                        },
                        "podSelector": {"matchLabels": {"app": "b"}},
                    }
                ]
            }
        ],
    }
    assert egress_allowed([policy(rule)], A, C, 80)
    assert not egress_allowed([policy(rule)], A, B, 80)


def test_ip_blocks_with_exceptions_and_ports() -> None:
    rule = policy(
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
                    "ports": [{"protocol": "TCP", "port": 80, "endPort": 90}, {"port": "http"}],
                }
            ],
        }
    )
    assert egress_allowed([rule], A, address("8.8.8.8"), 85)
    assert not egress_allowed([rule], A, address("8.8.8.8"), 91)
    assert not egress_allowed([rule], A, address("8.8.8.8"), 85, "UDP")
    assert not egress_allowed([rule], A, address("10.1.2.3"), 80)
    assert not egress_allowed([rule], A, address("2001:4860::8888"), 80)  # IPv4 block only
    assert egress_allowed([rule], A, pod("8.8.4.4", "x", {}, ports={"http": 8080}), 8080)


def test_selector_expressions() -> None:
    labels = {"tier": "web", "env": "prod"}
    assert selector_matches({}, labels)
    assert selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}, labels
    )
    assert not selector_matches(
        {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, labels
    )
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, labels)
    assert not selector_matches(
        {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, labels
    )
