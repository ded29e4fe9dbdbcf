"""The production deployment of docs/deployment.md, brought up on this machine.

Three processes, as in production: the user code location (``dagster
code-server start``), ``dagster-webserver`` and ``dagster-daemon``, all on the
instance of ``deploy/dagster.yaml`` (run, event and schedule storage on
PostgreSQL through dagster-postgres, the QueuedRunCoordinator with one posting
run per ERP at a time) and ``deploy/workspace.yaml`` (the webserver and the
daemon reach the code over gRPC). The governance ledger and the ERP are on
PostgreSQL too (``GOVERNED_AGENTS_DEPLOYMENT=prod``). Each is its own fresh
database.

The test submits the proposal job through the webserver's GraphQL API
(``DagsterGraphQLClient``), approves with the CLI and a scoped token, and lets
the daemon's approval sensor launch the posting runs; then it checks the ERP,
the receipts, the run tags, and that no two posting runs overlapped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.5)
    pytest.fail(f"{process.args[0]} did not listen on {port} within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def _tails(logs: Path, chars: int = 4000) -> str:
    """The end of each process's log, for a failure message that explains itself."""
    parts = []
    for name in ("code", "web", "daemon"):
        log = logs / f"{name}.log"
        text = log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"
        parts.append(f"----- {name}.log ({log}) -----\n{text}")
    return "\n".join(parts)


@contextlib.contextmanager
def _explained(logs: Path, stage: list[str], snapshot=lambda: ""):
    """Turn any error inside the block into a failure naming the stage it happened in,
    with the state of the Dagster runs and the tail of every process's log."""
    try:
        yield
    except Exception as exc:  # AssertionError, GovernanceError, GraphQL client errors
        try:
            state = snapshot()
        except Exception as snap_exc:  # the storage itself may be what broke
            state = f"(could not read the runs: {snap_exc!r})"
        pytest.fail(f"stage '{stage[0]}' failed: {type(exc).__name__}: {exc}\n{state}\n{_tails(logs)}",
                    pytrace=True)


@contextlib.contextmanager
def _process(args: list[str], env: dict, log: Path):
    from governed_agents.dagster.daemon import stop

    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            yield proc
        finally:
            stop(proc)


@pytest.fixture
def deployment(tmp_path, pg_database, monkeypatch):
    """Environment and config files of a production deployment in tmp_path."""
    from sqlalchemy.engine import make_url

    dagster_db = make_url(pg_database()).set(drivername="postgresql").render_as_string(hide_password=False)
    ledger_db, erp_db = pg_database(), pg_database()
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "deploy" / "dagster.yaml").read_text())
    grpc_port = _free_port()
    workspace = yaml.safe_load((REPO / "deploy" / "workspace.yaml").read_text())
    workspace["load_from"][0]["grpc_server"].update(host="127.0.0.1", port=grpc_port)
    (tmp_path / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": dagster_db,
        "DAGSTER_COMPUTE_LOG_DIR": str(tmp_path / "compute-logs"),
        "GOVERNED_AGENTS_DEPLOYMENT": "prod",
        "GOVERNED_AGENTS_HOME": str(tmp_path / "home"),
        "GOVERNED_AGENTS_DB_URL": ledger_db,
        "GOVERNED_AGENTS_ERP_URL": erp_db,
        "GOVERNED_AGENTS_POLICY_DIR": str(REPO / "policies"),
        "GOVERNED_AGENTS_SENSOR_INTERVAL": "2",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {"env": {**os.environ, **env}, "grpc_port": grpc_port, "workspace": tmp_path / "workspace.yaml",
            "logs": tmp_path, "ledger": ledger_db, "erp": erp_db}


def test_production_deployment_runs_the_invoice_pipeline_with_approval(deployment, tmp_path):
    import dagster as dg
    from dagster_graphql import DagsterGraphQLClient
    from sqlalchemy import func, select

    from governed_agents.approvals import list_requests
    from governed_agents.dagster.daemon import wait_for_runs
    from governed_agents.dagster.metadata import TAG_APPROVAL, TAG_ERP, TAG_WORKFLOW
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.erp.schema import journal_entries
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger import Ledger
    from governed_agents.receipts.store import list_receipts

    generate(tmp_path / "data", invoices=20, seed=5)
    load_csv_dir(tmp_path / "data", erp_engine())
    env, logs, port = deployment["env"], deployment["logs"], _free_port()

    code = [str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(deployment["grpc_port"]),
            "-f", "definitions.py", "-d", str(REPO), "--location-name", "governed_agents"]
    web = [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(deployment["workspace"])]
    daemon = [str(BIN / "dagster-daemon"), "run", "-w", str(deployment["workspace"])]
    stage = ["starting the code server"]
    instance = dg.DagsterInstance.get()

    def runs_now() -> str:
        lines = [f"{r.run_id[:8]} {r.job_name} {r.status.value} {r.tags.get(TAG_APPROVAL, '')}"
                 for r in instance.get_runs(limit=50)]
        return "Dagster runs (newest first):\n  " + ("\n  ".join(lines) or "(none)")

    with _explained(logs, stage, runs_now), _process(code, env, logs / "code.log") as code_proc:
        _wait_port(deployment["grpc_port"], code_proc, logs / "code.log")
        stage[0] = "starting the webserver and the daemon"
        with _process(web, env, logs / "web.log") as web_proc, \
                _process(daemon, env, logs / "daemon.log") as daemon_proc:
            _wait_port(port, web_proc, logs / "web.log")
            stage[0] = "submitting the proposal run over GraphQL"
            client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=120)
            run_id = client.submit_job_execution(
                "invoice_reconcile_propose", repository_location_name="governed_agents",
                repository_name="__repository__",
                run_config={"ops": {"approval_requests": {"config": {"requested_by": "alice"}}}},
                tags={"governed_agents/requested_by": "alice"})
            # Through the QueuedRunCoordinator: the run waits in the queue until the daemon starts it.
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            # Polled in the run storage (one query), not through the webserver: a GraphQL call
            # can itself time out on a loaded machine and that is not what is being waited for.
            deadline = time.monotonic() + 300
            finished = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
            while (status := instance.get_run_by_id(run_id).status) not in finished:
                stage[0] = f"waiting for the proposal run {run_id[:8]} (now {status.value})"
                assert time.monotonic() < deadline, "the proposal run did not finish in 300 s"
                for proc in (code_proc, web_proc, daemon_proc):
                    assert proc.poll() is None, f"{proc.args[0]} exited with {proc.returncode}"
                time.sleep(1)
            stage[0] = f"checking the proposal run {run_id[:8]}"
            assert client.get_run_status(run_id) == dg.DagsterRunStatus.SUCCESS, \
                [e.message for e in instance.all_logs(run_id) if e.level >= 40]

            ledger = Ledger.open()
            assert ledger.dialect == "postgresql"
            pending = [r.id for r in list_requests(ledger, workflow="invoice_reconcile", status="pending",
                                                   limit=100)]
            assert len(pending) >= 4
            chosen = pending[:4]
            stage[0] = f"approving {len(chosen)} requests with the CLI"
            token = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
            approve = subprocess.run([str(BIN / "governed-agents"), "approvals", "approve", *chosen,
                                      "--reason", "checked", "--token", token],
                                     capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
            assert approve.returncode == 0, approve.stderr

            stage[0] = "waiting for the approval sensor's posting runs"
            runs = wait_for_runs(instance, TAG_APPROVAL, chosen, timeout=400, process=daemon_proc)

        stage[0] = "checking the posting runs, the ERP, the receipts and the audit chain"
        failed = {i: [e.message for e in instance.all_logs(r.run_id)
                      if "FAIL" in str(e.dagster_event_type) or e.level >= 40]
                  for i, r in runs.items() if r.status != dg.DagsterRunStatus.SUCCESS}
        assert not failed, failed
        # The sensor's tags are on every posting run; the tag limit is what serialised them.
        for request_id, run in runs.items():
            assert run.job_name == "invoice_reconcile_post"
            assert run.tags[TAG_APPROVAL] == request_id
            assert run.tags[TAG_ERP] == "demo" and run.tags[TAG_WORKFLOW] == "invoice_reconcile"
        records = instance.get_run_records(filters=dg.RunsFilter(run_ids=[r.run_id for r in runs.values()]))
        spans = sorted((rec.start_time, rec.end_time) for rec in records)
        assert len(spans) == 4 and all(start and end for start, end in spans), spans
        for (_, end), (next_start, _) in zip(spans, spans[1:]):
            assert next_start >= end, f"two posting runs on one ERP overlapped: {spans}"

        with erp_engine().connect() as conn:
            assert conn.execute(select(func.count()).select_from(journal_entries)).scalar_one() == 4
        kinds = {r.receipt.approval_request_id: r.receipt.kind for r in list_receipts(Ledger.open(), limit=500)
                 if r.receipt.approval_request_id}
        assert all(kinds.get(i) == "write_executed" for i in chosen), {i: kinds.get(i) for i in chosen}
        verified = Ledger.open().verify()
        assert verified.ok, verified
    instance.dispose()
