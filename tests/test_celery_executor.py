"""Steps on Celery workers through dagster-celery, with the machine's Redis as broker.

Two ``dagster-celery worker start`` processes (solo pool: each executes in its
own process) listen on a queue unique to this test; the Dagster instance is on
a fresh PostgreSQL database (the workers write the step events into it); the
ERP is a SQLite file the workers read. The sharded reconciliation job runs with
the Celery executor; the test checks from the event log that the steps ran in
the worker processes (their hostnames and pids, none in the test process) and
that the combined outcome counts equal a reconciliation of the whole batch in
this process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS = os.environ.get("GOVERNED_AGENTS_TEST_REDIS", "redis://127.0.0.1:6379/0")
WORKERS = 2
SHARDS = 4

pytestmark = pytest.mark.slow


def _redis_up() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()
    except Exception as exc:  # the point is to fail loudly, never skip
        pytest.fail(f"Redis is required for this test and is not reachable at {REDIS}: {exc}\n"
                    "Start it (scripts/services does) or set GOVERNED_AGENTS_TEST_REDIS.")


def _ancestors(pid: int) -> set[int]:
    found = set()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        found.add(pid)
    return found


@contextlib.contextmanager
def _workers(names: list[str], config: Path, queue: str, env: dict, logs: Path):
    from governed_agents.dagster.daemon import stop

    procs = []
    try:
        for name in names:
            out = open(logs / f"{name}.log", "ab")
            procs.append(subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
                 "-q", queue, "-n", name, "--", "--pool=solo", "--without-mingle", "--without-gossip"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        yield procs
    finally:
        for proc in procs:
            stop(proc)


def _wait_ready(app_broker: str, names: list[str], procs, logs: Path, timeout: float = 120) -> None:
    from celery import Celery

    app = Celery(broker=app_broker, backend=app_broker)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc, name in zip(procs, names):
            if proc.poll() is not None:
                pytest.fail(f"worker {name} exited with {proc.returncode}:\n{(logs / f'{name}.log').read_text()}")
        replies = app.control.ping(timeout=1.0) or []
        seen = {next(iter(r)).split("@")[0] for r in replies}
        if set(names) <= seen:
            return
        time.sleep(0.5)
    pytest.fail(f"workers {names} did not answer a ping within {timeout:.0f}s")


def test_two_celery_workers_execute_the_sharded_reconciliation(tmp_path, pg_database, monkeypatch):
    import dagster as dg
    from sqlalchemy.engine import make_url

    from governed_agents.dagster.scaleout import celery_run_config, invoice_reconcile_sharded
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.reconcile import extract_po_reference_offline, load_invoice_lines, load_snapshot, reconcile

    _redis_up()
    erp_url = f"sqlite:///{tmp_path / 'erp.sqlite3'}"
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "deploy" / "dagster.yaml").read_text())
    env = {"DAGSTER_HOME": str(home),
           "DAGSTER_PG_URL": make_url(pg_database()).set(drivername="postgresql").render_as_string(
               hide_password=False),
           "DAGSTER_COMPUTE_LOG_DIR": str(tmp_path / "compute-logs"),
           "GOVERNED_AGENTS_ERP_URL": erp_url, "GOVERNED_AGENTS_HOME": str(tmp_path / "home"),
           "GOVERNED_AGENTS_POLICY_DIR": str(REPO / "policies"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    generate(tmp_path / "data", invoices=60, seed=9)
    load_csv_dir(tmp_path / "data", erp_engine(erp_url))

    queue = f"ga-test-{uuid.uuid4().hex[:10]}"  # this test's workers only; parallel tests use their own
    run_config = celery_run_config(REDIS, queue=queue, shards=SHARDS)
    config = tmp_path / "celery.yaml"
    config.write_text(yaml.safe_dump({"execution": run_config["execution"]}))
    names = [f"{queue}-w{i}" for i in range(WORKERS)]
    dg.DagsterInstance.get().dispose()  # create the instance's tables once, before the workers race for it
    worker_env = {**os.environ, **env, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                  "PYTHONPATH": str(REPO)}

    with _workers(names, config, queue, worker_env, tmp_path) as procs:
        _wait_ready(REDIS, names, procs, tmp_path)
        with dg.DagsterInstance.get() as instance:
            with dg.execute_job(dg.reconstructable(invoice_reconcile_sharded), instance=instance,
                                run_config=run_config) as result:
                assert result.success
                total = result.output_for_node("combine_shards")
                reports = [result.output_for_node("reconcile_shard")[f"shard_{i}"] for i in range(SHARDS)]
                logs = instance.all_logs(result.run_id)
        worker_pids = {p.pid for p in procs}
        # each step's process is a worker's (the solo pool runs tasks in the worker process)
        lineage = {r["pid"]: _ancestors(r["pid"]) for r in reports}

    # The steps ran in the worker processes, and both workers took some.
    delegated = [e for e in logs if e.dagster_event and e.dagster_event.is_engine_event
                 and "Celery worker" in e.dagster_event.engine_event_data.metadata]
    hosts = {str(e.dagster_event.engine_event_data.metadata["Celery worker"].value).split("@")[0]
             for e in delegated}
    assert len(delegated) == SHARDS + 2  # every step: the plan, four shards, the combine
    assert hosts == set(names)
    pids = {r["pid"] for r in reports}
    assert os.getpid() not in pids and len(pids) == WORKERS
    assert all(lineage[pid] & worker_pids for pid in pids), (lineage, worker_pids)
    assert {r["host"] for r in reports} == {socket.gethostname()}

    # The results are correct: the shards partition the batch, and together they
    # give the same outcomes as reconciling it whole here.
    whole = reconcile(load_invoice_lines(erp_engine(erp_url)), load_snapshot(erp_engine(erp_url)),
                      po_extractor=extract_po_reference_offline)
    assert total["lines"] == len(load_invoice_lines(erp_engine(erp_url))) and all(r["lines"] for r in reports)
    assert total["invoices"] == len(whole.outcomes) == 60
    assert total["counts"] == whole.counts()
