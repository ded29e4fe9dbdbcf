"""Hash-chained audit appends per second, against a plain insert of the same row.

Run by hand (not a test)::

    .venv/bin/python benchmarks/bench_audit.py            # SQLite and PostgreSQL, 1 and 4 writers
    .venv/bin/python benchmarks/bench_audit.py --only sqlite --events 2000 --repeats 3

For each database and writer count it runs, in fresh databases:

- chained: ``Ledger.append`` (each event its own transaction: the chain lock,
  the hash, the insert and the head move);
- plain: one INSERT of the same row (same columns, same indexes and unique
  constraints) into a table without chain, head or triggers, committed on its
  own through the same connection setup (SQLite: BEGIN IMMEDIATE … COMMIT;
  PostgreSQL: one autocommitted statement, as the chained append is).

Writers are separate processes that open their ledger, warm up, then start
together at a barrier; the rate is all events over the wall time from the first
start to the last finish. Chained and plain runs alternate, so both see the same
background load. Each figure is the median of --repeats runs, with the min–max
spread; ``chained/plain`` is the ratio of time per event (plain rate ÷ chained
rate), the median over the paired runs. Prints a Markdown table on stdout;
progress on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_PG_ADMIN = os.environ.get("GOVERNED_AGENTS_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
WARMUP = 20

PLAIN_DDL = {
    "sqlite": [
        """CREATE TABLE bench_plain_events (
            seq INTEGER PRIMARY KEY, event_id VARCHAR(36) NOT NULL UNIQUE, ts DATETIME NOT NULL,
            kind VARCHAR(64) NOT NULL, actor VARCHAR(128), workflow VARCHAR(128), trace_id VARCHAR(64),
            run_id VARCHAR(64), envelope_version VARCHAR(64), envelope_digest VARCHAR(80),
            payload TEXT NOT NULL, prev_hash VARCHAR(64) NOT NULL UNIQUE, hash VARCHAR(64) NOT NULL UNIQUE)""",
        "CREATE INDEX ix_bench_plain_trace ON bench_plain_events (trace_id)",
        "CREATE INDEX ix_bench_plain_kind ON bench_plain_events (kind)",
    ],
    "postgresql": [
        """CREATE TABLE bench_plain_events (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id VARCHAR(36) NOT NULL UNIQUE,
            ts TIMESTAMPTZ NOT NULL, kind VARCHAR(64) NOT NULL, actor VARCHAR(128), workflow VARCHAR(128),
            trace_id VARCHAR(64), run_id VARCHAR(64), envelope_version VARCHAR(64), envelope_digest VARCHAR(80),
            payload TEXT NOT NULL, prev_hash VARCHAR(64) NOT NULL UNIQUE, hash VARCHAR(64) NOT NULL UNIQUE)""",
        "CREATE INDEX ix_bench_plain_trace ON bench_plain_events (trace_id)",
        "CREATE INDEX ix_bench_plain_kind ON bench_plain_events (kind)",
    ],
}
PLAIN_COLUMNS = (
    "event_id, ts, kind, actor, workflow, trace_id, run_id, envelope_version, envelope_digest, payload, prev_hash, hash"
)
PLAIN_INSERT = {
    "sqlite": f"INSERT INTO bench_plain_events ({PLAIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "postgresql": f"INSERT INTO bench_plain_events ({PLAIN_COLUMNS}) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
}


def _payload(i: int) -> dict:
    return {
        "i": i,
        "tool": "erp.create_journal_entry",
        "decision": "allow",
        "amount": "1234.56",
        "currency": "EUR",
        "vendor": "ACME Bürobedarf GmbH",
        "invoice": f"INV-{i:08d}",
        "checks": ["schema", "allowlist", "budget", "kill_switch"],
    }


_CONTEXT = {
    "actor": "agent:reconciler",
    "workflow": "invoice_reconcile",
    "trace_id": "0f" * 16,
    "envelope_version": "3",
    "envelope_digest": "sha256:" + "ab" * 32,
}


def _worker(url: str, mode: str, count: int, barrier, results) -> None:  # pragma: no cover - child process
    from governed_agents.canonical import canonical_json
    from governed_agents.ledger import Ledger

    ledger = Ledger.open(url)

    if mode == "chained":

        def one(i: int) -> None:
            ledger.append("bench.event", _payload(i), **_CONTEXT)

    elif ledger.dialect == "sqlite":
        sql = PLAIN_INSERT["sqlite"]

        def one(i: int) -> None:
            row = _plain_row(i, canonical_json)
            row[1] = row[1].strftime("%Y-%m-%d %H:%M:%S.%f")
            with ledger.transaction() as conn:
                conn.connection.driver_connection.execute(sql, row)

    else:
        sql = PLAIN_INSERT["postgresql"]
        engine = ledger._autocommit  # the pool the chained standalone append uses

        def one(i: int) -> None:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql, tuple(_plain_row(i, canonical_json)))

    for i in range(WARMUP):
        one(-1 - i)
    barrier.wait()
    start = time.monotonic()
    for i in range(count):
        one(i)
    results.put((start, time.monotonic()))


def _plain_row(i: int, canonical_json) -> list:
    return [
        str(uuid.uuid4()),
        dt.datetime.now(dt.timezone.utc),
        "bench.event",
        _CONTEXT["actor"],
        _CONTEXT["workflow"],
        _CONTEXT["trace_id"],
        None,
        _CONTEXT["envelope_version"],
        _CONTEXT["envelope_digest"],
        canonical_json(_payload(i)),
        uuid.uuid4().hex + uuid.uuid4().hex,
        uuid.uuid4().hex + uuid.uuid4().hex,
    ]


class _Database:
    """A fresh ledger database for one run, removed afterwards."""

    def __init__(self, backend: str, pg_admin: str, tmp: Path):
        self.backend, self.pg_admin, self.tmp = backend, pg_admin, tmp

    def __enter__(self) -> str:
        import sqlalchemy as sa

        from governed_agents.ledger import Ledger

        name = f"ga_bench_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            self.url = f"sqlite:///{self.tmp / (name + '.sqlite3')}"
        else:
            self.admin = sa.create_engine(self.pg_admin, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            self.name = name
            self.url = sa.engine.make_url(self.pg_admin).set(database=name).render_as_string(hide_password=False)
        ledger = Ledger.open(self.url)
        with ledger.engine.begin() as conn:
            for statement in PLAIN_DDL[ledger.dialect]:
                conn.exec_driver_sql(statement)
        self.ledger = ledger
        return self.url

    def __exit__(self, *exc) -> None:
        result = self.ledger.verify()
        if not result.ok:  # pragma: no cover - a benchmark that breaks the chain is a bug
            raise SystemExit(f"chain broken after the run: {result.problem}")
        self.ledger.dispose()
        if self.backend == "postgresql":
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.admin.dispose()


def run_once(backend: str, mode: str, writers: int, events: int, pg_admin: str, tmp: Path) -> float:
    ctx = mp.get_context("spawn")
    with _Database(backend, pg_admin, tmp) as url:
        barrier = ctx.Barrier(writers)
        results = ctx.Queue()
        per_writer = events // writers
        procs = [ctx.Process(target=_worker, args=(url, mode, per_writer, barrier, results)) for _ in range(writers)]
        for p in procs:
            p.start()
        spans = [results.get(timeout=600) for _ in procs]
        for p in procs:
            p.join()
            if p.exitcode != 0:
                raise SystemExit(f"a {mode} writer failed on {backend}")
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return per_writer * writers / elapsed


def _machine() -> str:
    from benchmarks.run_all import machine

    m = machine()
    return f"{m['cores']} cores ({m['cpu']}), {m['system']}"


def _versions(pg_admin: str, backends: list[str]) -> str:
    import sqlite3

    import sqlalchemy as sa

    parts = [f"Python {platform.python_version()}", f"SQLAlchemy {sa.__version__}", f"SQLite {sqlite3.sqlite_version}"]
    if "postgresql" in backends:
        engine = sa.create_engine(pg_admin)
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
            sync = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
        engine.dispose()
        parts.append(f"PostgreSQL {version} (synchronous_commit={sync}, over TCP to 127.0.0.1)")
    return ", ".join(parts)


def _fmt(rates: list[float]) -> str:
    return f"{statistics.median(rates):,.0f} ({min(rates):,.0f}–{max(rates):,.0f})"


def run(quick: bool) -> list:
    """Rows for benchmarks/run_all.py: chained appends/s beside plain inserts/s, alternated per repeat."""
    from benchmarks.run_all import summarise

    events, repeats, writer_counts = (600, 3, [1]) if quick else (3000, 5, [1, 4])
    rows = []
    with tempfile.TemporaryDirectory(prefix="ga-bench-") as tmp:
        for backend in ("sqlite", "postgresql"):
            for writers in writer_counts:
                chained, plain = [], []
                for _ in range(repeats):
                    chained.append(run_once(backend, "chained", writers, events, DEFAULT_PG_ADMIN, Path(tmp)))
                    plain.append(run_once(backend, "plain", writers, events, DEFAULT_PG_ADMIN, Path(tmp)))
                rows.append(summarise("audit", f"appends/s, {backend}, {writers} writer(s)", chained, plain,
                                      "events/s", baseline_name="plain INSERT of the same row", digits=0,
                                      target="≥ 2,000/s SQLite, ≥ 1,000/s PostgreSQL (1 writer)"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Prints a Markdown table.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Targets (2-core machine): chained >= 2,000/s on SQLite and >= 1,000/s on PostgreSQL "
        "with one writer; chained/plain <= 1.5x.",
    )
    parser.add_argument("--events", type=int, default=3000, help="events per run, split over the writers (default 3000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure; the median is reported (default 5)")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4], help="writer process counts (default 1 4)")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="one database only")
    parser.add_argument("--pg-url", default=DEFAULT_PG_ADMIN, help="PostgreSQL admin URL; fresh databases are made there")
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgresql"]
    if args.only:
        backends = ["sqlite"] if args.only == "sqlite" else ["postgresql"]

    rows = []
    loads = []
    with tempfile.TemporaryDirectory(prefix="ga-bench-") as tmp:
        for backend in backends:
            for writers in args.writers:
                figures: dict[str, list[float]] = {"chained": [], "plain": []}
                # Alternate the two modes so that both see the same background load.
                for r in range(args.repeats):
                    for mode in ("chained", "plain"):
                        loads.append(os.getloadavg()[0])
                        rate = run_once(backend, mode, writers, args.events, args.pg_url, Path(tmp))
                        figures[mode].append(rate)
                        print(f"{backend} {writers} writer(s) {mode} run {r + 1}: {rate:,.0f}/s", file=sys.stderr)
                ratios = [p / c for c, p in zip(figures["chained"], figures["plain"])]
                rows.append((backend, writers, figures["chained"], figures["plain"], ratios))

    print(f"Audit append throughput, {dt.date.today().isoformat()}, {_machine()}")
    print(f"{_versions(args.pg_url, backends)}")
    print(
        f"{args.events} events per run; median of {args.repeats} runs (min–max); "
        f"1-minute load average at the start of each run: {min(loads):.1f}–{max(loads):.1f}"
    )
    print()
    print("| database | writers | chained appends/s | plain inserts/s | chained/plain (time per event) |")
    print("|---|---:|---:|---:|---:|")
    for backend, writers, chained, plain, ratios in rows:
        name = "SQLite" if backend == "sqlite" else "PostgreSQL"
        spread = f"{min(ratios):.2f}–{max(ratios):.2f}"
        print(f"| {name} | {writers} | {_fmt(chained)} | {_fmt(plain)} | {statistics.median(ratios):.2f}× ({spread}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
