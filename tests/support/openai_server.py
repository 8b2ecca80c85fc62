"""A local OpenAI-compatible HTTP server for tests: real HTTP on 127.0.0.1, driven by the official client.

    with OpenAIServer() as llm:
        llm.reply("question", when="Decide what the message")   # canned answer when a prompt contains this
        llm.reply(lambda req: ..., when=lambda req: ...)         # or computed from the request
        llm.fail(429, retry_after=1)                             # next chat call: 429 + Retry-After
        llm.fail(500, times=2)
        llm.slow(3.0)                                            # answers, but only after 3 s
        OpenAI(api_key="sk-test", base_url=llm.url)              # llm.url ends in /v1
        llm.chat_requests()                                      # every chat request body, oldest first

Endpoints: POST /v1/chat/completions, POST /v1/embeddings (deterministic unit-ish vectors from a hash of
the text), GET /v1/models. Faults and slowness apply to the chat endpoint unless `endpoint=` says otherwise.
Without a matching rule the chat endpoint answers `default_reply`.

Fixture: `openai_server` (import it into a conftest).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Request = dict[str, Any]
Matcher = Callable[[Request], bool]
Responder = Callable[[Request], str]


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    body: Request
    at: float


@dataclass
class _Rule:
    match: Matcher
    reply: Responder
    times: int  # -1: forever


@dataclass
class _Fault:
    endpoint: str
    match: Matcher
    status: int
    retry_after: float | None
    times: int
    message: str


@dataclass
class _Slow:
    endpoint: str
    match: Matcher
    delay: float
    times: int


def system_prompt(request: Request) -> str:
    return "\n".join(m.get("content", "") for m in request.get("messages", []) if m.get("role") == "system")


def user_content(request: Request) -> str:
    return "\n".join(m.get("content", "") for m in request.get("messages", []) if m.get("role") == "user")


def user_data(request: Request) -> Any:
    """The user message parsed as JSON (how passiton sends Slack content), or None if it is not JSON."""
    try:
        return json.loads(user_content(request))
    except ValueError:
        return None


def _matcher(when: str | Matcher | None) -> Matcher:
    if when is None:
        return lambda _req: True
    if isinstance(when, str):
        needle = when
        return lambda req: needle in system_prompt(req) or needle in user_content(req)
    return when


def fake_embedding(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = (digest * (dim // len(digest) + 1))[:dim]
    return [(b - 127.5) / 127.5 for b in raw]


@dataclass
class OpenAIServer:
    api_key: str | None = None  # when set, requests without `Bearer <api_key>` get 401
    default_reply: str = "chatter"
    embedding_dim: int = 16
    _rules: list[_Rule] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _slow: list[_Slow] = field(default_factory=list)
    _requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _gate: threading.Event | None = None
    _held: int = 0
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> OpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # -- scripting ---------------------------------------------------------------------------------
    def reply(self, answer: str | Responder, *, when: str | Matcher | None = None, times: int = -1) -> None:
        """Answer chat requests matching `when` (a substring of the prompt, or a predicate) with `answer`.
        Rules are tried newest first."""
        if callable(answer):
            responder = answer
        else:
            text = answer

            def responder(_req: Request) -> str:
                return text

        with self._lock:
            self._rules.insert(0, _Rule(_matcher(when), responder, times))

    def fail(
        self,
        status: int = 500,
        *,
        retry_after: float | None = None,
        times: int = 1,
        when: str | Matcher | None = None,
        endpoint: str = "chat",
        message: str | None = None,
    ) -> None:
        """The next `times` matching requests get HTTP `status` with an OpenAI-shaped error body."""
        with self._lock:
            self._faults.append(
                _Fault(endpoint, _matcher(when), status, retry_after, times, message or f"injected {status}")
            )

    def slow(
        self, delay: float, *, times: int = -1, when: str | Matcher | None = None, endpoint: str = "chat"
    ) -> None:
        """Matching requests are answered, but only after `delay` seconds."""
        with self._lock:
            self._slow.append(_Slow(endpoint, _matcher(when), delay, times))

    def hold(self) -> None:
        """Chat requests wait, unanswered, until `release()`: a client that returns meanwhile gave up on
        its own timeout rather than getting an answer (no clock needed to tell)."""
        with self._lock:
            self._gate = threading.Event()

    def release(self) -> None:
        with self._lock:
            gate, self._gate = self._gate, None
        if gate is not None:
            gate.set()

    @property
    def held(self) -> int:
        """Chat requests being held right now."""
        with self._lock:
            return self._held

    def clear(self) -> None:
        self.release()
        with self._lock:
            self._rules.clear()
            self._faults.clear()
            self._slow.clear()
            self._requests.clear()

    # -- reading back ------------------------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[Request]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def embedding_requests(self) -> list[Request]:
        return [r.body for r in self.requests if r.path.endswith("/embeddings")]

    # -- serving -----------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Request = json.loads(raw) if raw else {}
        except ValueError:
            self._send(handler, 400, _error("body is not JSON", "invalid_request_error"))
            return
        auth = handler.headers.get("Authorization")
        with self._lock:
            self._requests.append(Recorded(method, path, auth, body, time.time()))
        if self.api_key is not None and auth != f"Bearer {self.api_key}":
            self._send(
                handler, 401, _error("Incorrect API key provided", "invalid_request_error", "invalid_api_key")
            )
            return
        if method == "GET" and path == "/v1/models":
            self._send(handler, 200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
            return
        endpoint = {"/v1/chat/completions": "chat", "/v1/embeddings": "embeddings"}.get(path)
        if method != "POST" or endpoint is None:
            self._send(handler, 404, _error(f"no route {method} {path}", "invalid_request_error"))
            return
        with self._lock:
            gate = self._gate if endpoint == "chat" else None
            if gate is not None:
                self._held += 1
        if gate is not None:
            gate.wait(60)
            with self._lock:
                self._held -= 1
        fault, delay = self._take_fault_and_delay(endpoint, body)
        if delay:
            time.sleep(delay)
        if fault is not None:
            headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            kind = "rate_limit_exceeded" if fault.status == 429 else "server_error"
            self._send(handler, fault.status, _error(fault.message, kind, kind), headers)
            return
        if endpoint == "chat":
            self._chat(handler, body)
        else:
            self._embeddings(handler, body)

    def _take_fault_and_delay(self, endpoint: str, body: Request) -> tuple[_Fault | None, float]:
        with self._lock:
            fault = next(
                (f for f in self._faults if f.endpoint == endpoint and f.times != 0 and f.match(body)), None
            )
            if fault is not None and fault.times > 0:
                fault.times -= 1
            slow = next(
                (s for s in self._slow if s.endpoint == endpoint and s.times != 0 and s.match(body)), None
            )
            if slow is not None and slow.times > 0:
                slow.times -= 1
        return fault, slow.delay if slow else 0.0

    def _chat(self, handler: BaseHTTPRequestHandler, body: Request) -> None:
        messages = body.get("messages")
        if not body.get("model") or not isinstance(messages, list) or not messages:
            self._send(handler, 400, _error("model and messages are required", "invalid_request_error"))
            return
        with self._lock:
            rule = next((r for r in self._rules if r.times != 0 and r.match(body)), None)
            if rule is not None and rule.times > 0:
                rule.times -= 1
        content = rule.reply(body) if rule else self.default_reply
        self._send(
            handler,
            200,
            {
                "id": f"chatcmpl-{len(self._requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    def _embeddings(self, handler: BaseHTTPRequestHandler, body: Request) -> None:
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or any(not isinstance(t, str) or not t for t in inputs):
            self._send(handler, 400, _error("input must be non-empty strings", "invalid_request_error"))
            return
        dim = int(body.get("dimensions") or self.embedding_dim)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_embedding(t, dim)}
            for i, t in enumerate(inputs)
        ]
        self._send(
            handler,
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", ""),
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        raw = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests): nothing to answer


def _error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A started local OpenAI-compatible server that accepts the key `sk-test`."""
    with OpenAIServer(api_key="sk-test") as server:
        yield server
