"""The invoice pipeline's own figures. Run by hand; not a test.

    .venv/bin/python benchmarks/bench_pipeline.py                 # all three
    .venv/bin/python benchmarks/bench_pipeline.py --only load --repeats 7

Three measurements, each beside its baseline in the same run:

- ``load``: code-location load time (``definitions.py`` imported and the
  Definitions built, in a fresh interpreter) against ``import dagster`` alone.
  Target ≤ 3 s.
- ``governed``: the same batch through the deterministic path governed
  (injection screening of every memo and description, the gate's decision and
  the before → after preview for every proposed entry, the independent
  injection re-screen) against ungoverned (the same rules with screening off,
  proposals taken as they are). Target ≤ 1.10×.
- ``approval``: approval → posting run created by the real dagster-daemon's
  approval sensor (sensor interval 1 s), p50 / p95 over N approvals made one by
  one while the daemon runs. Target p95 ≤ 10 s.

Prints a Markdown table (medians with min–max) for docs/pipeline.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _spread(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    values = [v * scale for v in values]
    return f"{statistics.median(values):.2f} {unit} ({min(values):.2f}–{max(values):.2f})"


# The raw figures of the last call of each bench_* function, for run() (benchmarks/run_all.py).
RAW: dict = {}


def bench_load(repeats: int) -> list[tuple[str, str, str]]:
    def timed(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                       env={**os.environ, "GOVERNED_AGENTS_HOME": tempfile.mkdtemp()})
        return time.perf_counter() - start

    location, baseline = [], []
    for _ in range(repeats):  # alternate so that machine load hits both alike
        baseline.append(timed("import dagster"))
        location.append(timed("from governed_agents.dagster.location import definitions; definitions()"))
    ratio = statistics.median(location) / statistics.median(baseline)
    RAW["load"] = (location, baseline)
    return [("code-location load (definitions.py)", _spread(location), "target ≤ 3 s"),
            ("baseline: import dagster", _spread(baseline), f"ratio {ratio:.2f}×")]


def bench_governed(lines_target: int, repeats: int) -> list[tuple[str, str, str]]:
    from types import SimpleNamespace

    os.environ["GOVERNED_AGENTS_HOME"] = tempfile.mkdtemp()
    from governed_agents.envelope import find_envelope
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.reconcile import ReconcileParams, load_invoice_lines, load_snapshot, reconcile
    from governed_agents.reconcile.po_reference import extract_po_reference_offline
    from governed_agents.workflows import executor_for
    from governed_agents.workflows import invoice_reconcile as wf

    data = Path(tempfile.mkdtemp()) / "data"
    generate(data, invoices=int(lines_target / 2.2), seed=1)
    engine = erp_engine()
    load_csv_dir(data, engine)
    envelope = find_envelope("invoice_reconcile")
    params = ReconcileParams.from_envelope(envelope)
    lines = load_invoice_lines(engine)
    executor = executor_for("invoice_reconcile")
    silent = lambda text, context="data": SimpleNamespace(score=0.0, signals=())  # noqa: E731

    def ungoverned() -> float:
        start = time.perf_counter()
        result = reconcile(lines, load_snapshot(engine), params=params, scorer=silent,
                           po_extractor=extract_po_reference_offline)
        _ = result.proposals()
        return time.perf_counter() - start

    def governed() -> float:
        start = time.perf_counter()
        result = reconcile(lines, load_snapshot(engine), params=params,
                           po_extractor=extract_po_reference_offline)
        proposals = wf.propose(result, executor, envelope, requested_by="alice")
        wf.conformance(proposals)
        wf.injection_leaks(result, envelope)
        return time.perf_counter() - start

    plain, gov = [], []
    for _ in range(repeats):
        plain.append(ungoverned())
        gov.append(governed())
    ratio = statistics.median(gov) / statistics.median(plain)
    n = len(lines)
    RAW["governed"] = (gov, plain, n)
    return [(f"governed ({n:,} lines)", _spread(gov), f"{n / statistics.median(gov):,.0f} lines/s"),
            (f"ungoverned ({n:,} lines)", _spread(plain),
             f"{n / statistics.median(plain):,.0f} lines/s; ratio {ratio:.2f}× (target ≤ 1.10×)")]


def bench_approval(approvals: int) -> list[tuple[str, str, str]]:
    home = Path(tempfile.mkdtemp())
    os.environ.update({"GOVERNED_AGENTS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
                       "GOVERNED_AGENTS_SENSOR_INTERVAL": "1"})
    import dagster as dg

    from governed_agents.approvals import decide
    from governed_agents.dagster.daemon import running_daemon, wait_for_runs
    from governed_agents.dagster.instance import instance
    from governed_agents.dagster.metadata import TAG_APPROVAL
    from governed_agents.dagster.runs import run_proposals
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger import Ledger

    data = home / "data"
    generate(data, invoices=approvals * 3, seed=2)
    load_csv_dir(data, erp_engine())
    run = run_proposals("invoice_reconcile")
    ids = run.approval_requests[:approvals]
    ledger, dagster = Ledger.open(), instance()
    token = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    latencies = []
    with running_daemon() as daemon:
        time.sleep(12)  # let the daemon start and the sensor settle into its loop
        for request_id in ids:
            decide(ledger, request_id, token=token, decision="approve")
            approved_at = time.time()
            while not dagster.get_runs(filters=dg.RunsFilter(tags={TAG_APPROVAL: request_id})):
                time.sleep(0.05)
            created = dagster.get_run_records(filters=dg.RunsFilter(tags={TAG_APPROVAL: request_id}))[0]
            latencies.append(created.create_timestamp.timestamp() - approved_at)
        wait_for_runs(dagster, TAG_APPROVAL, ids, timeout=300, process=daemon)
    RAW["approval"] = list(latencies)
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return [(f"approval → posting run created ({len(ids)} approvals, sensor every 1 s)",
             f"p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s",
             f"min {min(latencies):.2f} s, max {max(latencies):.2f} s; target p95 ≤ 10 s")]


def run(quick: bool) -> list:
    """Rows for benchmarks/run_all.py (the approval latency only in the full run: it starts the daemon)."""
    from benchmarks.run_all import Row, percentile, summarise

    repeats = 3 if quick else 5
    bench_load(repeats)
    location, baseline = RAW["load"]
    rows = [summarise("pipeline", "code-location load (definitions.py)", location, baseline, "s",
                      baseline_name="import dagster", target="≤ 3 s")]
    bench_governed(2_000 if quick else 10_000, repeats)
    gov, plain, n = RAW["governed"]
    rows.append(summarise("pipeline", f"governed batch ({n:,} lines)", gov, plain, "s",
                          baseline_name="same rules, ungoverned", target="ratio ≤ 1.10×"))
    if not quick:
        bench_approval(10)
        lat = RAW["approval"]
        rows.append(Row("pipeline", "approval → posting run created, p95 (daemon sensor, 1 s interval)",
                        percentile(lat, 95), None, "s", None, f"p50 {statistics.median(lat):.2f}; min–max "
                        f"{min(lat):.2f}–{max(lat):.2f}", len(lat), target="p95 ≤ 10 s"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["load", "governed", "approval"], action="append")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lines", type=int, default=10_000, help="batch size for the governed comparison")
    parser.add_argument("--approvals", type=int, default=10)
    args = parser.parse_args()
    chosen = args.only or ["load", "governed", "approval"]
    rows: list[tuple[str, str, str]] = []
    load_before = os.getloadavg()[0]
    if "load" in chosen:
        rows += bench_load(args.repeats)
    if "governed" in chosen:
        rows += bench_governed(args.lines, args.repeats)
    if "approval" in chosen:
        rows += bench_approval(args.approvals)
    print(f"\n{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average {load_before:.1f} → {os.getloadavg()[0]:.1f}\n")
    print("| measurement | median (min–max) | notes |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
