"""The model gateway driving litellm over real HTTP against the scripted model server.

No mock of litellm: every call goes litellm → the OpenAI protocol → a loopback
HTTP server whose replies each test scripts (tool calls, 429s, 500s, timeouts,
malformed bodies).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
import yaml

from governed_agents.envelope import load_envelope_text
from governed_agents.executor import TaskContext
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import spend_counters, spend_reservations, transcripts
from governed_agents.routing import ModelCallFailed, ModelGateway, ModelOutputInvalid, spend_report
from governed_agents.testing import ScriptedModelServer, error, malformed, slow, text, tool_call

from tests.fixtures import REPO

ROUTER, FALLBACK, REASONING = "router-m", "fallback-m", "reasoning-m"


def envelope(**budgets):
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["budgets"].update(budgets)
    return load_envelope_text(yaml.safe_dump(data), "test-envelope.yaml")


@pytest.fixture(scope="module")
def server():
    with ScriptedModelServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh_scripts(server):
    server.reset()


@pytest.fixture
def catalog(server):
    return server.catalog({
        "small-fast": {"name": ROUTER, "input_usd_per_1k": 0.001, "output_usd_per_1k": 0.002, "timeout_s": 0.4},
        "safe-medium": {"name": FALLBACK, "input_usd_per_1k": 0.002, "output_usd_per_1k": 0.004},
        "frontier": {"name": REASONING, "input_usd_per_1k": 0.01, "output_usd_per_1k": 0.03},
    })


@pytest.fixture(params=["sqlite"])
def ledger(request, sqlite_url):
    """SQLite; tests marked ``both_backends`` also run on PostgreSQL (the hot statements run on each driver)."""
    if request.param == "postgres":
        return Ledger.open(request.getfixturevalue("pg_url"))
    return Ledger.open(sqlite_url)


both_backends = pytest.mark.parametrize("ledger", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def gateway(ledger, catalog):
    return ModelGateway(ledger, catalog)


def _task(**kw):
    return TaskContext(envelope=kw.pop("envelope", None) or envelope(), requested_by="alice", tenant="acme", **kw)


def _rows(ledger):
    with ledger.engine.connect() as c:
        return [dict(r) for r in c.execute(sa.select(spend_reservations).order_by(spend_reservations.c.created_at))
                .mappings()]


def _counters_reserved(ledger):
    with ledger.engine.connect() as c:
        return sum(r[0] for r in c.execute(sa.select(spend_counters.c.reserved_usd_e8)))


MSG = [{"role": "system", "content": "You reconcile invoices."},
       {"role": "user", "content": "Check order 4500123 for invoice INV-7."}]
TOOLS = [{"type": "function", "function": {
    "name": "erp__match_po", "description": "Read a purchase order",
    "parameters": {"type": "object", "properties": {"po_number": {"type": "string"}}, "required": ["po_number"]}}}]


@both_backends
def test_tool_call_round_trip(server, gateway, ledger):
    server.script(ROUTER, tool_call("erp__match_po", {"po_number": "4500123"}, call_id="call_1"),
                  text("PO 4500123 matches the invoice.", usage={"prompt_tokens": 40, "completion_tokens": 9}))
    task = _task()
    first = gateway.complete(task, "router", MSG, TOOLS)
    assert first.finish_reason == "tool_calls" and first.tier == "router" and not first.offline_model
    (call,) = first.tool_calls
    assert (call.id, call.name, call.parsed) == ("call_1", "erp__match_po", {"po_number": "4500123"})
    conversation = [*MSG, first.message,
                    {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"found": True})}]
    second = gateway.complete(task, "router", conversation, TOOLS)
    assert second.content == "PO 4500123 matches the invoice." and second.tool_calls == ()

    sent = server.requests_for(ROUTER)
    assert len(sent) == 2
    assert sent[0].tools[0]["function"]["name"] == "erp__match_po"
    assert sent[1].messages[-1] == {"role": "tool", "tool_call_id": "call_1", "content": '{"found": true}'}
    assert sent[1].messages[-2]["tool_calls"][0]["id"] == "call_1"
    # settled at the catalog price of the reported usage; the task context follows
    assert second.cost_usd == (Decimal(40) * Decimal("0.001") + Decimal(9) * Decimal("0.002")) / 1000
    assert task.tokens_used == first.tokens + second.tokens
    assert Decimal(task.cost_usd) == first.cost_usd + second.cost_usd
    assert [r["status"] for r in _rows(ledger)] == ["settled", "settled"]
    assert _counters_reserved(ledger) == 0
    events = ledger.events(kind="model.call")
    assert len(events) == 2 and {e.trace_id for e in events} == {task.trace_id}
    assert events[1].payload["cost_usd"] == str(second.cost_usd)
    assert ledger.verify().ok


@both_backends
def test_malformed_body_is_a_clear_error_and_releases_everything(server, gateway, ledger):
    server.script(ROUTER, malformed())
    server.script(FALLBACK, malformed())
    task = _task()
    with pytest.raises(ModelCallFailed) as info:
        gateway.complete(task, "router", MSG)
    message = str(info.value)
    assert "malformed response (not valid JSON)" in message
    assert [(a.tier, a.outcome) for a in info.value.attempts] == [("router", "malformed_response"),
                                                                   ("fallback", "malformed_response")]
    assert len(server.requests_for(ROUTER)) == 1  # a malformed body is not retried on the same model
    assert {r["status"] for r in _rows(ledger)} == {"released"}
    assert _counters_reserved(ledger) == 0 and task.cost_usd == "0" and task.tokens_used == 0
    assert [e.kind for e in ledger.events()] == ["model.failed"]


def test_malformed_body_then_the_fallback_answers(server, gateway, ledger):
    server.script(ROUTER, malformed())
    server.script(FALLBACK, text("fine"))
    result = gateway.complete(_task(), "router", MSG)
    assert result.content == "fine" and result.tier == "fallback" and result.fallback_used
    assert [a.outcome for a in result.attempts] == ["malformed_response", "ok"]
    assert [r["status"] for r in _rows(ledger)] == ["released", "settled"]


def test_malformed_tool_arguments_are_data_not_a_crash(server, gateway):
    server.script(ROUTER, tool_call("erp__match_po", '{"po_number": "45001'), text("not json at all"))
    task = _task()
    result = gateway.complete(task, "router", MSG, TOOLS)
    (call,) = result.tool_calls
    assert call.parsed is None and "not valid JSON" in call.error
    answer = gateway.complete(task, "router", [*MSG, {"role": "user", "content": "again"}])
    with pytest.raises(ModelOutputInvalid, match="not valid JSON"):
        answer.json()


def test_429_then_success_is_retried_on_the_same_model(server, gateway, ledger):
    server.script(ROUTER, error(429, retry_after=0), text("ok after a retry"))
    result = gateway.complete(_task(), "router", MSG)
    assert result.content == "ok after a retry" and result.tier == "router" and not result.fallback_used
    assert [(a.outcome, a.status) for a in result.attempts] == [("rate_limited", 429), ("ok", 200)]
    assert len(server.requests_for(ROUTER)) == 2 and server.requests_for(FALLBACK) == []
    assert [r["status"] for r in _rows(ledger)] == ["settled"]


@both_backends
def test_500s_fall_back_to_the_fallback_tier(server, gateway, ledger):
    server.script(ROUTER, error(500), error(502), error(503))  # max_retries=2: three attempts
    server.script(FALLBACK, text("answered by the fallback tier"))
    task = _task()
    result = gateway.complete(task, "router", MSG)
    assert result.content == "answered by the fallback tier"
    assert (result.requested_tier, result.tier, result.alias, result.fallback_used) == \
        ("router", "fallback", "safe-medium", True)
    assert [a.outcome for a in result.attempts] == ["server_error"] * 3 + ["ok"]
    assert len(server.requests_for(ROUTER)) == 3 and len(server.requests_for(FALLBACK)) == 1
    rows = _rows(ledger)
    assert [(r["tier"], r["status"]) for r in rows] == [("router", "released"), ("fallback", "settled")]
    assert rows[0]["actual_usd"] == 0 and Decimal(task.cost_usd) == rows[1]["actual_usd"] == result.cost_usd


def test_timeout_falls_back_without_retrying(server, gateway, ledger):
    server.script(ROUTER, slow(1.5, text("too late")))
    server.script(FALLBACK, text("in time"))
    result = gateway.complete(_task(), "router", MSG)
    assert result.content == "in time" and result.tier == "fallback"
    assert [a.outcome for a in result.attempts] == ["timeout", "ok"]
    assert result.attempts[0].latency_ms < 1400
    assert len(server.requests_for(ROUTER)) == 1
    assert _counters_reserved(ledger) == 0


def test_a_slow_answer_within_the_timeout_is_just_slow(server, gateway):
    server.script(ROUTER, slow(0.2, text("took a while")))
    result = gateway.complete(_task(), "router", MSG)
    assert (result.content, result.tier, result.fallback_used) == ("took a while", "router", False)
    assert result.attempts[0].latency_ms >= 200 and server.requests_for(FALLBACK) == []


def test_every_tier_failing_releases_every_reservation(server, gateway, ledger):
    server.script(ROUTER, error(500), error(500), error(500))
    server.script(FALLBACK, error(503), error(503), error(503))
    task = _task()
    with pytest.raises(ModelCallFailed) as info:
        gateway.complete(task, "router", MSG)
    assert len(info.value.attempts) == 6
    assert "nothing was charged" in info.value.hint
    assert {r["status"] for r in _rows(ledger)} == {"released"}
    assert _counters_reserved(ledger) == 0
    report = spend_report(ledger)
    assert report["totals"]["cost_usd"] == "0" and report["totals"]["failed_calls"] == 2


def test_a_bad_request_is_neither_retried_nor_sent_to_the_fallback(server, gateway):
    server.script(ROUTER, error(400, "context too long"))
    with pytest.raises(ModelCallFailed, match="context too long"):
        gateway.complete(_task(), "router", MSG)
    assert len(server.requests_for(ROUTER)) == 1 and server.requests_for(FALLBACK) == []


@both_backends
def test_identical_deterministic_calls_are_cached_and_counted(server, gateway, ledger):
    server.script(ROUTER, text("first answer"), text("second answer"))
    task = _task()
    first = gateway.complete(task, "router", MSG)
    again = gateway.complete(task, "router", MSG)
    assert (again.content, again.cached, again.cost_usd, again.cost_source) == ("first answer", True, 0, "cache")
    assert len(server.requests_for(ROUTER)) == 1
    warm = gateway.complete(task, "router", MSG, temperature=0.7)  # not deterministic: not cached
    assert warm.content == "second answer" and not warm.cached
    totals = spend_report(ledger)["totals"]
    assert (totals["calls"], totals["cache_hits"], totals["model_calls"]) == (3, 1, 2)
    assert Decimal(totals["cost_usd"]) == first.cost_usd + warm.cost_usd
    assert [e.payload["cached"] for e in ledger.events(kind="model.call")] == [False, True, False]


def test_the_cache_is_not_shared_across_tenants(server, gateway):
    server.script(ROUTER, text("for acme"), text("for globex"))
    gateway.complete(_task(), "router", MSG)
    other = TaskContext(envelope=envelope(), requested_by="zed", tenant="globex")
    assert gateway.complete(other, "router", MSG).content == "for globex"


@both_backends
def test_transcript_is_redacted_and_the_audit_event_carries_the_trace(server, gateway, ledger):
    server.script(ROUTER, text("I will write to jane.doe@acme.example about DE89 3704 0044 0532 0130 00."))
    task = _task(trace_id="trace-routing-1", run_id="run-9")
    secret = [{"role": "user", "content": "Mail jane.doe@acme.example, IBAN DE89370400440532013000, "
                                          "card 4111 1111 1111 1111, phone +49 30 1234567, order 4500123"}]
    result = gateway.complete(task, "router", secret)
    with ledger.engine.connect() as c:
        row = c.execute(sa.select(transcripts)).mappings().one()
    assert row["id"] == result.transcript_id == result.call_id and row["redacted"]
    stored = row["request"] + row["response"]
    for leaked in ("jane.doe@acme.example", "DE89", "4111", "1234567"):
        assert leaked not in stored
    assert "[EMAIL_1]" in stored and "[IBAN_1]" in stored and "[CARD_1]" in stored and "[PHONE_1]" in stored
    assert "4500123" in stored  # business references are not personal data
    (event,) = ledger.events(kind="model.call")
    assert (event.trace_id, event.run_id, event.workflow) == ("trace-routing-1", "run-9", "invoice_reconcile")
    assert "jane" not in json.dumps(event.payload) and event.payload["request_digest"].startswith("sha256:")


def test_no_transcript_when_the_envelope_keeps_none(server, ledger, catalog):
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["logging"]["store_transcripts_days"] = 0
    env = load_envelope_text(yaml.safe_dump(data), "no-transcripts.yaml")
    result = ModelGateway(ledger, catalog).complete(_task(envelope=env), "router", MSG)
    assert result.transcript_id is None
    with ledger.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(transcripts)).scalar() == 0


def test_the_default_catalog_is_the_offline_stand_in_and_says_so(ledger):
    gateway = ModelGateway(ledger, REPO / "policies" / "models.yaml")
    task = _task()
    result = gateway.complete(task, "router", [
        {"role": "system", "content": "Extract the purchase order reference. Answer in JSON."},
        {"role": "user", "content": "as per our order 4500123 of March"}])
    assert result.offline_model and result.model == "offline/small-fast"
    assert result.json()["po_reference"] == "4500123"
    reminder = gateway.complete(task, "reasoning", [{"role": "user", "content": "Draft a reminder: invoice INV-9 "
                                                     "for EUR 120.00 is overdue since 2026-02-01"}])
    assert reminder.content.startswith("[offline stand-in]") and "INV-9" in reminder.content
    report = spend_report(ledger)
    assert report["offline_model_used"] and "offline stand-in" in report["offline_note"]
    assert {m["label"] for m in report["by_model"]} == {"offline stand-in"}


def test_unknown_tier_and_missing_messages_are_usage_errors(gateway):
    from governed_agents.errors import UsageError

    with pytest.raises(UsageError, match="unknown model tier"):
        gateway.complete(_task(), "biggest", MSG)
    with pytest.raises(UsageError):
        gateway.complete(_task(), "router", [])


def test_a_provider_key_comes_from_the_environment_named_in_the_catalog(ledger, monkeypatch):
    from governed_agents.routing import CatalogError, load_catalog_text

    catalog = load_catalog_text(
        "models:\n  small-fast:\n    model: openai/gpt-4o-mini\n    api_key_env: ACME_OPENAI_KEY\n"
        "    input_usd_per_1k: 0.00015\n    output_usd_per_1k: 0.0006\n", "models.yaml")
    monkeypatch.delenv("ACME_OPENAI_KEY", raising=False)
    gateway = ModelGateway(ledger, catalog)
    with pytest.raises(CatalogError, match=r"ACME_OPENAI_KEY"):
        gateway.complete(_task(), "router", MSG)
    assert {r["status"] for r in _rows(ledger)} == {"released"}  # the reservation did not leak
