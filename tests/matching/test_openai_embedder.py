"""OpenAIEmbedder through the official client against a small OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import numpy as np
import pytest

from bot.matching.embedders import OpenAIEmbedder, make_embedder

DIM = 8


def fake_vector(text: str) -> list[float]:
    rng = np.random.default_rng(abs(hash(text)) % (2**32))
    return [float(x) for x in rng.normal(size=DIM) * 3]


class Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    fail_next = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/embeddings":
            self._send(404, {"error": {"message": "not found"}})
            return
        Handler.requests.append({"auth": self.headers.get("Authorization"), **body})
        if Handler.fail_next:
            Handler.fail_next -= 1
            self._send(503, {"error": {"message": "overloaded", "type": "server_error"}})
            return
        inputs = body["input"]
        if any(not t for t in inputs):
            self._send(400, {"error": {"message": "empty input"}})
            return
        # Out of order on purpose: the client must sort by index.
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(t)} for i, t in enumerate(inputs)
        ]
        self._send(
            200,
            {
                "object": "list",
                "data": data[::-1],
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def base_url() -> Iterator[str]:
    Handler.requests = []
    Handler.fail_next = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_embeds_in_batches_in_order(base_url: str) -> None:
    embedder = OpenAIEmbedder("my-embed", api_key="sk-test", base_url=base_url, batch_size=2, timeout=5)
    texts = ["alpha", "beta", "", "gamma"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (4, DIM) and vectors.dtype == np.float32
    assert [r["input"] for r in Handler.requests] == [["alpha", "beta"], ["gamma"]]
    assert all(r["model"] == "my-embed" and r["auth"] == "Bearer sk-test" for r in Handler.requests)
    assert not vectors[2].any()  # empty text is not sent, comes back as a zero row
    expected = np.asarray(fake_vector("gamma"), dtype=np.float32)
    assert np.allclose(vectors[3], expected / np.linalg.norm(expected), atol=1e-6)
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 3]], axis=1), 1.0, atol=1e-5)
    assert embedder.dim == DIM and embedder.name == "openai/my-embed"


def test_retries_a_transient_failure(base_url: str) -> None:
    Handler.fail_next = 1
    embedder = OpenAIEmbedder("my-embed", api_key="k", base_url=base_url, max_retries=2, timeout=5)
    assert embedder.embed(["alpha"]).shape == (1, DIM)
    assert len(Handler.requests) == 2


def test_unknown_dimension_is_probed(base_url: str) -> None:
    embedder = OpenAIEmbedder("custom-model", api_key="k", base_url=base_url)
    assert embedder.dim == DIM
    assert embedder.embed([""]).shape == (1, DIM)


def test_factory_caches_openai_vectors(base_url: str) -> None:
    embedder = make_embedder(
        "openai", openai_api_key="k", openai_base_url=base_url, openai_embedding_model="m"
    )
    embedder.embed(["alpha", "beta"])
    embedder.embed(["beta", "alpha"])
    assert len(Handler.requests) == 1
