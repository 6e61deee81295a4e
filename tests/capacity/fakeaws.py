"""A loopback HTTP stub in front of a moto server, for what moto cannot be seeded with.

moto (5.x) answers ``DescribeInstanceTypeOfferings`` from the offerings data it ships per
region and AZ, but ``DescribeSpotPriceHistory`` always returns the price 0.00001 with a 2006
timestamp, and Service Quotas knows only VPC quotas (``GetServiceQuota`` for ``ec2`` raises
``NoSuchResourceException``). This stub sits between the client and moto and:

- answers ``DescribeSpotPriceHistory`` for regions seeded in :attr:`FakeAws.spot_prices`,
- answers ``GetServiceQuota`` for (region, code) pairs seeded in :attr:`FakeAws.quotas`,
- answers any JSON-protocol action with a function of its parameters from
  :attr:`FakeAws.json_answers` (e.g. Cost Explorer's ``GetCostForecast``, which moto lacks),
- returns AWS errors (throttling, ``AuthFailure``, ``OptInRequired``...) for the next N
  matching calls from :attr:`FakeAws.faults`,
- forwards everything else to moto unchanged, and records every call.

Region and service are read from the SigV4 ``Authorization`` header, as AWS does.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from llmops.capacity.resolve import QUOTAS

QUOTA_NAMES = {code: name for code, name in QUOTAS.values()}

_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


@dataclass(frozen=True)
class SpotPoint:
    """One spot price history entry."""

    instance_type: str
    availability_zone: str
    price: float
    timestamp: str = "2026-11-25T12:00:00.000Z"


@dataclass
class Fault:
    """Answer the next ``times`` calls of ``action`` (in ``region``, or any) with an error."""

    action: str
    code: str
    times: int = 1
    region: str | None = None
    status: int = 400
    message: str = "injected by the test"


@dataclass(frozen=True)
class Call:
    service: str
    region: str
    action: str
    answered_by: str
    """``stub``, ``fault`` or ``moto``."""


@dataclass
class FakeAws:
    """The stub's state; tests seed it and read :attr:`calls`."""

    upstream: str
    spot_prices: dict[str, list[SpotPoint]] = field(default_factory=dict)
    quotas: dict[tuple[str, str], float] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    json_answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        with self._lock:
            self.spot_prices.clear()
            self.quotas.clear()
            self.faults.clear()
            self.json_answers.clear()
            self.calls.clear()

    def calls_of(self, action: str, region: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.action == action and (region is None or c.region == region)]

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self._server.serve_forever, name="fakeaws", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ dispatch

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        match = _CREDENTIAL.search(handler.headers.get("Authorization", ""))
        region = match.group("region") if match else "us-east-1"
        service = match.group("service") if match else "unknown"
        target = handler.headers.get("X-Amz-Target")
        if target:
            action = target.rsplit(".", 1)[-1]
            params: dict[str, Any] = json.loads(body or b"{}")
            is_json = True
        else:
            query = parse_qs(body.decode() if body else urlsplit(handler.path).query)
            params = {k: v if len(v) > 1 else v[0] for k, v in query.items()}
            action = str(params.get("Action", ""))
            is_json = False
        fault = self._take_fault(action, region)
        if fault is not None:
            self._record(service, region, action, "fault")
            self._error(handler, fault, is_json)
            return
        if service == "ec2" and action == "DescribeSpotPriceHistory" and region in self.spot_prices:
            self._record(service, region, action, "stub")
            self._spot(handler, region, params)
            return
        if is_json and action in self.json_answers:
            self._record(service, region, action, "stub")
            payload = json.dumps(self.json_answers[action](params)).encode()
            self._send(handler, 200, "application/x-amz-json-1.1", payload)
            return
        if action == "GetServiceQuota" and (region, params.get("QuotaCode", "")) in self.quotas:
            self._record(service, region, action, "stub")
            self._quota(handler, region, params)
            return
        self._record(service, region, action, "moto")
        self._forward(handler, body)

    def _take_fault(self, action: str, region: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.action == action and fault.times > 0 and fault.region in (None, region):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, service: str, region: str, action: str, by: str) -> None:
        with self._lock:
            self.calls.append(Call(service, region, action, by))

    # ------------------------------------------------------------------ answers

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, content_type: str, payload: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("x-amzn-RequestId", "fakeaws-0001")
        handler.end_headers()
        handler.wfile.write(payload)

    def _error(self, handler: BaseHTTPRequestHandler, fault: Fault, is_json: bool) -> None:
        if is_json:
            payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
            self._send(handler, fault.status, "application/x-amz-json-1.1", payload)
            return
        xml = (
            f"<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error><Code>{escape(fault.code)}</Code>"
            f"<Message>{escape(fault.message)}</Message></Error></Errors><RequestID>fakeaws-0001</RequestID></Response>"
        )
        self._send(handler, fault.status, "text/xml", xml.encode())

    def _spot(self, handler: BaseHTTPRequestHandler, region: str, params: dict[str, Any]) -> None:
        wanted = {v for k, v in params.items() if k.startswith("InstanceType.")}
        items = "".join(
            "<item>"
            f"<instanceType>{p.instance_type}</instanceType>"
            "<productDescription>Linux/UNIX</productDescription>"
            f"<spotPrice>{p.price}</spotPrice>"
            f"<timestamp>{p.timestamp}</timestamp>"
            f"<availabilityZone>{p.availability_zone}</availabilityZone>"
            "</item>"
            for p in self.spot_prices[region]
            if not wanted or p.instance_type in wanted
        )
        xml = (
            f"<?xml version='1.0' encoding='UTF-8'?><DescribeSpotPriceHistoryResponse xmlns=\"{EC2_NS}\">"
            f"<requestId>fakeaws-0001</requestId><spotPriceHistorySet>{items}</spotPriceHistorySet>"
            "<nextToken/></DescribeSpotPriceHistoryResponse>"
        )
        self._send(handler, 200, "text/xml", xml.encode())

    def _quota(self, handler: BaseHTTPRequestHandler, region: str, params: dict[str, Any]) -> None:
        code = params["QuotaCode"]
        payload = {
            "Quota": {
                "ServiceCode": params.get("ServiceCode", "ec2"),
                "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                "QuotaArn": f"arn:aws:servicequotas:{region}:123456789012:ec2/{code}",
                "QuotaCode": code,
                "QuotaName": QUOTA_NAMES.get(code, code),
                "Value": self.quotas[(region, code)],
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        }
        self._send(handler, 200, "application/x-amz-json-1.1", json.dumps(payload).encode())

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        try:
            conn.request(handler.command, handler.path, body=body or None, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            handler.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                    handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        finally:
            conn.close()
