"""expense_receipt_chase: reminders inside bounds go out; past a bound they need approval."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from governed_agents import bounds
from governed_agents.approvals import decide
from governed_agents.envelope import find_envelope
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.expenses import add_employee, add_transaction, missing_receipts, seed_expenses
from governed_agents.erp.schema import outbox
from governed_agents.executor import TaskContext
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests, bounded_writes, receipts
from governed_agents.timeutil import utcnow
from governed_agents.undo import UndoRefused, undo
from governed_agents.workflows import executor_for
from governed_agents.workflows.expense_receipt_chase import SEND_TOOL, WORKFLOW, chase, send_approved


def _outbox(employee_id=None) -> int:
    query = select(func.count()).select_from(outbox)
    if employee_id:
        query = query.where(outbox.c.employee_id == employee_id)
    with erp_engine().connect() as c:
        return c.execute(query).scalar_one()


def _count(ledger, table) -> int:
    with ledger.engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def people():
    engine = erp_engine()
    add_employee(engine, "M-1", "Mia Manager")
    for eid in ("E-1", "E-2", "E-3"):
        add_employee(engine, eid, f"Employee {eid}", manager_id="M-1")
    return engine


def test_seeded_demo_data_has_missing_receipts():
    counts = seed_expenses(erp_engine(), transactions=40, seed=3)
    assert counts["transactions"] == 40 and 0 < counts["missing"] < 40
    assert len(missing_receipts(erp_engine(), older_than_days=0)) == counts["missing"]
    assert seed_expenses(erp_engine(), transactions=40, seed=3)["transactions"] == 0  # idempotent


def test_bounds_respected_and_nothing_is_silently_dropped(db_url, people):
    ledger = Ledger.open(db_url)
    small = [add_transaction(people, "E-1", "40.00") for _ in range(4)]
    large = add_transaction(people, "E-2", "900.00")
    add_transaction(people, "E-3", "15.00", with_receipt=True)
    executor, envelope = executor_for(WORKFLOW, ledger), find_envelope(WORKFLOW)

    summary = chase(executor, envelope, requested_by="alice")
    assert summary.missing == 5
    # E-1: two reminders per day go out on their own; the third and fourth need approval.
    sent = [t for t in small if summary.outcomes[t] == "sent"]
    asked = [t for t in small if summary.outcomes[t] == "needs_approval"]
    assert len(sent) == 2 and len(asked) == 2
    assert all("within_bounds" in summary.reasons[t] for t in sent)
    assert all("bound_exceeded" in summary.reasons[t] for t in asked)
    # E-2: above the amount threshold: approval, no reminder yet.
    assert summary.outcomes[large] == "needs_approval" and "bound_amount" in summary.reasons[large]
    assert _outbox("E-1") == 2 and _outbox("E-2") == 0 and _outbox() == 2
    assert len(summary.approval_requests) == 3 and _count(ledger, approval_requests) == 3
    # Every autonomous reminder has its receipt, without approvals in it.
    assert len(summary.receipts) == 2
    with ledger.engine.connect() as c:
        kinds = [r[0] for r in c.execute(select(receipts.c.kind))]
    assert kinds == ["write_executed", "write_executed"]

    # Running again the same day sends nothing twice and asks nothing twice.
    again = chase(executor, envelope, requested_by="alice")
    assert {again.outcomes[t] for t in sent} == {"already_sent"}
    assert {again.outcomes[t] for t in asked + [large]} == {"awaiting_approval"}
    assert _outbox() == 2 and _count(ledger, approval_requests) == 3

    # A person approves one of the reminders past the bound: it goes out and counts.
    with ledger.engine.connect() as c:
        request_id = next(r.id for r in c.execute(select(approval_requests.c.id, approval_requests.c.arguments))
                          if asked[0] in r.arguments)
    token = issue_token("bob", actions=["approval.approve"], workflows=[WORKFLOW])
    decide(ledger, request_id, token=token, decision="approve", reason="ok, remind",
           rebuild_preview=executor.rebuild_preview)
    result = send_approved(request_id, executor, envelope)
    assert result.outcome == "executed" and result.receipt.receipt.approvals[0].approver == "bob"
    assert _outbox("E-1") == 3
    with ledger.engine.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(select(bounded_writes).where(
            bounded_writes.c.scope_key.like("%employee_id=E-1")))]
    assert len(rows) == 3 and sum(r["approved"] for r in rows) == 1
    assert ledger.verify().ok


def test_a_reminder_cannot_be_undone_and_nothing_is_written(sqlite_url, people):
    ledger = Ledger.open(sqlite_url)
    add_transaction(people, "E-1", "12.00")
    executor, envelope = executor_for(WORKFLOW, ledger), find_envelope(WORKFLOW)
    summary = chase(executor, envelope, requested_by="alice")
    before = (_outbox(), _count(ledger, approval_requests), _count(ledger, receipts), ledger.head()[0])
    with pytest.raises(UndoRefused) as refused:
        undo(ledger, summary.receipts[0], requested_by="alice", executor=executor)
    assert refused.value.code == "not_reversible" and "outbox.send_reminder" in refused.value.message
    after = (_outbox(), _count(ledger, approval_requests), _count(ledger, receipts), ledger.head()[0])
    assert after == (*before[:3], before[3] + 1)  # one audit event: undo.refused
    assert ledger.events(kind="undo.refused")[-1].payload["code"] == "not_reversible"


def test_per_run_bound(sqlite_url, people, tmp_path, monkeypatch):
    from governed_agents.config import policy_dir

    source = policy_dir()
    text = (source / f"{WORKFLOW}.yaml").read_text().replace('{max: 25, window: "run"}', '{max: 1, window: "run"}')
    assert '{max: 1, window: "run"}' in text
    policies = tmp_path / "policies"
    policies.mkdir()
    for f in source.glob("*.yaml"):
        (policies / f.name).write_text(f.read_text())
    (policies / f"{WORKFLOW}.yaml").write_text(text)
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(policies))
    ledger = Ledger.open(sqlite_url)
    for eid in ("E-1", "E-2", "E-3"):
        add_transaction(people, eid, "20.00")
    executor, envelope = executor_for(WORKFLOW, ledger), find_envelope(WORKFLOW)
    summary = chase(executor, envelope, requested_by="alice")
    assert summary.by_outcome == {"needs_approval": 2, "sent": 1}
    assert _outbox() == 1


def test_two_runs_at_once_cannot_exceed_the_daily_bound(pg_url, people, monkeypatch):
    """Both runs read the count (1 of 2) before either writes; the lock in the executor lets
    exactly one more reminder through and turns the other into an approval request."""
    ledger = Ledger.open(pg_url)
    envelope = find_envelope(WORKFLOW)
    first = add_transaction(people, "E-1", "30.00")
    today = utcnow().date().isoformat()
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.expenses", run_id="run-0")
    assert executor_for(WORKFLOW, ledger).call(task, SEND_TOOL, {
        "employee_id": "E-1", "txn_id": first, "amount": "30.00", "currency": "EUR",
        "reminder_date": today}).outcome == "executed"  # one of two slots taken before the race
    txns = [add_transaction(people, "E-1", "30.00") for _ in range(4)]
    barrier = threading.Barrier(2, timeout=30)
    real_snapshot = bounds.snapshot

    def stale_snapshot(*args, **kwargs):
        snap = real_snapshot(*args, **kwargs)
        barrier.wait()  # both threads hold a snapshot taken before either reserved
        return snap

    monkeypatch.setattr(bounds, "snapshot", stale_snapshot)
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def run(mine: list[str]) -> None:
        try:
            executor = executor_for(WORKFLOW, ledger)
            run_id = f"run-{mine[0]}"
            for txn_id in mine:
                task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.expenses", run_id=run_id)
                result = executor.call(task, SEND_TOOL, {"employee_id": "E-1", "txn_id": txn_id, "amount": "30.00",
                                                         "currency": "EUR",
                                                         "reminder_date": today})
                results[txn_id] = result.outcome
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(txns[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    # Both passed the gate with one slot left; the lock let one through, the other became a request.
    assert sorted(results.values()) == ["executed"] + ["needs_approval"] * 3
    assert _outbox("E-1") == 2
    assert len(ledger.events(kind="tool.bound_reached")) == 1
    assert _count(ledger, approval_requests) == 3
    with ledger.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(bounded_writes)).scalar_one() == 2 * 2  # day + run rows
    assert ledger.verify().ok


# -- refusals by the write's record check: nothing written -----------------------------------


@pytest.mark.parametrize("change, code, says", [
    ({"amount": "40.00"}, "record_mismatch", "amount: stated 40.00, card transaction"),  # dodging approval_above
    ({"currency": "USD"}, "record_mismatch", "currency: stated USD"),
    ({"employee_id": "E-1"}, "record_mismatch", "is E-2's, not E-1's"),
    ({"txn_id": "TX-NOPE"}, "record_not_found", "card transaction TX-NOPE does not exist"),
])
def test_a_reminder_that_misstates_the_transaction_is_refused_and_writes_nothing(db_url, people, change, code,
                                                                                  says):
    from governed_agents.ledger.schema import audit_events

    ledger = Ledger.open(db_url)
    txn = add_transaction(people, "E-2", "812.40")
    executor, envelope = executor_for(WORKFLOW, ledger), find_envelope(WORKFLOW)
    arguments = {"employee_id": "E-2", "txn_id": txn, "amount": "812.40", "currency": "EUR",
                 "reminder_date": utcnow().date().isoformat(), **change}
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.expenses", run_id="r1")
    result = executor.call(task, SEND_TOOL, arguments)
    assert result.outcome == "denied" and code in result.decision.codes
    assert set(result.decision.codes) == {code} and any(says in r.message for r in result.decision.reasons)
    # Nothing sent, nothing counted against a bound, nothing asked of a person; the ledger holds the
    # gate's decision and the refusal receipt only.
    assert _outbox() == 0 and _count(ledger, bounded_writes) == 0 and _count(ledger, approval_requests) == 0
    assert _count(ledger, receipts) == 1 and result.receipt.receipt.kind == "write_refused"
    assert [e.kind for e in ledger.events(trace_id=task.trace_id)] == \
        ["tool.decision", "tool.refused", "receipt.issued"]
    assert _count(ledger, audit_events) == 3
    assert ledger.events(kind="tool.decision")[0].payload["decision"]["outcome"] == "deny"


def test_the_stated_amount_cannot_dodge_the_approval_threshold_but_the_true_one_asks(sqlite_url, people):
    ledger = Ledger.open(sqlite_url)
    txn = add_transaction(people, "E-2", "812.40")
    executor, envelope = executor_for(WORKFLOW, ledger), find_envelope(WORKFLOW)
    base = {"employee_id": "E-2", "txn_id": txn, "currency": "EUR", "reminder_date": utcnow().date().isoformat()}
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.expenses", run_id="r1")
    assert executor.call(task, SEND_TOOL, {**base, "amount": "40.00"}).decision.codes == ("record_mismatch",)
    honest = executor.call(task, SEND_TOOL, {**base, "amount": "812.40"})
    assert honest.outcome == "needs_approval" and "bound_amount" in honest.decision.codes
    assert _outbox() == 0 and _count(ledger, approval_requests) == 1
