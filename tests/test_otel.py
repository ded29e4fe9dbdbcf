"""OpenTelemetry export: spans of a governed task (the task, its tool calls with the gate's
decision, its model call with GenAI attributes) received by an in-process OTLP/HTTP
collector, all under the task's trace id; off by default without importing OpenTelemetry."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading

import pytest

from governed_agents.envelope import find_envelope
from governed_agents.executor import TaskContext
from governed_agents.ledger import Ledger
from governed_agents.observability import otel
from governed_agents.workflows import executor_for

from tests.fixtures import REPO


class _Collector(http.server.ThreadingHTTPServer):
    def __init__(self):
        self.requests: list[tuple[str, bytes, str]] = []
        self.got = threading.Event()

        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                collector.requests.append((self.path, body, self.headers.get("Content-Type", "")))
                collector.got.set()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)  # a free loopback port

    def spans(self) -> list:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        out = []
        for path, body, _ in self.requests:
            assert path == "/v1/traces"
            message = ExportTraceServiceRequest()
            message.ParseFromString(body)
            for resource_spans in message.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    out.extend(scope_spans.spans)
        return out


@pytest.fixture
def collector(monkeypatch):
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GOVERNED_AGENTS_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()
    server.server_close()


def _attrs(span) -> dict:
    def value(v):
        kind = v.WhichOneof("value")
        if kind == "array_value":
            return [value(x) for x in v.array_value.values]
        return getattr(v, kind)

    return {a.key: value(a.value) for a in span.attributes}


def test_spans_reach_an_otlp_collector_under_the_task_trace_id(collector):
    from governed_agents.routing import ModelGateway

    ledger = Ledger.open()
    envelope = find_envelope("invoice_reconcile")
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice", tenant="acme")
    executor = executor_for("invoice_reconcile", ledger)
    with otel.task_span(task):
        executor.call(task, "payments.send_wire", {"iban": "X", "amount": "1"})  # denied: unregistered
        executor.call(task, "erp.create_journal_entry", {"invoice_id": "INV-1", "vendor_id": "V001",
                                                          "currency": "EUR", "amount": "10.00"})
        answer = ModelGateway(ledger).complete(task, "router", [{"role": "user", "content": "PO number in: PO-4500123"}],
                                               purpose="otel_test")
    assert otel.flush()
    spans = collector.spans()
    by_name = {s.name: s for s in spans}
    assert f"task {task.workflow}" in by_name
    assert {"tool payments.send_wire", "tool erp.create_journal_entry"} <= set(by_name)
    chat = [s for s in spans if s.name.startswith("chat ")]
    assert len(chat) == 1
    # One trace: the governance trace id is the OpenTelemetry trace id of every span.
    assert {s.trace_id.hex() for s in spans} == {task.trace_id}
    root = by_name[f"task {task.workflow}"]
    assert all(s.parent_span_id == root.span_id for s in spans if s is not root)

    denied = by_name["tool payments.send_wire"]
    assert _attrs(denied)["governed_agents.decision"] == "deny"
    (event,) = denied.events
    assert event.name == "gate.decision" and _attrs(event)["governed_agents.reasons"] == ["unregistered_tool"]
    gated = _attrs(by_name["tool erp.create_journal_entry"])
    assert gated["governed_agents.decision"] == "needs_approval" and gated["governed_agents.outcome"] == "needs_approval"

    model = _attrs(chat[0])
    assert model["gen_ai.operation.name"] == "chat"
    assert model["gen_ai.request.model"] == model["gen_ai.response.model"] == answer.model
    assert model["gen_ai.system"] == answer.model.split("/", 1)[0]
    assert model["gen_ai.usage.input_tokens"] == answer.input_tokens > 0
    assert model["gen_ai.usage.output_tokens"] == answer.output_tokens
    assert model["governed_agents.tier"] == "router" and model["governed_agents.purpose"] == "otel_test"
    assert model["governed_agents.cost_usd"] == str(answer.cost_usd)


def test_export_is_off_by_default_and_imports_nothing(tmp_path):
    """Without an endpoint a governed call neither imports OpenTelemetry nor touches the network."""
    code = (
        "import sys\n"
        "from governed_agents.envelope import find_envelope\n"
        "from governed_agents.executor import TaskContext\n"
        "from governed_agents.ledger import Ledger\n"
        "from governed_agents.observability import otel\n"
        "from governed_agents.workflows import executor_for\n"
        "task = TaskContext(envelope=find_envelope('invoice_reconcile'), requested_by='alice')\n"
        "with otel.task_span(task) as span:\n"
        "    r = executor_for('invoice_reconcile', Ledger.open()).call(task, 'erp.lookup_vendor', {'tax_id': 'DE1'})\n"
        "assert span is None and not otel.enabled()\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("GOVERNED_AGENTS_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")}
    env["GOVERNED_AGENTS_HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_unreachable_collector_never_fails_the_task(monkeypatch):
    """A collector that is down costs the spans, not the governed call."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("GOVERNED_AGENTS_OTLP_ENDPOINT", raising=False)
    task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by="alice")
    result = executor_for("invoice_reconcile", Ledger.open()).call(task, "payments.send_wire", {})
    assert result.outcome == "denied"
    otel.flush(timeout_millis=2000)
