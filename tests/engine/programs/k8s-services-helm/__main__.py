"""Kubernetes on an existing EKS cluster: a namespace, a Deployment behind a LoadBalancer
Service and an internal ClusterIP Service, and ingress-nginx from its Helm chart."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

cluster = aws.eks.get_cluster(name="platform")
token = aws.eks.get_cluster_auth(name="platform")
kubeconfig = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "eks", "cluster": {"server": cluster.endpoint, "certificate-authority-data": cluster.certificate_authorities[0].data}}],
        "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks"}}],
        "current-context": "eks",
        "users": [{"name": "eks", "user": {"token": token.token}}],
    }
)
provider = k8s.Provider("eks", kubeconfig=kubeconfig)
opts = pulumi.ResourceOptions(provider=provider)

ns = k8s.core.v1.Namespace("web", opts=opts)
labels = {"app": "web"}
deployment = k8s.apps.v1.Deployment(
    "web",
    metadata={"namespace": ns.metadata.name},
    spec={
        "replicas": 3,
        "selector": {"match_labels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"container_port": 80}]}]}},
    },
    opts=opts,
)
public = k8s.core.v1.Service(
    "web",
    metadata={"namespace": ns.metadata.name, "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
    spec={"type": "LoadBalancer", "selector": labels, "ports": [{"port": 80, "target_port": 80}]},
    opts=opts,
)
internal = k8s.core.v1.Service("web-internal", metadata={"namespace": ns.metadata.name}, spec={"selector": labels, "ports": [{"port": 8080, "target_port": 80}]}, opts=opts)
ingress = k8s.helm.v3.Release(
    "ingress-nginx",
    chart="ingress-nginx",
    version="4.11.3",
    namespace=ns.metadata.name,
    repository_opts={"repo": "https://kubernetes.github.io/ingress-nginx"},
    values={"controller": {"replicaCount": 2, "service": {"type": "LoadBalancer"}}},
    opts=opts,
)

pulumi.export("namespace", ns.metadata.name)
pulumi.export("hostname", public.status.load_balancer.ingress[0].hostname)
pulumi.export("nodePort", public.spec.ports[0].node_port)
pulumi.export("internalIp", internal.spec.cluster_ip)
pulumi.export("readyReplicas", deployment.status.ready_replicas)
pulumi.export("releaseStatus", ingress.status.status)
pulumi.export("releaseName", ingress.status.name)
pulumi.export("clusterEndpoint", cluster.endpoint)
