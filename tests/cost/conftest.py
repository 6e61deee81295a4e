"""Fixtures for the cost model tests: a small reference Pulumi program (raw pulumi_aws and
pulumi_kubernetes resources with explicit providers) and a local Price List API server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

# One region, one provider per package. Config (namespace "ref") switches resources on, so one
# program serves the base and the head of a pull request.
REFERENCE_PROGRAM = '''
import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

cfg = pulumi.Config("ref")
region = cfg.get("region") or "us-east-1"


class Platform(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("ref:index:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block="10.0.0.0/16", opts=child)
        subnet = aws.ec2.Subnet(f"{name}-public", vpc_id=vpc.id, cidr_block="10.0.0.0/24", opts=child)
        eip = aws.ec2.Eip(f"{name}-nat", domain="vpc", opts=child)
        aws.ec2.NatGateway(f"{name}-nat", allocation_id=eip.id, subnet_id=subnet.id, opts=child)
        aws.eks.Cluster(
            f"{name}-eks",
            role_arn="arn:aws:iam::123456789012:role/eks",
            version="1.34",
            vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=[subnet.id]),
            opts=child,
        )
        if cfg.get_bool("unpriced"):
            aws.dynamodb.Table(
                f"{name}-table",
                attributes=[aws.dynamodb.TableAttributeArgs(name="id", type="S")],
                hash_key="id",
                billing_mode="PAY_PER_REQUEST",
                opts=child,
            )
        self.register_outputs({"vpcId": vpc.id})


class GpuPool(pulumi.ComponentResource):
    def __init__(self, name, instance_type, capacity, min_nodes, max_nodes, k8s_provider, opts=None):
        super().__init__("ref:index:GpuPool", name, None, opts)
        k8s.apiextensions.CustomResource(
            f"{name}-nodepool",
            api_version="karpenter.sh/v1",
            kind="NodePool",
            metadata={
                "name": name,
                "annotations": {
                    "llmops.io/min-nodes": str(min_nodes),
                    "llmops.io/max-nodes": str(max_nodes),
                    "llmops.io/gpu-pool": name,
                },
            },
            spec={
                "template": {"spec": {"requirements": [
                    {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": [instance_type]},
                    {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity]},
                ]}},
                "limits": {"nvidia.com/gpu": str(max_nodes)},
            },
            opts=pulumi.ResourceOptions(parent=self, provider=k8s_provider),
        )
        self.register_outputs({})


provider = aws.Provider(f"aws-{region}", region=region)
platform = Platform(region, opts=pulumi.ResourceOptions(providers=[provider]))
kube = k8s.Provider("k8s", kubeconfig="{}", opts=pulumi.ResourceOptions(parent=platform))
if cfg.get_bool("gpuPool"):
    GpuPool(
        "a10g",
        cfg.get("instanceType") or "g5.xlarge",
        cfg.get("capacity") or "spot",
        int(cfg.get("minNodes") or 0),
        int(cfg.get("maxNodes") or 4),
        kube,
        opts=pulumi.ResourceOptions(parent=platform),
    )
pulumi.export("region", region)
'''


@pytest.fixture()
def reference_project(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``make(stack, **ref_config)`` writes the reference program with that stack config
    and returns the project directory."""
    from tests.support import write_project

    def make(stack: str = "ref", **ref_config: Any) -> Path:
        root = tmp_path / stack
        extra = {f"ref:{k}": (json.dumps(v) if isinstance(v, bool) else str(v)) for k, v in ref_config.items()}
        extra = {k: (v.lower() if v in ("true", "false") else v) for k, v in extra.items()}
        return write_project(root, stack=stack, program=REFERENCE_PROGRAM, name="cost-reference", extra_config=extra)

    return make


class _PriceListHandler(BaseHTTPRequestHandler):
    """Serves ``AWSPriceListService.GetProducts`` from a recorded response (JSON 1.1 protocol),
    applying the ``regionCode`` filter and paging two records at a time."""

    records: ClassVar[list[str]] = []
    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        type(self).requests.append({"target": target, "body": body})
        if target != "AWSPriceListService.GetProducts":
            self._send(400, {"__type": "InvalidParameterException", "Message": f"unsupported {target}"})
            return
        filters = {f["Field"]: f["Value"] for f in body.get("Filters", [])}
        region = filters.get("regionCode")
        matching = [r for r in self.records if region is None or json.loads(r)["product"]["attributes"].get("regionCode") == region]
        start = int(body.get("NextToken") or 0)
        page = matching[start : start + 2]
        response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": page}
        if start + 2 < len(matching):
            response["NextToken"] = str(start + 2)
        self._send(200, response)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture()
def price_list_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, type[_PriceListHandler]]]:
    """A Price List API on 127.0.0.1 serving ``fixtures/price_list_get_products.json``."""
    recorded = json.loads((FIXTURES / "price_list_get_products.json").read_text(encoding="utf-8"))
    handler = type("Handler", (_PriceListHandler,), {"records": recorded["PriceList"], "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
