"""Budgets, the downgrade ladder and refusals, through the gateway against the scripted server.

Prices are chosen so that every call's cost is exact: input tokens are free,
output costs 0.1 / 0.2 / 0.3 USD per 1k tokens on the router / fallback /
reasoning tier, and every scripted answer reports 100 output tokens (clipped to
the request's max_tokens, as a provider does). A router call therefore costs
$0.01, and its reservation is exactly that.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
import yaml

from governed_agents.approvals import decide, get_request
from governed_agents.envelope import load_envelope_text
from governed_agents.executor import TaskContext
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests, spend_counters, spend_reservations
from governed_agents.routing import (
    CONFIRM_ACTION,
    BudgetExhausted,
    ConfirmationRefused,
    ConfirmationRequired,
    ModelGateway,
    expire_stale_reservations,
    set_spend_cap,
    spend_report,
)
from governed_agents.routing.ladder import reduce_context, steps_for
from governed_agents.testing import ScriptedModelServer, forever, text

from tests.fixtures import REPO, ledger_snapshot

ROUTER, FALLBACK, REASONING = "b-router", "b-fallback", "b-reasoning"
WF = "invoice_reconcile"


def envelope(**budgets):
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["budgets"]["hard_cost_cap_usd"] = 10
    data["budgets"].update(budgets)
    return load_envelope_text(yaml.safe_dump(data), "budget-test.yaml")


@pytest.fixture(scope="module")
def server():
    with ScriptedModelServer() as s:
        yield s


@pytest.fixture(autouse=True)
def _scripts(server):
    server.reset()
    server.script("*", forever(text("ok", usage={"prompt_tokens": 10, "completion_tokens": 100})))


@pytest.fixture(params=["sqlite"])
def ledger(request, sqlite_url):
    """SQLite; tests marked ``both_backends`` also run on PostgreSQL (the hot statements run on each driver)."""
    if request.param == "postgres":
        return Ledger.open(request.getfixturevalue("pg_url"))
    return Ledger.open(sqlite_url)


both_backends = pytest.mark.parametrize("ledger", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def gateway(ledger, server):
    catalog = server.catalog({
        "small-fast": {"name": ROUTER, "input_usd_per_1k": 0, "output_usd_per_1k": 0.1},
        "safe-medium": {"name": FALLBACK, "input_usd_per_1k": 0, "output_usd_per_1k": 0.2},
        "frontier": {"name": REASONING, "input_usd_per_1k": 0, "output_usd_per_1k": 0.3},
    }, max_output_tokens=100)
    return ModelGateway(ledger, catalog, cache=False)


def _task(env, user="alice", tenant="acme"):
    return TaskContext(envelope=env, requested_by=user, tenant=tenant)


def _ask(gateway, task, tier="router", n=0, messages=None):
    return gateway.complete(task, tier, messages or [{"role": "user", "content": f"question {n}"}])


def _prefill(gateway, env, calls, user="alice", tenant="acme"):
    """Spend ``calls`` × $0.01 in another task of the same workflow.

    Made under an envelope without caps (same workflow): the ladder must not
    change what the prefill costs.
    """
    task = _task(envelope(), user, tenant)
    for n in range(calls):
        _ask(gateway, task, n=1000 + n)
    return task


def _committed(ledger, scope_key_prefix):
    with ledger.engine.connect() as c:
        rows = c.execute(sa.select(spend_counters).where(spend_counters.c.scope_key.like(scope_key_prefix + "%")))
        return [(r.reserved_usd_e8, r.settled_usd_e8) for r in rows]


# -- the ladder, rung by rung --------------------------------------------------------------------


def test_below_the_first_threshold_nothing_changes(gateway, server):
    env = envelope(workflow_daily_usd=0.10)
    _prefill(gateway, env, 5)  # 50 %
    result = _ask(gateway, _task(env), "reasoning")
    assert (result.tier, result.model, result.downgrades) == ("reasoning", f"openai/{REASONING}", ())
    assert result.cost_usd == Decimal("0.03")


@both_backends
def test_rung_1_smaller_model(gateway, server, ledger):
    env = envelope(workflow_daily_usd=0.10)
    _prefill(gateway, env, 6)  # 60 % of the workflow's daily cap
    messages = [{"role": "user", "content": f"m{i}"} for i in range(10)]
    result = gateway.complete(_task(env), "reasoning", messages)
    assert (result.requested_tier, result.tier, result.alias) == ("reasoning", "fallback", "safe-medium")
    assert [d.step for d in result.downgrades] == ["smaller_model"]
    step = result.downgrades[0]
    assert (step.budget, step.name, step.threshold) == ("workflow_daily", WF, 0.6)
    assert "frontier → fallback tier safe-medium" in step.detail
    sent = server.requests_for(FALLBACK)[-1]
    assert len(sent.messages) == 10 and sent.body["max_tokens"] == 100  # context untouched at this rung
    assert server.requests_for(REASONING) == []
    (event,) = ledger.events(kind="model.downgrade")
    assert event.payload["downgrades"][0]["step"] == "smaller_model" and event.payload["call_id"] == result.call_id
    with ledger.engine.connect() as c:
        assert c.execute(sa.select(spend_reservations.c.downgrade)
                         .where(spend_reservations.c.id == result.call_id)).scalar() == "smaller_model"


def test_rung_2_reduced_context(gateway, server):
    env = envelope(workflow_daily_usd=0.10)
    _prefill(gateway, env, 8)  # 80 %
    messages = [{"role": "system", "content": "policy " * 10}, {"role": "user", "content": "the task"}]
    messages += [{"role": "assistant" if i % 2 else "user", "content": f"turn {i} " + "x" * 3000} for i in range(8)]
    result = gateway.complete(_task(env), "reasoning", messages)
    assert [d.step for d in result.downgrades] == ["smaller_model", "reduced_context"]
    assert result.tier == "fallback"
    sent = server.requests_for(FALLBACK)[-1]
    assert [m["content"][:8] for m in sent.messages] == ["policy p", "the task", "turn 4 x", "turn 5 x",
                                                          "turn 6 x", "turn 7 x"]
    assert all(len(m["content"]) < 2100 for m in sent.messages)
    assert sent.body["max_tokens"] == 50  # the output allowance is halved too
    assert result.cost_usd == Decimal("0.01")  # 50 tokens at $0.2 / 1k


@both_backends
def test_rung_3_requires_confirmation_then_proceeds_once_approved(gateway, server, ledger):
    env = envelope(workflow_daily_usd=0.20)
    _prefill(gateway, env, 19)  # 95 %
    task = _task(env)
    calls_before = len(server.requests)
    with pytest.raises(ConfirmationRequired) as info:
        _ask(gateway, task)
    request_id = info.value.approval_request_id
    assert "workflow daily budget of workflow invoice_reconcile" in str(info.value) and "95%" in str(info.value)
    assert len(server.requests) == calls_before  # no model call
    request = get_request(ledger, request_id)
    assert (request.action, request.status, request.requested_by) == (CONFIRM_ACTION, "pending", "alice")
    assert request.required_roles == ("FinanceAdmin",)
    assert [e.kind for e in ledger.events()][-2:] == ["approval.requested", "model.downgrade"]
    with ledger.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(spend_reservations)
                         .where(spend_reservations.c.task_id == task.task_id)).scalar() == 0

    with pytest.raises(ConfirmationRequired) as again:  # still pending: the same request, no second one
        _ask(gateway, task)
    assert again.value.approval_request_id == request_id
    with ledger.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(approval_requests)).scalar() == 1

    token = issue_token("bob", actions=["approval.approve"], workflows=[WF])
    decide(ledger, request_id, token=token, decision="approve", reason="month-end close")
    result = _ask(gateway, task)
    assert result.confirmation_id == request_id
    assert [d.step for d in result.downgrades] == ["smaller_model", "reduced_context", "require_confirmation"]
    assert result.tier == "router" and result.cost_usd == Decimal("0.005")


def test_a_rejected_confirmation_stops_the_task(gateway, ledger):
    env = envelope(workflow_daily_usd=0.20)
    _prefill(gateway, env, 19)
    task = _task(env)
    with pytest.raises(ConfirmationRequired) as info:
        _ask(gateway, task)
    token = issue_token("bob", actions=["approval.reject"], workflows=[WF])
    decide(ledger, info.value.approval_request_id, token=token, decision="reject", reason="not this month")
    with pytest.raises(ConfirmationRefused, match="rejected"):
        _ask(gateway, task)


@both_backends
def test_stop_at_the_cap_names_the_budget_and_writes_nothing(gateway, server, ledger):
    env = envelope(workflow_daily_usd=0.10)
    _prefill(gateway, env, 10)  # 100 %
    before = ledger_snapshot(ledger)
    calls_before = len(server.requests)
    with pytest.raises(BudgetExhausted) as info:
        _ask(gateway, _task(env))
    error = info.value
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    assert str(error).startswith(
        f"model call refused: the workflow daily budget of workflow invoice_reconcile ({today} UTC) is exhausted: "
        "cap $0.10, spent $0.10 (settled $0.10, reserved $0.00); this call needs up to $0.005")
    assert (error.budget, error.scope, error.name, error.cap, error.spent) == \
        ("workflow_daily", "workflow", WF, Decimal("0.1"), Decimal("0.1"))
    assert "budgets.workflow_daily_usd" in error.hint and "resets at" in error.hint
    # the refusal: no model call, no reservation, no counter moved; one audit event says why
    assert len(server.requests) == calls_before
    assert ledger_snapshot(ledger)["tables"] == before["tables"]
    new = ledger.events(after_seq=before["head"])
    assert [e.kind for e in new] == ["model.refused"]
    assert new[0].payload["budget"] == "workflow_daily" and new[0].payload["downgrades"][-1]["step"] == "stop"


@pytest.mark.parametrize(
    ("budgets", "second", "budget", "words"),
    [
        ({"hard_cost_cap_usd": 0.015}, "same_task", "task_cost", "task cost cap of task"),
        ({"max_tokens_per_task": 200}, "same_task", "task_tokens", "task token budget of task"),
        ({"workflow_monthly_usd": 0.015}, "other_user", "workflow_monthly", "workflow monthly budget of workflow"),
        ({"user_daily_usd": 0.015}, "same_user", "user_daily", "user daily budget of user alice"),
        ({"tenant_monthly_usd": 0.015}, "other_user", "tenant_monthly", "tenant monthly budget of tenant acme"),
    ],
)
def test_every_budget_is_named_when_hit(gateway, ledger, server, budgets, second, budget, words):
    env = envelope(downgrade_at_fraction=[], **budgets)
    first = _task(env)
    _ask(gateway, first, n=1)
    nxt = {"same_task": first, "same_user": _task(env), "other_user": _task(env, user="zed")}[second]
    before = ledger_snapshot(ledger)
    with pytest.raises(BudgetExhausted) as info:
        _ask(gateway, nxt, n=2)
    assert info.value.budget == budget
    assert words in str(info.value)
    if budget == "task_tokens":
        assert "cap 200 tokens, used 110" in str(info.value)
    else:
        assert "cap $0.015, spent $0.01" in str(info.value)
    assert ledger_snapshot(ledger)["tables"] == before["tables"]
    assert len(server.requests) == 1


def test_an_admin_cap_below_the_envelope_wins(gateway, ledger):
    env = envelope(workflow_daily_usd=5, downgrade_at_fraction=[])
    set_spend_cap(ledger, scope="workflow", name=WF, period="day", usd="0.015", set_by="erin", reason="pilot")
    _ask(gateway, _task(env), n=1)
    with pytest.raises(BudgetExhausted) as info:
        _ask(gateway, _task(env), n=2)
    assert "cap $0.015" in str(info.value) and "admin cap set by erin" in info.value.hint
    assert [e.kind for e in ledger.events(kind="spend.cap_set")] == ["spend.cap_set"]


@both_backends
def test_an_admin_cap_for_every_user(gateway, ledger):
    env = envelope(downgrade_at_fraction=[])
    set_spend_cap(ledger, scope="user", name="*", period="month", usd="0.01", set_by="erin")
    _ask(gateway, _task(env, user="zed"), n=1)
    with pytest.raises(BudgetExhausted) as info:
        _ask(gateway, _task(env, user="zed"), n=2)
    assert info.value.budget == "user_monthly" and "user monthly budget of user zed" in str(info.value)
    _ask(gateway, _task(env, user="yan"), n=3)  # another user has their own month


def test_the_context_reports_spend_the_ledger_does_not_know(gateway):
    env = envelope(hard_cost_cap_usd=0.05, downgrade_at_fraction=[])
    task = _task(env)
    task.cost_usd = "0.045"  # spent elsewhere in this task
    with pytest.raises(BudgetExhausted, match="task cost cap"):
        _ask(gateway, task)


def test_reservations_are_atomic_across_threads(gateway, ledger):
    env = envelope(workflow_daily_usd=0.035, downgrade_at_fraction=[])
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker(n):
        task = _task(env, user=f"u{n}")
        start.wait()
        try:
            _ask(gateway, task, n=n)
            result = "ok"
        except BudgetExhausted as exc:
            result = exc.budget
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["ok"] * 3 + ["workflow_daily"] * 5
    with ledger.engine.connect() as c:
        spent = c.execute(sa.select(sa.func.sum(spend_reservations.c.actual_usd))
                          .where(spend_reservations.c.status == "settled")).scalar()
    assert Decimal(str(spent)) == Decimal("0.03")


@both_backends
def test_a_crashed_call_is_expired_at_its_estimate(gateway, ledger):
    env = envelope()
    task = _task(env)
    # Reserve as the gateway does, then "crash" before calling or settling.
    plan = gateway._reserve(task, "router", gateway.resolve(env, "router"), [{"role": "user", "content": "x"}],
                            None, _options(), None, gateway.clock(), fallback=False)
    assert spend_report(ledger)["totals"]["open_reservations"] == 1
    expired = expire_stale_reservations(ledger, older_than=dt.timedelta(0),
                                        now=gateway.clock() + dt.timedelta(seconds=1))
    assert expired == [plan.reservation_id]
    with ledger.engine.connect() as c:
        row = c.execute(sa.select(spend_reservations)).mappings().one()
    assert row["status"] == "expired" and row["actual_usd"] == row["estimated_usd"] == Decimal("0.01")
    assert set(_committed(ledger, "workflow:day:")) == {(0, 1_000_000)}
    assert Decimal(spend_report(ledger)["totals"]["cost_usd"]) == Decimal("0.01")
    assert [e.kind for e in ledger.events()][-1] == "model.reservation_expired"


def _options():
    from governed_agents.routing.gateway import _Options

    return _Options(0.0, None, None, None, None)


# -- pure parts ---------------------------------------------------------------------------------


def test_ladder_steps_by_threshold():
    from governed_agents.routing.budget import Budget, Scope
    from governed_agents.routing.ladder import Pressure

    budget = Budget("workflow_daily", Scope("workflow", WF, "day", "2026-03-01"), Decimal(1), "usd", "x")

    def steps(fraction, thresholds=(0.6, 0.8, 0.95)):
        return [s for s, _ in steps_for(Pressure(budget, 0, fraction, 0), thresholds)]

    assert steps(0.59) == []
    assert steps(0.6) == ["smaller_model"]
    assert steps(0.8) == ["smaller_model", "reduced_context"]
    assert steps(0.99) == ["smaller_model", "reduced_context", "require_confirmation"]
    assert steps(0.99, (0.5,)) == ["smaller_model"]
    assert steps(0.99, ()) == []


def test_reduced_context_never_orphans_a_tool_result():
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": "a1"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "r1"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c2"}]},
        {"role": "tool", "tool_call_id": "c2", "content": "r2"},
        {"role": "user", "content": "and now?"},
    ]
    kept = reduce_context(messages, keep_last=4)
    assert [m.get("content") for m in kept] == ["s", "task", None, "r1", None, "r2", "and now?"]
    assert reduce_context(messages, keep_last=3)[2]["role"] == "assistant"  # moved back from the tool result
