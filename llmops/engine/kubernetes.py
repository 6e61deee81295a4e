"""Kubernetes objects as the API server returns them after a create: metadata the server
fills (name from auto-naming, namespace, uid, resourceVersion, creation time, generation),
the defaults it applies to a Service's spec, and a ``status`` per kind: a Service of type
LoadBalancer gets its load balancer's hostname, workloads report their replicas ready, a
Namespace is Active, a Helm release is deployed.
"""

from __future__ import annotations

from typing import Any

from llmops.engine.formats import CREATED_AT, digest, digits, dns_suffix, private_ip, uuid_from

# Kinds that live outside namespaces (everything else defaults to ``default``).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
        "CustomResourceDefinition", "PriorityClass", "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
        "APIService", "CSIDriver", "CSINode", "IngressClass", "RuntimeClass", "VolumeAttachment",
        "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration", "ComponentStatus",
    }
)
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def object_name(token: str, logical: str, metadata: dict[str, Any]) -> str:
    """``metadata.name``, else Pulumi's auto-name: the logical name plus 8 characters."""
    return str(metadata.get("name") or f"{logical}-{digest(token, logical, length=8)}")


def respond(token: str, logical: str, region: str, inputs: dict[str, Any], resource_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """(id, outputs) of a Kubernetes object or Helm release."""
    kind = token.rsplit(":", 1)[-1]
    if token == HELM_RELEASE:
        return _helm_release(token, logical, inputs)
    outputs = dict(inputs)
    metadata = dict(inputs.get("metadata") or {})
    if resource_id and not metadata.get("name"):
        read_namespace, _, read_name = resource_id.rpartition("/")
        metadata["name"] = read_name
        if read_namespace:
            metadata["namespace"] = read_namespace
    metadata["name"] = object_name(token, logical, metadata)
    if kind not in CLUSTER_SCOPED and not kind.endswith("List"):
        metadata.setdefault("namespace", "default")
    metadata.setdefault("uid", uuid_from(token, logical, "uid"))
    metadata.setdefault("resourceVersion", digits(token, logical, length=6))
    metadata.setdefault("creationTimestamp", CREATED_AT)
    metadata.setdefault("generation", 1)
    outputs["metadata"] = metadata
    namespace = metadata.get("namespace")
    physical_id = f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
    seed = (token, logical)
    spec = inputs.get("spec") if isinstance(inputs.get("spec"), dict) else None
    if kind == "Service":
        spec = _service_spec(spec or {}, seed)
        outputs["spec"] = spec
        outputs["status"] = {"loadBalancer": {"ingress": [{"hostname": load_balancer_hostname(seed, region)}]} if spec.get("type") == "LoadBalancer" else {}}
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        replicas = int((spec or {}).get("replicas", 1) or 0)
        outputs["status"] = {
            "replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
            "updatedReplicas": replicas, "observedGeneration": 1,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}] if kind == "Deployment" else [],
        }
    elif kind == "DaemonSet":
        outputs["status"] = {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberReady": 1, "numberAvailable": 1, "numberMisscheduled": 0, "observedGeneration": 1}
    elif kind == "Pod":
        outputs["status"] = {"phase": "Running", "podIP": private_ip(*seed), "hostIP": private_ip(*seed, "host"), "conditions": [{"type": "Ready", "status": "True"}]}
    elif kind == "Namespace":
        outputs["status"] = {"phase": "Active"}
    elif kind == "Job":
        outputs["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    elif kind == "PersistentVolumeClaim":
        requests = ((spec or {}).get("resources") or {}).get("requests") or {}
        outputs["status"] = {"phase": "Bound", "capacity": dict(requests), "accessModes": list((spec or {}).get("accessModes") or [])}
    elif kind == "Ingress":
        outputs["status"] = {"loadBalancer": {"ingress": [{"hostname": load_balancer_hostname(seed, region)}]}}
    elif kind == "CustomResourceDefinition":
        names = dict((spec or {}).get("names") or {})
        outputs["status"] = {"acceptedNames": names, "conditions": [{"type": "Established", "status": "True"}], "storedVersions": [v.get("name") for v in (spec or {}).get("versions") or [] if isinstance(v, dict) and v.get("storage")]}
    else:
        outputs.setdefault("status", {})
    return physical_id, outputs


def load_balancer_hostname(seed: tuple[str, ...], region: str) -> str:
    """The DNS name AWS gives the load balancer behind a Service or Ingress."""
    return f"a{digest(*seed, 'elb', length=32)}-{digits(*seed, length=10)}.{region}.elb.{dns_suffix(region)}"


def _service_spec(spec: dict[str, Any], seed: tuple[str, ...]) -> dict[str, Any]:
    spec = dict(spec)
    spec.setdefault("type", "ClusterIP")
    if spec.get("clusterIP") != "None":
        spec.setdefault("clusterIP", private_ip(*seed, base="172.20"))
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("sessionAffinity", "None")
    ports = []
    for i, raw in enumerate(spec.get("ports") or []):
        port = dict(raw) if isinstance(raw, dict) else {"port": raw}
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if spec["type"] in ("NodePort", "LoadBalancer"):
            port.setdefault("nodePort", 30000 + int(digest(*seed, str(i), length=4), 16) % 2768)
        ports.append(port)
    if ports:
        spec["ports"] = ports
    return spec


def _helm_release(token: str, logical: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    outputs = dict(inputs)
    release = str(inputs.get("name") or f"{logical}-{digest(token, logical, length=8)}")
    namespace = str(inputs.get("namespace") or "default")
    outputs["name"] = release
    outputs["namespace"] = namespace
    outputs["status"] = {
        "name": release,
        "namespace": namespace,
        "chart": inputs.get("chart"),
        "version": inputs.get("version"),
        "appVersion": inputs.get("version"),
        "status": "deployed",
        "revision": 1,
    }
    return f"{namespace}/{release}", outputs
