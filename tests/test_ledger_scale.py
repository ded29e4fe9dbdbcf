"""The ledger at scale: 8 processes running governed tasks against one PostgreSQL.

Each process runs governed tasks the way a posting run and a model-using step
do, all at once after a barrier:

- a model call through the gateway (real HTTP to the scripted model server) that
  reserves from a workflow cap shared by every process (and a tenant cap above
  it), settling what it spent;
- the posting of approved journal entries (each process its own share), and
  then, after a second barrier, every process retrying *every* posted request
  in its own order, so that each idempotency key is contended by 8 processes
  at once and each must find it done;
- and with both, audit events appended to the one hash chain.

Afterwards: the chain verifies from the database (no fork), the settled spend
is within the cap (no overshoot), and every idempotency key has exactly one
entry in the ERP (no duplicate write).
"""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa
import yaml

from governed_agents.envelope import load_envelope_text
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import idempotency_keys, spend_counters, spend_reservations
from governed_agents.testing import ScriptedModelServer, forever, text
from tests.fixtures import REPO

PROCESSES = 8
TASKS_PER_PROCESS = 4
REQUESTS = 12
CALL_USD = Decimal("0.01")  # 100 output tokens at $0.1 / 1k
CAP_USD = Decimal("0.205")  # room for 20 calls of the 32 attempted, not 21

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _envelope_text() -> str:
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["budgets"]["workflow_daily_usd"] = float(CAP_USD)
    data["budgets"]["downgrade_at_fraction"] = []  # the cap alone: the point is where it stops
    return yaml.safe_dump(data)


def _post(wf, request_id, executor, envelope, run_id) -> str:
    from governed_agents.errors import GovernanceError

    try:
        return wf.post(request_id, executor, envelope, run_id=run_id).outcome
    except GovernanceError as exc:  # a refusal (fail closed) is an outcome to count, not a crash
        return "refused: " + str(exc).splitlines()[0]


def _worker(n, ledger_url, catalog, envelope_text, request_ids, barrier, results):
    # A spawned child (a fresh interpreter: nothing of the parent's state, whose
    # after-fork hooks can hang a forked child, e.g. kombu's after a Celery test).
    try:
        from governed_agents.erp.connector import erp_engine
        from governed_agents.executor import TaskContext
        from governed_agents.routing import BudgetExhausted, ModelGateway
        from governed_agents.workflows import executor_for
        from governed_agents.workflows import invoice_reconcile as wf

        erp_engine().dispose(close=False)
        ledger = Ledger.open(ledger_url)
        envelope = load_envelope_text(envelope_text, "scale.yaml")
        executor = executor_for("invoice_reconcile", ledger)
        gateway = ModelGateway(ledger, catalog, cache=False)
        order = list(request_ids)
        random.Random(n).shuffle(order)
        mine = [r for i, r in enumerate(request_ids) if i % PROCESSES == n]
        barrier.wait(timeout=120)
        outcomes = []
        for t in range(TASKS_PER_PROCESS):
            task = TaskContext(envelope=envelope, requested_by=f"user{n}", tenant="acme",
                               task_id=f"task-{n}-{t}")
            try:
                gateway.complete(task, "router", [{"role": "user", "content": f"process {n} task {t}"}])
                outcomes.append(("model", "ok"))
            except BudgetExhausted as exc:
                outcomes.append(("model", exc.budget))
            for request_id in mine[t::TASKS_PER_PROCESS]:  # this process's own writes
                outcomes.append(("post", _post(wf, request_id, executor, envelope, f"run-{n}-{t}")))
        # Then every process retries every write at once (a re-run after the fact):
        # each key is contended by 8 processes, and each must find it done.
        barrier.wait(timeout=300)
        for request_id in order:
            outcomes.append(("post", _post(wf, request_id, executor, envelope, f"run-{n}-retry")))
        results.put((n, outcomes))
    except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
        import traceback

        results.put((n, ["crash", repr(exc), traceback.format_exc()]))


def test_eight_processes_no_fork_no_overshoot_no_duplicate_write(pg_database, monkeypatch, tmp_path):
    from governed_agents.approvals import decide_batch
    from governed_agents.envelope import find_envelope
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.erp.schema import journal_entries
    from governed_agents.executor import TaskContext
    from governed_agents.identity.tokens import issue_token
    from governed_agents.workflows import executor_for

    ledger_url, erp_url = pg_database(), pg_database()
    monkeypatch.setenv("GOVERNED_AGENTS_ERP_URL", erp_url)
    generate(tmp_path / "data", invoices=REQUESTS + 5, seed=11)
    load_csv_dir(tmp_path / "data", erp_engine())
    ledger = Ledger.open(ledger_url)

    # Twelve approved journal entries, each waiting to be posted.
    with erp_engine().connect() as c:
        vendors = c.execute(sa.text("SELECT vendor_id, currency FROM vendors ORDER BY vendor_id")).all()
    invoices = [(f"INV-SCALE-{i:03d}", *vendors[i % len(vendors)]) for i in range(REQUESTS)]
    executor = executor_for("invoice_reconcile", ledger)
    task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by="alice")
    ids = []
    for i, (invoice_id, vendor_id, currency) in enumerate(invoices):
        entry = {"invoice_id": invoice_id, "vendor_id": vendor_id, "currency": currency, "amount": f"{10 + i}.00"}
        ids.append(executor.call(task, "erp.create_journal_entry", entry).approval_request.id)
    bob = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    decide_batch(ledger, ids, token=bob, decision="approve", reason="scale test",
                 rebuild_preview=executor.rebuild_preview)
    events_before = ledger.head()[0]

    erp_engine().dispose()
    ledger.dispose()
    with ScriptedModelServer() as server:
        server.script("scale-router", forever(text("done", delay_s=0.02,
                                                   usage={"prompt_tokens": 10, "completion_tokens": 100})))
        catalog = server.catalog({alias: {"name": "scale-router", "input_usd_per_1k": 0, "output_usd_per_1k": 0.1}
                                  for alias in ("small-fast", "safe-medium", "frontier")}, max_output_tokens=100)
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(PROCESSES)
        results = context.Queue()
        children = [context.Process(target=_worker, args=(n, ledger_url, catalog, _envelope_text(), ids,
                                                          barrier, results)) for n in range(PROCESSES)]
        for child in children:
            child.start()
        reports = dict(results.get(timeout=600) for _ in children)
        for child in children:
            child.join(timeout=60)
        served = len(server.requests_for("scale-router"))

    crashed = {n: r for n, r in reports.items() if r and r[0] == "crash"}
    assert not crashed, crashed
    outcomes = Counter(o for r in reports.values() for o in r)
    attempts = PROCESSES * TASKS_PER_PROCESS

    # No overshoot: exactly as many calls as the cap has room for, the rest refused.
    assert outcomes[("model", "ok")] == served == 20
    assert outcomes[("model", "workflow_daily")] == attempts - 20
    ledger = Ledger.open(ledger_url)
    with ledger.engine.connect() as c:
        spent = c.execute(sa.select(sa.func.sum(spend_reservations.c.actual_usd))
                          .where(spend_reservations.c.status == "settled")).scalar()
        open_reservations = c.execute(sa.select(sa.func.count()).select_from(spend_reservations)
                                      .where(spend_reservations.c.status != "settled")).scalar()
        day = c.execute(sa.select(spend_counters).where(spend_counters.c.scope == "workflow",
                                                        spend_counters.c.period == "day")).mappings().one()
        keys = c.execute(sa.select(idempotency_keys.c.key, idempotency_keys.c.status)).all()
    assert spent == CALL_USD * 20 <= CAP_USD and open_reservations == 0
    assert (day["settled_usd_e8"], day["reserved_usd_e8"]) == (20_000_000, 0)

    # No duplicate write: each key executed once, every retry (8 at once per key) saw it done.
    assert outcomes[("post", "executed")] == REQUESTS
    assert outcomes[("post", "duplicate")] == PROCESSES * REQUESTS
    assert sum(v for (kind, _), v in outcomes.items() if kind == "post") == REQUESTS + PROCESSES * REQUESTS
    assert len(keys) == REQUESTS and {s for _, s in keys} == {"done"}
    with erp_engine(erp_url).connect() as c:
        per_invoice = Counter(r[0] for r in c.execute(sa.select(journal_entries.c.invoice_id)))
    assert sorted(per_invoice) == sorted(i[0] for i in invoices)
    assert set(per_invoice.values()) == {1}

    # No fork: one contiguous chain that verifies, with every process's events in it.
    result = ledger.verify()
    assert result.ok, result
    events = ledger.events()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert len(events) > events_before + attempts
    runs = Counter(e.run_id for e in events[events_before:] if e.run_id)
    assert len({r.split("-")[1] for r in runs}) == PROCESSES  # all 8 processes appended
    # The processes really interleaved on the chain (otherwise this proves nothing).
    owners = [e.run_id.split("-")[1] for e in events[events_before:] if e.run_id]
    assert sum(1 for a, b in zip(owners, owners[1:]) if a != b) >= PROCESSES


def _post_all_at_once(n, ledger_url, envelope_text, request_ids, barrier, results):
    try:
        from governed_agents.erp.connector import erp_engine
        from governed_agents.workflows import executor_for
        from governed_agents.workflows import invoice_reconcile as wf

        erp_engine().dispose(close=False)
        ledger = Ledger.open(ledger_url)
        envelope = load_envelope_text(envelope_text, "scale.yaml")
        executor = executor_for("invoice_reconcile", ledger)
        order = list(request_ids)
        random.Random(n).shuffle(order)
        barrier.wait(timeout=120)
        results.put((n, [_post(wf, r, executor, envelope, f"run-{n}") for r in order]))
    except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
        results.put((n, ["crash", repr(exc)]))


def test_eight_processes_posting_the_same_approvals_at_once_write_each_once(pg_database, monkeypatch, tmp_path):
    """No process has finished any write when the others start the same ones: each key is
    executed by exactly one, and every other attempt waits for it and finds it done."""
    from governed_agents.approvals import decide_batch
    from governed_agents.envelope import find_envelope
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.erp.schema import journal_entries
    from governed_agents.executor import TaskContext
    from governed_agents.identity.tokens import issue_token
    from governed_agents.workflows import executor_for

    ledger_url, erp_url = pg_database(), pg_database()
    monkeypatch.setenv("GOVERNED_AGENTS_ERP_URL", erp_url)
    generate(tmp_path / "data", invoices=10, seed=12)
    load_csv_dir(tmp_path / "data", erp_engine())
    ledger = Ledger.open(ledger_url)
    with erp_engine().connect() as c:
        vendors = c.execute(sa.text("SELECT vendor_id, currency FROM vendors ORDER BY vendor_id")).all()
    executor = executor_for("invoice_reconcile", ledger)
    task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by="alice")
    ids = []
    for i in range(REQUESTS):
        vendor_id, currency = vendors[i % len(vendors)]
        entry = {"invoice_id": f"INV-SAME-{i:03d}", "vendor_id": vendor_id, "currency": currency,
                 "amount": f"{20 + i}.00"}
        ids.append(executor.call(task, "erp.create_journal_entry", entry).approval_request.id)
    decide_batch(ledger, ids, token=issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"]),
                 decision="approve", reason="scale test", rebuild_preview=executor.rebuild_preview)
    erp_engine().dispose()
    ledger.dispose()

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    children = [context.Process(target=_post_all_at_once, args=(n, ledger_url, _envelope_text(), ids, barrier,
                                                                results)) for n in range(PROCESSES)]
    for child in children:
        child.start()
    reports = dict(results.get(timeout=600) for _ in children)
    for child in children:
        child.join(timeout=60)

    assert not {n: r for n, r in reports.items() if r and r[0] == "crash"}, reports
    outcomes = Counter(o for r in reports.values() for o in r)
    # Each key executed by exactly one process. An attempt that re-checks the approval while
    # another process is between its ERP write and marking the key done sees a changed
    # preview and is refused (fail closed, with a receipt): never a second write.
    assert outcomes["executed"] == REQUESTS, outcomes
    assert set(outcomes) <= {"executed", "duplicate", "denied"}, outcomes
    assert outcomes["duplicate"] + outcomes["denied"] == (PROCESSES - 1) * REQUESTS
    with erp_engine(erp_url).connect() as c:
        per_invoice = Counter(r[0] for r in c.execute(sa.select(journal_entries.c.invoice_id)))
    assert len(per_invoice) == REQUESTS and set(per_invoice.values()) == {1}
    ledger = Ledger.open(ledger_url)
    with ledger.engine.connect() as c:
        keys = c.execute(sa.select(idempotency_keys.c.status)).scalars().all()
    assert keys == ["done"] * REQUESTS
    assert ledger.verify().ok
