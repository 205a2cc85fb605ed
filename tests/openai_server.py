"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol.

Tests script what it does next (answer, refuse, fail with 429 or 500, stall,
send garbage) and read back every request it received. It is not a mock: the
real ``openai`` client talks to it over TCP.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_POSITION_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)


@dataclass
class Reply:
    """Answer with ``text`` (``None`` content plus ``refusal`` models a refusal)."""

    text: str | None
    refusal: str | None = None
    prompt_tokens: int = 100
    completion_tokens: int = 20


@dataclass
class Status:
    """Fail with an HTTP status and an OpenAI-style error body."""

    code: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stall:
    """Wait ``seconds`` before answering (to trip the client's timeout)."""

    seconds: float
    then: Reply | Status = field(default_factory=lambda: Reply("0"))


@dataclass
class Garbage:
    """Answer 200 with a body that is not JSON."""

    body: bytes = b"<html>definitely not json</html>"


Step = Reply | Status | Stall | Garbage


def shown_positions(body: dict[str, Any]) -> list[int]:
    """The positions listed in the request's instance block."""
    return [int(p) for p, _ in _POSITION_LINE.findall(body["messages"][-1]["content"])]


def pick_longest(body: dict[str, Any], k: int) -> Reply:
    """A well-behaved LLM: reasons a little, then names the k longest texts shown."""
    shown = _POSITION_LINE.findall(body["messages"][-1]["content"])
    ranked = sorted(shown, key=lambda item: (-len(item[1]), int(item[0])))
    chosen = ", ".join(position for position, _ in ranked[:k])
    return Reply(f"Step 1: read every text. Step 2: the longest say the most.\n{chosen}")


class ScriptedOpenAIServer:
    """Serve ``/v1/chat/completions`` and ``/v1/models`` on an ephemeral loopback port."""

    def __init__(self) -> None:
        self.script: deque[Step] = deque()
        self.default: Callable[[dict[str, Any]], Step] = lambda body: Reply("0")
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(
                        200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]}
                    )
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                body = json.loads(raw or b"{}")
                with server._lock:
                    server.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "raw": raw}
                    )
                    step = server.script.popleft() if server.script else server.default(body)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                self._play(step, body)

            def _play(self, step: Step, body: dict[str, Any]) -> None:
                if isinstance(step, Stall):
                    time.sleep(step.seconds)
                    step = step.then
                if isinstance(step, Status):
                    self._json(
                        step.code,
                        {"error": {"message": step.message, "type": "scripted", "code": None}},
                        step.headers,
                    )
                elif isinstance(step, Garbage):
                    self._send(200, step.body, "text/html")
                else:
                    message = {"role": "assistant", "content": step.text, "refusal": step.refusal}
                    self._json(
                        200,
                        {
                            "id": "chatcmpl-scripted",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body.get("model", "scripted"),
                            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                            "usage": {
                                "prompt_tokens": step.prompt_tokens,
                                "completion_tokens": step.completion_tokens,
                                "total_tokens": step.prompt_tokens + step.completion_tokens,
                            },
                        },
                    )

            def _json(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                self._send(code, json.dumps(payload).encode(), "application/json", headers)

            def _send(
                self, code: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                try:
                    self.send_response(code)
                    self.send_header("content-type", ctype)
                    self.send_header("content-length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test); nothing to do

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].rstrip("/").endswith("/chat/completions")]

    def push(self, *steps: Step) -> None:
        self.script.extend(steps)

    def reset(self) -> None:
        with self._lock:
            self.script.clear()
            self.requests.clear()
            self.default = lambda body: Reply("0")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
