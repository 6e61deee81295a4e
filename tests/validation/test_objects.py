"""Objects checked as the API server would check them: custom resources against the
vendored CRDs (schema, defaults, pruning, CEL rules), built-in kinds against the cluster
version's schema, metadata for both."""

from __future__ import annotations

from typing import Any

import pytest

from components.versions import KARPENTER_VERSION
from llmops.validation import ValidationProblem, validate_object
from llmops.validation.builtin import bundled_version
from llmops.validation.structural import apply_defaults, list_type_findings, pruned_fields
from llmops.validation.values import SECRET

K8S = "1.35"


def errors(obj: dict[str, Any], **kwargs: Any) -> dict[str, list[str]]:
    """path -> messages of the errors of ``obj``."""
    found: dict[str, list[str]] = {}
    for p in validate_object(obj, kubernetes_version=K8S, **kwargs):
        assert p.severity == "error", p
        found.setdefault(p.path, []).append(p.message)
    return found


def test_the_rendered_shapes_are_valid(node_pool: dict[str, Any], node_class: dict[str, Any]) -> None:
    assert validate_object(node_pool, kubernetes_version=K8S) == []
    assert validate_object(node_class, kubernetes_version=K8S) == []


def test_a_misspelled_node_pool_field_is_named_with_its_path(node_pool: dict[str, Any]) -> None:
    spec = node_pool["spec"]["template"]["spec"]
    spec["requirments"] = spec.pop("requirements")
    problems = validate_object(node_pool, kubernetes_version=K8S)
    by_path = {p.path: p for p in problems}
    assert set(by_path) == {"spec.template.spec.requirments", "spec.template.spec.requirements"}
    pruned = by_path["spec.template.spec.requirments"]
    assert (pruned.kind, pruned.api_version, pruned.object_name) == ("NodePool", "karpenter.sh/v1", "a10g-spot")
    assert "silently drop (prune)" in pruned.message
    assert pruned.schema == f"karpenter-{KARPENTER_VERSION}/karpenter.sh_nodepools.yaml"
    assert by_path["spec.template.spec.requirements"].message == "Required value"
    assert str(pruned).startswith("NodePool/a10g-spot spec.template.spec.requirments: unknown field")


def test_a_misplaced_field_is_a_pruned_field(node_pool: dict[str, Any]) -> None:
    node_pool["spec"]["template"]["limits"] = node_pool["spec"].pop("limits")
    assert list(errors(node_pool)) == ["spec.template.limits"]


def test_a_pruned_field_deep_in_a_node_class(node_class: dict[str, Any]) -> None:
    node_class["spec"]["metadataOptions"]["httpPutResponseHopLimt"] = 2
    assert list(errors(node_class)) == ["spec.metadataOptions.httpPutResponseHopLimt"]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda o: o["spec"]["disruption"].update(consolidateAfter=5), "spec.disruption.consolidateAfter", "must be of type string"),
        (lambda o: o["spec"]["template"]["spec"]["taints"][0].update(effect="NoSchedul"), "spec.template.spec.taints[0].effect", 'Unsupported value: "NoSchedul"'),
        (lambda o: o["spec"]["template"]["spec"].update(expireAfter="30 days"), "spec.template.spec.expireAfter", "should match"),
        (lambda o: o["spec"]["template"]["spec"]["nodeClassRef"].pop("group"), "spec.template.spec.nodeClassRef.group", "Required value"),
        (lambda o: o["spec"].update(weight=101), "spec.weight", "must be <= 100"),
    ],
)
def test_schema_types_enums_patterns_and_bounds(node_pool: dict[str, Any], change: Any, path: str, message: str) -> None:
    change(node_pool)
    found = errors(node_pool)
    assert list(found) == [path]
    assert message in found[path][0]


def test_cel_rule_in_operator_needs_values(node_pool: dict[str, Any]) -> None:
    node_pool["spec"]["template"]["spec"]["requirements"].append({"key": "example.com/team", "operator": "In", "values": []})
    found = errors(node_pool)
    assert list(found) == ["spec.template.spec.requirements"]
    assert "requirements with operator 'In' must have a value defined" in found["spec.template.spec.requirements"][0]
    assert "(rule: self.all(x, x.operator == 'In' ? x.values.size() != 0 : true))" in found["spec.template.spec.requirements"][0]


def test_cel_rule_on_each_list_item_names_the_item(node_pool: dict[str, Any]) -> None:
    node_pool["spec"]["template"]["spec"]["requirements"].append({"key": "kubernetes.io/hostname", "operator": "Exists"})
    found = errors(node_pool)
    assert list(found) == ["spec.template.spec.requirements[3].key"]
    assert any('label "kubernetes.io/hostname" is restricted' in m for m in found["spec.template.spec.requirements[3].key"])


def test_cel_rule_across_fields_of_a_node_class(node_class: dict[str, Any]) -> None:
    node_class["spec"]["instanceProfile"] = "KarpenterNodeInstanceProfile"
    found = errors(node_class)
    assert list(found) == ["spec"]
    assert "must specify exactly one of ['role', 'instanceProfile']" in found["spec"][0]


def test_cel_runtime_error_fails_like_the_api_server(node_pool: dict[str, Any]) -> None:
    node_pool["spec"]["template"]["spec"]["requirements"].append(
        {"key": "karpenter.k8s.aws/instance-cpu", "operator": "Gt", "values": ["many"]}
    )
    found = errors(node_pool)
    assert list(found) == ["spec.template.spec.requirements"]
    assert "failed to evaluate" in found["spec.template.spec.requirements"][0]


def test_transition_rules_do_not_run_on_create(node_class: dict[str, Any]) -> None:
    # (has(oldSelf.role) && has(self.role)) || ... only runs on update: a create is valid
    assert validate_object(node_class, kubernetes_version=K8S) == []


def test_defaults_are_applied_before_validation(node_pool: dict[str, Any]) -> None:
    # disruption.consolidateAfter is required, and defaulted: a pool without disruption is valid
    del node_pool["spec"]["disruption"]
    assert validate_object(node_pool, kubernetes_version=K8S) == []
    schema = {"type": "object", "properties": {"a": {"type": "object", "default": {}, "properties": {"b": {"type": "string", "default": "x"}}}, "n": {"type": "string"}}}
    assert apply_defaults({"n": None}, schema) == {"a": {"b": "x"}}


def test_a_kuberay_rule_and_a_prometheus_operator_schema() -> None:
    service = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "llm"},
        "spec": {"managedBy": "someone-else", "rayClusterConfig": {"headGroupSpec": {"template": {"spec": {"containers": [{"name": "head", "image": "rayproject/ray:2.60.0"}]}}}}},
    }
    found = errors(service)
    assert list(found) == ["spec.managedBy"]
    assert "must be either 'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue'" in found["spec.managedBy"][0]
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "ray"},
        "spec": {"selector": {"matchLabels": {"app": "ray"}}, "endpoints": [{"port": "metrics", "intervall": "15s"}]},
    }
    assert list(errors(monitor)) == ["spec.endpoints[0].intervall"]


def test_a_version_the_crd_does_not_serve(node_pool: dict[str, Any]) -> None:
    node_pool["apiVersion"] = "karpenter.sh/v1beta1"
    found = errors(node_pool)
    assert list(found) == ["apiVersion"]
    assert "no matches for kind NodePool in version karpenter.sh/v1beta1" in found["apiVersion"][0]


def test_metadata_name_and_labels(node_pool: dict[str, Any]) -> None:
    node_pool["metadata"]["name"] = "A10G_spot"
    node_pool["metadata"]["labels"]["llmops.io/pool!"] = "x"
    assert set(errors(node_pool)) == {"metadata.name", 'metadata.labels["llmops.io/pool!"]'}


def test_a_name_the_provider_generates_is_not_required(node_pool: dict[str, Any]) -> None:
    del node_pool["metadata"]["name"]
    assert validate_object(node_pool, kubernetes_version=K8S) == []


def test_secret_values_are_not_read(node_pool: dict[str, Any]) -> None:
    node_pool["spec"]["disruption"]["consolidateAfter"] = SECRET
    node_pool["spec"]["template"]["spec"]["requirements"][0]["values"] = SECRET
    assert validate_object(node_pool, kubernetes_version=K8S) == []


def test_a_kind_without_a_schema_is_unvalidated() -> None:
    problems = validate_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}, kubernetes_version=K8S)
    assert problems == [
        ValidationProblem(
            kind="Widget",
            api_version="example.com/v1",
            object_name="w",
            path="",
            message="no vendored schema for Widget (example.com/v1): not validated",
            severity="unvalidated",
        )
    ]


def test_built_in_kinds_strictly_for_the_cluster_version() -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gpu-monitoring", "labelz": {"a": "b"}}}
    problems = validate_object(namespace, kubernetes_version="1.35")
    assert [(p.path, p.schema) for p in problems] == [("metadata.labelz", "kubernetes 1.35 (kubernetes-validate)")]
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"replicas": 3}}
    assert [p.path for p in validate_object(config_map, kubernetes_version="1.35")] == ["data.replicas"]
    assert [p.path for p in validate_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Bad"}}, kubernetes_version="1.35")] == ["metadata.name"]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [{"name": "c", "image": "i", "resources": {"limit": {}}}]}}},
    }
    assert [p.path for p in validate_object(deployment, kubernetes_version="1.35")] == ["spec.template.spec.containers[0].resources.limit"]


def test_a_version_not_bundled_uses_the_closest_and_says_so() -> None:
    assert bundled_version("1.35").exact and bundled_version("1.35").note is None
    newest = bundled_version("1.99")
    assert not newest.exact
    assert newest.note is not None and "closest bundled version" in newest.note and "1.99" in newest.note
    assert bundled_version("1.10").bundled.startswith("1.25")


def test_list_types_and_pruning_rules_on_small_schemas() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ports": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["port"],
                "items": {"type": "object", "properties": {"port": {"type": "integer"}}},
            },
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "strings": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    value = {"ports": [{"port": 80}, {"port": 80}], "tags": ["a", "a"], "free": {"x": 1}, "strings": {"k": "v"}, "other": 1}
    assert [path for path, _ in list_type_findings(value, schema)] == [("ports", 1), ("tags", 1)]
    assert list(pruned_fields({"spec": value}, {"type": "object", "properties": {"spec": schema}})) == [("spec", "other")]


def test_string_formats_the_api_server_checks() -> None:
    from llmops.validation.structural import SchemaValidator

    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "every": {"type": "string", "format": "duration"},
            "net": {"type": "string", "format": "cidr"},
            "count": {"type": "integer", "format": "int32"},
        },
    }
    validator = SchemaValidator(schema)
    good = {"when": "2026-11-30T12:00:00Z", "every": "1h30m", "net": "10.0.0.0/16", "count": 3}
    assert list(validator.findings(good)) == []
    bad = {"when": "yesterday", "every": "90 minutes", "net": "10.0.0.0/33", "count": 3}
    assert sorted(path for path, _ in validator.findings(bad)) == [("every",), ("net",), ("when",)]


def test_cel_results_are_keyed_on_the_fields_a_rule_reads() -> None:
    from llmops.validation.cel import self_fields

    assert self_fields("(has(self.role) && !has(self.instanceProfile)) || (!has(self.role) && has(self.instanceProfile))") == {"role", "instanceProfile"}
    assert self_fields("self.amiSelectorTerms.exists(x, has(x.alias)) ? true : has(self.amiFamily)") == {"amiSelectorTerms", "amiFamily"}
    for whole in ("self.all(x, x != '')", "self != ''", "self['a'] == 1", "self.size() > 0 && self.x == 1"):
        assert self_fields(whole) is None, whole
