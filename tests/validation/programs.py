"""Pulumi programs that render Kubernetes objects, for validation through the offline
engine and the CLI."""

from __future__ import annotations

from components.versions import KARPENTER_VERSION

HEADER = """
import pulumi, pulumi_aws as aws, pulumi_kubernetes as k8s

aws_provider = aws.Provider("aws", region="us-east-1")
cluster = aws.eks.Cluster(
    "eks", role_arn="arn:aws:iam::123456789012:role/eks", version="1.34",
    vpc_config={"subnet_ids": ["subnet-1", "subnet-2"]},
    opts=pulumi.ResourceOptions(provider=aws_provider),
)
kube = k8s.Provider("k8s", kubeconfig=cluster.endpoint.apply(lambda _: "apiVersion: v1\\nkind: Config\\n"))
opts = pulumi.ResourceOptions(provider=kube)
other = k8s.Provider("elsewhere", kubeconfig="apiVersion: v1\\nkind: Config\\n")

def pool(name, **template_spec):
    spec = {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"},
        "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}],
    }
    spec.update(template_spec)
    return k8s.apiextensions.CustomResource(
        name, api_version="karpenter.sh/v1", kind="NodePool", metadata={"name": name},
        spec={"template": {"spec": spec}}, opts=opts,
    )

k8s.helm.v3.Release(
    "karpenter", name="karpenter", chart="oci://public.ecr.aws/karpenter/karpenter", version="KARPENTER_VERSION",
    namespace="kube-system", values={"settings": {"clusterName": "c"}, "replicas": 2}, opts=opts,
)
k8s.core.v1.Namespace("team", metadata={"name": "team"}, opts=opts)
k8s.core.v1.Namespace("team-elsewhere", metadata={"name": "team"}, opts=pulumi.ResourceOptions(provider=other))
pool("gpu")
""".replace("KARPENTER_VERSION", KARPENTER_VERSION)

VALID = HEADER
"""Valid objects on a 1.34 EKS cluster and on a cluster the plan knows nothing about."""

INVALID = (
    HEADER
    + """
ref = {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "gpu"}
spot = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}]
k8s.apiextensions.CustomResource(
    "misspelled", api_version="karpenter.sh/v1", kind="NodePool", metadata={"name": "misspelled"},
    spec={"template": {"spec": {"nodeClassRef": ref, "requirments": spot}}}, opts=opts,
)
k8s.apiextensions.CustomResource(
    "misplaced", api_version="karpenter.sh/v1", kind="NodePool", metadata={"name": "misplaced"},
    spec={"template": {"limits": {"cpu": "8"}, "spec": {"nodeClassRef": ref, "requirements": spot}}}, opts=opts,
)
pool("empty-in", requirements=[{"key": "example.com/team", "operator": "In", "values": []}])
k8s.helm.v3.Release(
    "device-plugin", name="nvidia-device-plugin", chart="nvidia-device-plugin", version="0.17.4",
    repository_opts={"repo": "https://nvidia.github.io/k8s-device-plugin"}, namespace="nvidia",
    values={"gfd": {"enabled": True}, "nfd": {"worker": {"tolerations": []}}, "tolerationz": []}, opts=opts,
)
"""
)
"""A misspelled and a misplaced NodePool field, a CEL rule violation, an unknown Helm value."""

UNKNOWN_KIND = """
import pulumi, pulumi_kubernetes as k8s

kube = k8s.Provider("k8s", kubeconfig="apiVersion: v1\\nkind: Config\\n")
k8s.apiextensions.CustomResource(
    "widget", api_version="example.com/v1", kind="Widget", metadata={"name": "w"}, spec={"size": 1},
    opts=pulumi.ResourceOptions(provider=kube),
)
"""
"""A custom resource no vendored CRD describes."""
