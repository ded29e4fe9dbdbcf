"""The transcript retention purge, on SQLite and PostgreSQL.

Transcripts are written by the real model gateway over real HTTP (the scripted
model server) at chosen times; the purge then runs against the workflow's
retention. After it: the chain verifies, receipts verify, surviving transcripts
still match their anchors, and a purge that fails midway changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
import yaml

from governed_agents.cli.main import main
from governed_agents.envelope import load_envelope_text
from governed_agents.executor import TaskContext
from governed_agents.identity.keys import public_key
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import audit_events, transcripts
from governed_agents.receipts.signing import verify_signed
from governed_agents.routing import ModelGateway
from governed_agents.testing import ScriptedModelServer, text
from governed_agents.transcripts import purge, transcript_digest, verify_transcripts
from governed_agents.workflows.invoice_reconcile import run_receipt

from tests.fixtures import REPO

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def envelope(workflow: str = "invoice_reconcile", **logging):
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["workflow"] = workflow
    data["logging"].update(logging)
    return load_envelope_text(yaml.safe_dump(data), f"{workflow}.yaml")


@pytest.fixture(scope="module")
def server():
    with ScriptedModelServer() as s:
        yield s


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


@pytest.fixture
def catalog(server):
    return server.catalog({"small-fast": "r", "safe-medium": "f", "frontier": "q"})


def write_transcripts(ledger, server, catalog, env, *, days_ago: float, n: int = 1, tag: str = "") -> list[str]:
    at = NOW - dt.timedelta(days=days_ago)
    gateway = ModelGateway(ledger, catalog, clock=lambda: at)
    ids = []
    for i in range(n):
        server.script("r", text(f"answer {tag} {days_ago} {i}"))
        task = TaskContext(envelope=env, requested_by="alice", tenant="acme")
        result = gateway.complete(task, "router", [{"role": "user", "content": f"q {tag} {days_ago} {i}"}])
        ids.append(result.transcript_id)
    return ids


def counts(ledger) -> tuple[int, int]:
    with ledger.engine.connect() as c:
        return (c.execute(sa.select(sa.func.count()).select_from(transcripts)).scalar_one(),
                c.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


def stored_ids(ledger) -> set[str]:
    with ledger.engine.connect() as c:
        return {r[0] for r in c.execute(sa.select(transcripts.c.id))}


def test_the_chain_anchors_the_transcript_digest_not_its_content(ledger, server, catalog):
    server.script("r", text("Reply to jane.doe@acme.example please"))
    task = TaskContext(envelope=envelope(), requested_by="alice", tenant="acme")
    result = ModelGateway(ledger, catalog).complete(task, "router", [{"role": "user", "content": "Mail x@y.io"}])
    (event,) = ledger.events(kind="model.call")
    with ledger.engine.connect() as c:
        row = c.execute(sa.select(transcripts)).mappings().one()
    assert event.payload["transcript_id"] == result.transcript_id == row["id"]
    assert event.payload["transcript_digest"] == transcript_digest(row)
    chain_text = json.dumps(event.payload)
    assert "[EMAIL_1]" in row["response"] and "acme.example" not in chain_text and "x@y.io" not in chain_text
    assert verify_transcripts(ledger) == {"checked": 1, "ok": True, "problems": []}
    # An edited transcript no longer matches its anchor.
    with ledger.engine.begin() as c:
        c.execute(transcripts.update().values(response=row["response"].replace("please", "now")))
    report = verify_transcripts(ledger)
    assert not report["ok"] and report["problems"][0]["transcript_id"] == row["id"]


def test_purge_deletes_past_retention_keeps_fresh_and_everything_still_verifies(ledger, server, catalog):
    env = envelope()  # store_transcripts_days: 30, as policies/invoice_reconcile.yaml
    old = write_transcripts(ledger, server, catalog, env, days_ago=45, n=2, tag="old")
    fresh = write_transcripts(ledger, server, catalog, env, days_ago=2, n=1, tag="fresh")
    receipt = run_receipt(ledger, env, run_id="run-1", trace_id="t" * 32, requested_by="alice",
                          summary={"invoices": 0}, checks=[])
    before_transcripts, before_events = counts(ledger)

    result = purge(ledger, now=NOW)

    (w,) = result.workflows
    assert (w.workflow, w.retention_days, w.source, w.deleted, w.kept) == ("invoice_reconcile", 30, "envelope", 2, 1)
    assert w.cutoff == NOW - dt.timedelta(days=30)
    assert stored_ids(ledger) == set(fresh) and not set(old) & stored_ids(ledger)
    assert counts(ledger) == (before_transcripts - 2, before_events + 1)
    (event,) = ledger.events(kind="transcripts.purged")
    assert event.seq == w.audit_seq and event.workflow == "invoice_reconcile"
    assert (event.payload["count"], event.payload["retention_days"]) == (2, 30)
    assert event.payload["cutoff"].startswith((NOW - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S"))
    assert ledger.verify().ok
    assert verify_transcripts(ledger)["ok"]
    verify_signed(receipt, public_key())  # raises when the receipt no longer verifies
    # The purged calls are still in the chain, by digest.
    anchored = {e.payload["transcript_id"] for e in ledger.events(kind="model.call")}
    assert set(old) | set(fresh) <= anchored
    # A second purge finds nothing and writes nothing.
    assert purge(ledger, now=NOW).deleted == 0
    assert counts(ledger) == (before_transcripts - 2, before_events + 1)


def test_dry_run_counts_and_changes_nothing(ledger, server, catalog):
    write_transcripts(ledger, server, catalog, envelope(), days_ago=40, n=2, tag="dry")
    before = counts(ledger)
    result = purge(ledger, now=NOW, dry_run=True)
    assert result.dry_run and result.deleted == 2 and result.workflows[0].kept == 0
    assert counts(ledger) == before


def test_zero_days_means_never_stored_and_purges_what_is_there(ledger, server, catalog):
    kept_before = write_transcripts(ledger, server, catalog, envelope(), days_ago=0.01, n=1, tag="z")
    server.script("r", text("not kept"))
    task = TaskContext(envelope=envelope(store_transcripts_days=0), requested_by="alice", tenant="acme")
    result = ModelGateway(ledger, catalog).complete(task, "router", [{"role": "user", "content": "zero"}])
    assert result.transcript_id is None
    assert stored_ids(ledger) == set(kept_before)
    done = purge(ledger, now=NOW, retention={"invoice_reconcile": 0})
    assert done.deleted == 1 and stored_ids(ledger) == set()
    assert ledger.verify().ok


def test_a_workflow_without_an_envelope_keeps_each_transcripts_recorded_expiry(ledger, server, catalog):
    env = envelope("no_such_workflow", store_transcripts_days=10)
    expired = write_transcripts(ledger, server, catalog, env, days_ago=11, tag="x")
    alive = write_transcripts(ledger, server, catalog, env, days_ago=9, tag="y")
    (w,) = purge(ledger, now=NOW).workflows
    assert (w.source, w.retention_days, w.deleted, w.kept) == ("recorded expiry", None, 1, 1)
    assert "envelope not loaded" in w.note
    assert stored_ids(ledger) == set(alive) and not set(expired) & stored_ids(ledger)


def test_a_purge_that_fails_midway_leaves_no_half_state(ledger, server, catalog):
    write_transcripts(ledger, server, catalog, envelope("alpha_flow"), days_ago=50, n=2, tag="a")
    write_transcripts(ledger, server, catalog, envelope("beta_flow"), days_ago=50, n=2, tag="b")
    before_ids, before = stored_ids(ledger), counts(ledger)

    def crash(workflow: str) -> None:
        if workflow == "beta_flow":  # alpha_flow's rows are already deleted and its event written
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        purge(ledger, now=NOW, retention={"alpha_flow": 30, "beta_flow": 30}, _before_event=crash)
    assert stored_ids(ledger) == before_ids and counts(ledger) == before
    assert ledger.events(kind="transcripts.purged") == []
    assert ledger.verify().ok
    # Run again without the fault: both purged, one event each.
    done = purge(ledger, now=NOW, retention={"alpha_flow": 30, "beta_flow": 30})
    assert [(w.workflow, w.deleted) for w in done.workflows] == [("alpha_flow", 2), ("beta_flow", 2)]
    assert len(ledger.events(kind="transcripts.purged")) == 2 and ledger.verify().ok


def test_cli_purge_dry_run_then_purge(db_url, monkeypatch, capsys, server, catalog):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", db_url)
    ledger = Ledger.open(db_url)
    write_transcripts(ledger, server, catalog, envelope(), days_ago=31, n=1, tag="cli")
    write_transcripts(ledger, server, catalog, envelope(), days_ago=1, n=1, tag="cli")

    assert main(["transcripts", "purge", "--dry-run", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["dry_run"] and shown["deleted"] == 1 and shown["workflows"][0]["kept"] == 1
    assert len(stored_ids(ledger)) == 2

    assert main(["transcripts", "purge"]) == 0
    printed = capsys.readouterr().out
    assert "invoice_reconcile: deleted 1, kept 1" in printed and "retention 30 d" in printed
    assert len(stored_ids(ledger)) == 1

    assert main(["transcripts", "verify"]) == 0
    assert "transcripts OK: 1 checked" in capsys.readouterr().out
    assert main(["transcripts", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["transcripts"]) == 1


def test_cli_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["transcripts", "list", "--limit", "0"])
    assert info.value.code == 2 and "must be at least 1" in capsys.readouterr().err
    assert main(["transcripts"]) == 2
