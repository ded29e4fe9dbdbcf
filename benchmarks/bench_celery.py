"""Throughput of the sharded reconciliation on 1, 2 and 4 Celery workers. Run by hand; not a test.

    .venv/bin/python -m benchmarks.run_all --only celery [--quick]

A batch of 100,000 invoice lines (10,000 with --quick) is generated and loaded
into a SQLite ERP; the Dagster instance is on a fresh PostgreSQL database; the
broker and result backend are the machine's Redis (a queue of this run only).
For each worker count, that many ``dagster-celery worker`` processes (solo
pool) are started and the job ``invoice_reconcile_sharded`` (4 vendor shards,
governed_agents/dagster/scaleout.py) is run with the Celery executor; the
figure is lines per second over the run's wall time (run start to finish, as
``execute_job`` sees it: queueing, the workers' step processes, the event log
on PostgreSQL included). The baseline, alternated with the Celery runs, is the
same reconciliation in one process without Dagster or Celery (the whole batch
in one ``reconcile`` call).

Honest about the machine: it has 2 cores, shared with other jobs. Four workers
cannot run more than two shards at a time here; every shard also reads the
whole batch from the ERP and keeps its own quarter, so the read is repeated per
shard. Expect Celery to lose to one plain process on this machine; the point of
the figure is the cost of distribution, and that adding workers helps up to
the number of cores.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.run_all import summarise  # noqa: E402

BIN = Path(sys.executable).parent
REDIS = os.environ.get("GOVERNED_AGENTS_BENCH_REDIS", "redis://127.0.0.1:6379/0")
PG_ADMIN = os.environ.get("GOVERNED_AGENTS_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
SHARDS = 4


@contextlib.contextmanager
def _pg_database():
    import sqlalchemy as sa

    name = f"ga_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(PG_ADMIN).set(drivername="postgresql", database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def _workers(count: int, config: Path, queue: str, env: dict, logs: Path):
    from celery import Celery

    from governed_agents.dagster.daemon import stop

    names = [f"{queue}-w{i}" for i in range(count)]
    procs = [subprocess.Popen(
        [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config), "-q", queue,
         "-n", name, "--", "--pool=solo", "--without-mingle", "--without-gossip"],
        cwd=REPO, env=env, stdout=open(logs / f"{name}.log", "ab"), stderr=subprocess.STDOUT,
        start_new_session=True) for name in names]
    try:
        app = Celery(broker=REDIS, backend=REDIS)
        deadline = time.monotonic() + 180
        while True:
            replies = app.control.ping(timeout=1.0) or []
            if set(names) <= {next(iter(r)).split("@")[0] for r in replies}:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"celery workers did not start; see {logs}")
            time.sleep(0.5)
        yield procs
    finally:
        for proc in procs:
            stop(proc)


def run(quick: bool) -> list:
    import dagster as dg
    import redis
    import yaml

    from governed_agents.dagster.scaleout import celery_run_config, invoice_reconcile_sharded
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.reconcile import extract_po_reference_offline, load_invoice_lines, load_snapshot, reconcile

    redis.Redis.from_url(REDIS, socket_connect_timeout=3).ping()  # fail early and clearly without Redis
    lines_target, repeats, counts = (10_000, 2, [1, 2]) if quick else (100_000, 3, [1, 2, 4])
    work = Path(tempfile.mkdtemp(prefix="ga-bench-celery-"))
    erp_url = f"sqlite:///{work / 'erp.sqlite3'}"
    generate(work / "csv", invoices=int(lines_target / 2.2) + 50, seed=1)
    load_csv_dir(work / "csv", erp_engine(erp_url))
    n_lines = len(load_invoice_lines(erp_engine(erp_url)))

    def plain() -> float:
        start = time.perf_counter()
        engine = erp_engine(erp_url)
        reconcile(load_invoice_lines(engine), load_snapshot(engine), po_extractor=extract_po_reference_offline)
        return n_lines / (time.perf_counter() - start)

    rows = []
    with _pg_database() as dagster_url:
        home = work / "dagster"
        home.mkdir()
        (home / "dagster.yaml").write_text((REPO / "deploy" / "dagster.yaml").read_text())
        env = {"DAGSTER_HOME": str(home), "DAGSTER_PG_URL": dagster_url,
               "DAGSTER_COMPUTE_LOG_DIR": str(work / "compute-logs"), "GOVERNED_AGENTS_ERP_URL": erp_url,
               "GOVERNED_AGENTS_HOME": str(work / "home"), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        os.environ.update(env)
        worker_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
        dg.DagsterInstance.get().dispose()  # create the tables before the workers race for them
        for count in counts:
            queue = f"ga-bench-{uuid.uuid4().hex[:8]}"
            run_config = celery_run_config(REDIS, queue=queue, shards=SHARDS)
            config = work / f"celery-{count}.yaml"
            config.write_text(yaml.safe_dump({"execution": run_config["execution"]}))
            ours, base = [], []
            with _workers(count, config, queue, worker_env, work), dg.DagsterInstance.get() as instance:
                for r in range(repeats):  # alternated with the one-process baseline
                    start = time.perf_counter()
                    with dg.execute_job(dg.reconstructable(invoice_reconcile_sharded), instance=instance,
                                        run_config=run_config) as result:
                        if not result.success:
                            raise RuntimeError("the sharded run failed")
                        total = result.output_for_node("combine_shards")
                    ours.append(n_lines / (time.perf_counter() - start))
                    if total["lines"] != n_lines:
                        raise RuntimeError(f"shards covered {total['lines']} of {n_lines} lines")
                    base.append(plain())
                    print(f"  {count} worker(s), run {r + 1}: {ours[-1]:,.0f} lines/s "
                          f"(one process {base[-1]:,.0f})", file=sys.stderr)
            rows.append(summarise("celery", f"{n_lines:,} invoice lines, {count} Celery worker(s), {SHARDS} shards",
                                  ours, base, "lines/s", baseline_name="one process, no Dagster/Celery", digits=0,
                                  note=f"2-core shared machine; load {os.getloadavg()[0]:.1f}"))
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    import dataclasses

    for row in run(quick="--quick" in sys.argv):
        print(dataclasses.asdict(row))
