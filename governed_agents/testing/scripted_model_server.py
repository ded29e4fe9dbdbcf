"""A scripted OpenAI-compatible chat-completions server on loopback.

It makes model behaviour a test input: each model name has a queue of scripted
replies (a text answer, tool calls, an HTTP error, a malformed body, a slow or
never-arriving answer, a model that calls tools forever), served in order over
real HTTP, so litellm and the gateway are exercised exactly as against a
provider. When a model's queue is empty the offline stand-in answers
(``governed_agents.routing.offline``), so the server is also a complete
offline OpenAI-compatible endpoint.

Point litellm at it with an ``openai/<name>`` model and ``api_base`` =
``server.api_base`` (any API key; it is not checked)::

    with ScriptedModelServer() as server:
        server.script("router-model", error(429), text("done"))
        litellm.completion(model="openai/router-model", api_base=server.api_base,
                           api_key="scripted", messages=[...])
        assert len(server.requests_for("router-model")) == 2

In a thread (above), or as a process: ``python -m
governed_agents.testing.scripted_model_server --port 8765`` prints its base URL
and takes scripts over HTTP (``POST /_script {"model": ..., "replies": [...]}``,
``POST /_reset``, ``GET /_requests``). Only loopback addresses are served.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

ANY_MODEL = "*"


@dataclass
class Reply:
    """One scripted response. Build them with ``text``, ``tool_call``, ``error`` … below."""

    content: str | None = None
    tool_calls: list[dict] | None = None  # [{"name": ..., "arguments": dict | str, "id": optional}]
    status: int = 200
    delay_s: float = 0.0
    body: str | None = None  # sent verbatim instead of a completion (e.g. malformed JSON)
    usage: dict | None = None  # {"prompt_tokens": n, "completion_tokens": m}; estimated when absent
    finish_reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    repeat: bool = False  # stays at the head of the queue: served for every later call
    drop: bool = False  # close the connection without answering (a proxy or provider dropping it)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Reply":
        return cls(**data)


def text(content: str, **kwargs: Any) -> Reply:
    """An answer with ``content``."""
    return Reply(content=content, **kwargs)


def tool_call(name: str, arguments: dict | str, *, call_id: str | None = None, **kwargs: Any) -> Reply:
    """One tool call; ``arguments`` as a dict, or a string (which may be malformed JSON on purpose)."""
    call = {"name": name, "arguments": arguments}
    if call_id:
        call["id"] = call_id
    return Reply(tool_calls=[call], **kwargs)


def tool_calls(*calls: tuple[str, dict | str], **kwargs: Any) -> Reply:
    """Several tool calls in one response: ``tool_calls(("a", {...}), ("b", {...}))``."""
    return Reply(tool_calls=[{"name": n, "arguments": a} for n, a in calls], **kwargs)


def error(status: int, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any) -> Reply:
    """An HTTP error with an OpenAI-style error body (``retry_after`` sets Retry-After)."""
    headers = dict(kwargs.pop("headers", {}))
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    kind = {429: "rate_limit_exceeded", 400: "invalid_request_error", 401: "invalid_api_key"}.get(status, "server_error")
    body = json.dumps({"error": {"message": message or f"scripted {status}", "type": kind, "code": kind}})
    return Reply(status=status, body=body, headers=headers, **kwargs)


def malformed(body: str = '{"id": "chatcmpl-broken", "choices": [{"message": {"content": "half', **kwargs: Any) -> Reply:
    """A 200 whose body is not valid JSON."""
    return Reply(body=body, **kwargs)


def slow(delay_s: float, reply: Reply | None = None) -> Reply:
    """``reply`` (default: the offline answer) after ``delay_s`` seconds; longer than the client's timeout = a timeout."""
    reply = reply or Reply()
    reply.delay_s = delay_s
    return reply


def dropped(**kwargs: Any) -> Reply:
    """The connection is closed after the request is read, with no response at all."""
    return Reply(drop=True, **kwargs)


def forever(reply: Reply) -> Reply:
    """Serve ``reply`` for every call from now on (e.g. a model that never stops calling tools)."""
    reply.repeat = True
    return reply


def _estimate(value: Any) -> int:
    raw = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return math.ceil(len(raw) / 4) if raw else 0


@dataclass(frozen=True)
class ReceivedRequest:
    """What the server was sent."""

    model: str
    body: dict
    at: float
    status: int

    @property
    def messages(self) -> list[dict]:
        return list(self.body.get("messages") or [])

    @property
    def tools(self) -> list[dict] | None:
        return self.body.get("tools")


class ScriptedModelServer:
    """An OpenAI-compatible server with scripted replies per model. Start/stop, or use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 default: Callable[[str, dict], Reply | dict | None] | None = None):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the scripted model server only listens on loopback")
        self.host = host
        self.port = port
        self._default = default
        self._queues: dict[str, deque[Reply]] = defaultdict(deque)
        self._requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "ScriptedModelServer":
        if self._httpd is not None:
            return self
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-model-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "ScriptedModelServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """The base URL litellm and OpenAI clients want (``…/v1``)."""
        return self.url + "/v1"

    # -- scripting -------------------------------------------------------------------------

    def script(self, model: str, *replies: Reply) -> "ScriptedModelServer":
        """Queue ``replies`` for ``model`` (the name after ``openai/``; ``"*"`` = any model)."""
        with self._lock:
            self._queues[model].extend(replies)
        return self

    def reset(self) -> None:
        """Forget every script and every received request."""
        with self._lock:
            self._queues.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, model: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.model == model]

    def pending(self, model: str) -> int:
        """Scripted replies not served yet for ``model``."""
        with self._lock:
            return len(self._queues.get(model, ()))

    def catalog_entry(self, model: str, *, input_usd_per_1k: float = 0.001, output_usd_per_1k: float = 0.002,
                      **extra: Any) -> dict:
        """A model-catalog entry that routes to this server as ``openai/<model>``."""
        return {"model": f"openai/{model}", "api_base": self.api_base, "api_key_env": None,
                "params": {"api_key": "scripted"}, "input_usd_per_1k": input_usd_per_1k,
                "output_usd_per_1k": output_usd_per_1k, **extra}

    def catalog_document(self, models: dict[str, str | dict], *, timeout_s: float = 5.0, max_retries: int = 2,
                         retry_backoff_s: float = 0.01, max_output_tokens: int = 256, cache: bool = True) -> dict:
        """The model-catalog document (``models.yaml``'s content) whose aliases route here.

        ``models`` maps alias → server model name, or → a dict of catalog fields
        (``{"name": "m1", "input_usd_per_1k": 0.01, …}``; ``{"model": "offline/x"}``
        keeps an alias on the offline stand-in). Write it to a file and point
        ``$GOVERNED_AGENTS_MODEL_CATALOG`` at it to route a whole pipeline here.
        """
        entries = {}
        for alias, spec in models.items():
            spec = {"name": spec} if isinstance(spec, str) else dict(spec)
            if "model" in spec:
                entry = {"input_usd_per_1k": 0.001, "output_usd_per_1k": 0.002, **spec}
            else:
                entry = self.catalog_entry(spec.pop("name"), **spec)
                entry.pop("api_key_env", None)
            entries[alias] = entry
        return {
            "version": 1,
            "defaults": {"timeout_s": timeout_s, "max_retries": max_retries, "retry_backoff_s": retry_backoff_s,
                         "max_output_tokens": max_output_tokens},
            "cache": {"enabled": cache},
            "models": entries,
        }

    def catalog(self, models: dict[str, str | dict], **options: Any) -> Any:
        """A ``LoadedCatalog`` whose aliases route here (``catalog_document``'s options)."""
        import yaml

        from governed_agents.routing.catalog import load_catalog_text

        document = self.catalog_document(models, **options)
        return load_catalog_text(yaml.safe_dump(document, sort_keys=False), f"<scripted catalog {self.api_base}>")

    # -- serving ---------------------------------------------------------------------------

    def _next(self, model: str) -> Reply | None:
        with self._lock:
            for key in (model, ANY_MODEL):
                queue = self._queues.get(key)
                if queue:
                    return queue[0] if queue[0].repeat else queue.popleft()
        return None

    def _record(self, model: str, body: dict, status: int) -> None:
        with self._lock:
            self._requests.append(ReceivedRequest(model=model, body=body, at=time.time(), status=status))

    def _answer(self, model: str, body: dict) -> tuple[Reply, dict | None]:
        reply = self._next(model)
        if reply is None and self._default is not None:
            produced = self._default(model, body)
            if isinstance(produced, Reply):
                reply = produced
            elif isinstance(produced, dict):
                return Reply(), produced
        if reply is None:
            return Reply(), _offline_completion(model, body)
        if reply.body is not None or reply.status != 200:
            return reply, None
        if reply.content is None and reply.tool_calls is None:
            completion = _offline_completion(model, body)
            return reply, completion
        return reply, _completion(model, body, reply)


def _offline_completion(model: str, body: dict) -> dict:
    from governed_agents.routing.offline import respond

    result = respond(model, list(body.get("messages") or []), body.get("tools"),
                     tool_choice=body.get("tool_choice"), response_format=body.get("response_format"))
    return {
        "id": result["id"],
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "system_fingerprint": result["system_fingerprint"],
        "choices": [{"index": 0, "message": result["message"], "finish_reason": result["finish_reason"]}],
        "usage": result["usage"],
    }


def _completion(model: str, body: dict, reply: Reply) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": call["arguments"] if isinstance(call["arguments"], str)
                    else json.dumps(call["arguments"], sort_keys=True),
                },
            }
            for call in reply.tool_calls
        ]
    usage = dict(reply.usage or {})
    usage.setdefault("prompt_tokens", _estimate(body.get("messages")) + (_estimate(body["tools"]) if body.get("tools") else 0))
    usage.setdefault("completion_tokens", _estimate(message))
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(limit, int) and limit > 0:
        usage["completion_tokens"] = min(usage["completion_tokens"], limit)  # as a provider would
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")}],
        "usage": usage,
    }


def _make_handler(server: ScriptedModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as providers do
        disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)
        server_version = "ScriptedModelServer/1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            return

        def _send(self, status: int, payload: str | bytes, headers: dict[str, str] | None = None) -> None:
            data = payload.encode("utf-8") if isinstance(payload, str) else payload
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout): nothing to tell it

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw or b"{}")
            except ValueError:
                return {}

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, json.dumps({"object": "list", "data": []}))
            elif self.path == "/_requests":
                self._send(200, json.dumps([{"model": r.model, "body": r.body, "at": r.at, "status": r.status}
                                            for r in server.requests]))
            else:
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self._body()
            if self.path == "/_script":
                server.script(body["model"], *(Reply.from_json(r) for r in body.get("replies", [])))
                self._send(200, "{}")
                return
            if self.path == "/_reset":
                server.reset()
                self._send(200, "{}")
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}))
                return
            model = str(body.get("model", ""))
            reply, completion = server._answer(model, body)
            server._record(model, body, reply.status)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.drop:
                import socket

                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if completion is not None:
                self._send(200, json.dumps(completion), reply.headers)
            else:
                self._send(reply.status, reply.body if reply.body is not None else "{}", reply.headers)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m governed_agents.testing.scripted_model_server",
        description="Serve a scripted OpenAI-compatible chat-completions API on loopback "
                    "(unscripted calls are answered by the offline stand-in).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (printed on start)")
    args = parser.parse_args(argv)
    server = ScriptedModelServer(args.host, args.port).start()
    print(f"scripted model server listening on {server.api_base}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = [
    "ANY_MODEL",
    "ReceivedRequest",
    "Reply",
    "ScriptedModelServer",
    "error",
    "forever",
    "malformed",
    "slow",
    "text",
    "tool_call",
    "tool_calls",
]
