"""A fake OpenAI-compatible API on 127.0.0.1 that answers right, or wrongly on purpose.

``mode``:

- ``ok``: every route answers as the platform's API does (RAG answers cite the documents
  whose words the question shares);
- ``bad-shape``: answers that break OpenAI's shapes (no message content, stream chunks
  without a delta and no ``[DONE]``, an embedding that is a string, models as a string);
- ``no-citation``: right shapes, but RAG answers carry no citations;
- ``slow``: right answers, each ``/v1`` one after ``delay_s`` seconds.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


class FakeApi:
    def __init__(self) -> None:
        self.mode = "ok"
        self.delay_s = 0.0
        self.documents: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != "Bearer test-key":
                    self._send(401, {"error": {"message": "Missing or invalid API key.", "code": "invalid_api_key"}})
                    return False
                return True

            def do_GET(self) -> None:
                outer.requests.append(("GET", self.path))
                if self.path == "/healthz":
                    return self._send(200, {"status": "ok", "vector_store": "ok"})
                if not self._authorized():
                    return None
                outer._pause()
                if self.path == "/v1/models":
                    if outer.mode == "bad-shape":
                        return self._send(200, {"object": "list", "data": "tiny"})
                    return self._send(200, {"object": "list", "data": [{"id": "tiny", "object": "model"}]})
                return self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                outer.requests.append(("POST", self.path))
                if not self._authorized():
                    return None
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                outer._pause()
                if self.path == "/v1/documents":
                    for doc in body["documents"]:
                        outer.documents[doc["source"]] = doc["text"]
                    return self._send(200, {"object": "list", "data": [{"source": d["source"], "status": "created", "chunks": 1} for d in body["documents"]]})
                if self.path == "/v1/embeddings":
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    if outer.mode == "bad-shape":
                        return self._send(200, {"object": "list", "data": [{"index": 0, "embedding": "0.1,0.2"}]})
                    data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))]
                    return self._send(200, {"object": "list", "data": data, "model": "mini", "usage": {"prompt_tokens": 4, "total_tokens": 4}})
                if self.path == "/v1/chat/completions":
                    return self._chat(body)
                return self._send(404, {"error": {"message": "not found"}})

            def _chat(self, body: dict[str, Any]) -> None:
                question = body["messages"][-1]["content"]
                retrieval = body.get("retrieval", True) is not False
                cited = outer._cite(question) if retrieval else []
                answer = " ".join(f"[{i + 1}] {outer.documents[s]}" for i, s in enumerate(cited)) or "The service is up."
                citations = [{"index": i + 1, "source": s, "score": 0.9, "cited": True} for i, s in enumerate(cited)]
                if body.get("stream"):
                    return self._stream(answer, citations)
                message: dict[str, Any] = {"role": "assistant", "content": answer}
                if outer.mode == "bad-shape":
                    message = {"role": "assistant"}
                payload: dict[str, Any] = {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "tiny",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
                }
                if outer.mode != "no-citation":
                    payload["citations"] = citations
                return self._send(200, payload)

            def _stream(self, answer: str, citations: list[dict[str, Any]]) -> None:
                def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
                    return {"id": "c", "object": "chat.completion.chunk", "model": "tiny", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

                if outer.mode == "bad-shape":
                    events = [{"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "text": answer}]}]
                    tail = b""
                else:
                    events = [chunk({"role": "assistant", "content": ""}, None), chunk({"content": answer}, None), chunk({}, "stop")]
                    tail = b"data: [DONE]\n\n"
                data = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + tail
                self._send(200, data, "text/event-stream")

        self.server = ThreadingHTTPServer(("127.0.0.1", _free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _pause(self) -> None:
        if self.mode == "slow":
            time.sleep(self.delay_s)

    def _cite(self, question: str) -> list[str]:
        wanted = _words(question)
        scored = sorted(((len(wanted & _words(t)), s) for s, t in self.documents.items()), reverse=True)
        return [s for n, s in scored[:2] if n > 0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
