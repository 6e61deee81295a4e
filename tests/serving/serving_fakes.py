"""Test doubles that run for real on loopback: a fake OpenAI-compatible upstream (to test
timeouts, retries, the circuit breaker and fallbacks) and a redis-server process."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: Documents that differ mostly in an identifier (what hybrid retrieval must find).
CMAKE_POLICIES = {
    "CMP0042": "MACOSX_RPATH is enabled by default when building on macOS.",
    "CMP0048": "The project() command manages the VERSION variables of the project.",
    "CMP0054": "Only interpret if() arguments as variables or keywords when unquoted.",
    "CMP0063": "Honor visibility properties for all target types, static libraries included.",
    "CMP0077": "The option() command honors normal variables of the same name.",
}


def free_port() -> int:
    """A free loopback port outside the ranges Ray allocates from (no race with Ray)."""
    from serving.local import free_port as pick

    return pick("127.0.0.1")


class FakeUpstream:
    """An OpenAI-compatible ``/v1/chat/completions`` server on 127.0.0.1.

    ``mode``: ``ok`` (answers ``reply``), ``fail500``, ``fail429``, ``hang`` (sleeps
    ``hang_s`` before answering), ``bad400``, ``fail_then_ok`` (the first ``fail_count``
    requests get 500, then ok), ``tool_call`` (answers with a call of the first tool in
    the request). ``requests`` counts calls; ``last_body`` and
    ``last_headers`` hold the latest request.
    """

    def __init__(self, reply: str = "upstream answer [1]") -> None:
        self.mode = "ok"
        self.reply = reply
        self.hang_s = 30.0
        self.fail_count = 0
        self.requests = 0
        self.last_body: dict[str, Any] = {}
        self.last_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.requests += 1
                    n = outer.requests
                    outer.last_body = body
                    outer.last_headers = {k.lower(): v for k, v in self.headers.items()}
                mode = outer.mode
                if mode == "fail_then_ok":
                    mode = "fail500" if n <= outer.fail_count else "ok"
                if mode == "hang":
                    time.sleep(outer.hang_s)
                    mode = "ok"
                if mode == "fail500":
                    return self._send(500, {"error": {"message": "boom"}})
                if mode == "fail429":
                    return self._send(
                        429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}
                    )
                if mode == "bad400":
                    return self._send(400, {"error": {"message": "bad model"}})
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": "not found"}})
                if mode == "tool_call":
                    name = body["tools"][0]["function"]["name"]
                    call = {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": name, "arguments": '{"city": "Paris"}'},
                    }
                    return self._send(
                        200,
                        {
                            "id": "up-2",
                            "object": "chat.completion",
                            "model": body.get("model"),
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                                    "finish_reason": "tool_calls",
                                }
                            ],
                            "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29},
                        },
                    )
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for word in outer.reply.split(" "):
                        ev = {
                            "choices": [
                                {
                                    "index": 0,
                                    "delta": {"content": word + " "},
                                    "finish_reason": None,
                                }
                            ]
                        }
                        self.wfile.write(f"data: {json.dumps(ev)}\n\n".encode())
                        self.wfile.flush()
                    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
                    usage = {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7}}
                    self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return self._send(
                    200,
                    {
                        "id": "up-1",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": outer.reply},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
                    },
                )

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that time out and hang up are expected here

        self.server = QuietServer(("127.0.0.1", 0), Handler)  # the kernel picks the port
        self.port = int(self.server.server_address[1])
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self, mode: str = "ok") -> None:
        with self._lock:
            self.mode = mode
            self.requests = 0
            self.fail_count = 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RedisProcess:
    """``redis-server`` on a free loopback port, without persistence; restartable."""

    def __init__(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.exe = exe
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


def write_test_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway certificate authority and a server certificate it signed for 127.0.0.1
    and localhost, valid one day: ``(ca.pem, server.pem, server.key)`` under ``folder``."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def cert(
        subject: str, key: Any, issuer: x509.Name | None, signer: Any, ca: bool
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("llmops test CA", ca_key, None, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    server = cert("127.0.0.1", key, ca.subject, ca_key, False)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class RedisTlsCluster:
    """``redis-server`` in cluster mode, reachable over TLS only (as ElastiCache Serverless
    is): one node holding all 16384 slots, a throwaway CA, a password."""

    PASSWORD = "cluster-test-password"

    def __init__(self, folder: Path) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.exe = exe
        self.folder = folder
        self.ca, self.cert, self.key = write_test_ca(folder)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"rediss://:{self.PASSWORD}@127.0.0.1:{self.port}"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            [
                self.exe,
                "--port", "0",
                "--tls-port", str(self.port),
                "--bind", "127.0.0.1",
                "--tls-cert-file", str(self.cert),
                "--tls-key-file", str(self.key),
                "--tls-ca-cert-file", str(self.ca),
                "--tls-auth-clients", "no",
                "--tls-cluster", "yes",
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.folder / "nodes.conf"),
                "--requirepass", self.PASSWORD,
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.PASSWORD,
            ssl=True,
            ssl_ca_certs=str(self.ca),
            socket_timeout=1,
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server (cluster, TLS) did not start") from None
                time.sleep(0.1)
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        while b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
            if time.monotonic() > deadline:
                raise RuntimeError("the test cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
