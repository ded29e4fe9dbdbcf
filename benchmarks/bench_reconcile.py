"""How fast is reconciliation's deterministic path? Run by hand; not a test.

    .venv/bin/python benchmarks/bench_reconcile.py                       # 10k (5 repeats) and 1M lines (3 repeats)
    .venv/bin/python benchmarks/bench_reconcile.py --sizes 10000 --repeats 7
    .venv/bin/python benchmarks/bench_reconcile.py --work /tmp/bench --keep   # reuse generated data next time

For each size it generates a demo batch (``governed_agents.erp.generator``,
seed 1) cut to exactly that many invoice lines, loads it into a SQLite ERP
(``load_csv_dir``), and then, in a fresh child process per repeat (so that
peak RSS is that run's own), times:

- ``snapshot``: ``load_snapshot`` (vendors, PO lines with received quantities);
- ``lines``: ``load_invoice_lines`` of the batch;
- ``reconcile``: ``reconcile(lines, snapshot, po_extractor=extract_po_reference_offline)``
  — the deterministic path, with the offline stand-in for the ~10 % of
  free-text PO references a model would read.

Prints a Markdown table for docs/reconciliation.md: the median of the repeats
with the spread (min–max), lines per second for reconcile alone and end to end
(read + reconcile), and the peak RSS of the child (``ru_maxrss``). The CPU time of
reconcile (``time.process_time``) is printed beside its wall time, and the load
average before and after: on a shared machine they explain the spread.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AVERAGE_LINES_PER_INVOICE = 2.2


def _prepare(work: Path, lines: int) -> tuple[str, str]:
    """Generate and load a batch of exactly ``lines`` invoice lines; reuse it when already there."""
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate

    folder = work / f"lines-{lines}"
    db = folder / "erp.sqlite3"
    url = f"sqlite:///{db}"
    done = folder / "loaded"
    if done.exists():
        return url, done.read_text().strip()
    shutil.rmtree(folder, ignore_errors=True)
    csv_dir = folder / "csv"
    started = time.perf_counter()
    counts = generate(csv_dir, invoices=int(lines / AVERAGE_LINES_PER_INVOICE) + 50, seed=1)
    if counts["invoice_lines"] < lines:
        raise SystemExit(f"generated only {counts['invoice_lines']} lines; raise AVERAGE_LINES_PER_INVOICE's margin")
    source = csv_dir / "invoices.csv"
    cut = csv_dir / "invoices.cut"
    with source.open(encoding="utf-8") as f, cut.open("w", encoding="utf-8") as out:
        for i, row in enumerate(f):  # generated rows are single physical lines
            if i > lines:
                break
            out.write(row)
    cut.replace(source)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    report = load_csv_dir(csv_dir, erp_engine(url), batch_id=f"bench-{lines}",
                          progress=lambda m: print(f"    … {m}", file=sys.stderr))
    print(f"  prepared {lines:,} lines: generated in {generated:.1f} s, loaded in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    done.write_text(report.batch_id)
    return url, report.batch_id


def _child(url: str, batch: str) -> None:
    import resource

    from governed_agents.erp.connector import erp_engine
    from governed_agents.reconcile import extract_po_reference_offline, load_invoice_lines, load_snapshot, reconcile

    engine = erp_engine(url)
    t0, c0 = time.perf_counter(), time.process_time()
    snapshot = load_snapshot(engine)
    t1, c1 = time.perf_counter(), time.process_time()
    lines = load_invoice_lines(engine, batch)
    t2, c2 = time.perf_counter(), time.process_time()
    result = reconcile(lines, snapshot, po_extractor=extract_po_reference_offline)
    t3, c3 = time.perf_counter(), time.process_time()
    print(json.dumps({
        "lines": len(lines), "invoices": len(result.outcomes), "snapshot_s": t1 - t0, "lines_s": t2 - t1,
        "reconcile_s": t3 - t2, "read_cpu_s": c2 - c0, "reconcile_cpu_s": c3 - c2,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counts": result.counts(), "po_lines": sum(len(p.lines) for p in snapshot.purchase_orders.values()),
    }))


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def run(quick: bool) -> list:
    """Rows for benchmarks/run_all.py: reconcile time beside the time to read the same batch from the ERP."""
    sys.path.insert(0, str(REPO))
    from benchmarks.run_all import summarise

    sizes = [10_000] if quick else [10_000, 100_000]
    rows = []
    work = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    try:
        for size in sizes:
            url, batch = _prepare(work, size)
            repeats = 3 if quick or size >= 100_000 else 5
            runs = [json.loads(subprocess.run([sys.executable, __file__, "--child", url, batch], capture_output=True,
                                              text=True, check=True, cwd=REPO).stdout) for _ in range(repeats)]
            rows.append(summarise("reconcile", f"reconcile {runs[0]['lines']:,} lines (deterministic path)",
                                  [r["reconcile_s"] for r in runs], [r["snapshot_s"] + r["lines_s"] for r in runs],
                                  "s", baseline_name="reading the batch and the ERP snapshot",
                                  note=f"{runs[0]['lines'] / statistics.median([r['reconcile_s'] for r in runs]):,.0f}"
                                       " lines/s"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000", help="invoice lines per batch, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="repeats for batches under 100k lines (default 5)")
    parser.add_argument("--repeats-large", type=int, default=3, help="repeats for batches of 100k lines or more")
    parser.add_argument("--work", help="where to keep generated data (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data for the next run")
    parser.add_argument("--child", nargs=2, metavar=("URL", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0

    sys.path.insert(0, str(REPO))
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    load_before = os.getloadavg()
    rows = []
    try:
        for size in sizes:
            url, batch = _prepare(work, size)
            repeats = args.repeats if size < 100_000 else args.repeats_large
            runs = []
            for r in range(repeats):
                out = subprocess.run([sys.executable, __file__, "--child", url, batch], capture_output=True,
                                     text=True, check=True, cwd=REPO)
                run = json.loads(out.stdout)
                runs.append(run)
                print(f"  {size:,} lines, run {r + 1}/{repeats}: reconcile {run['reconcile_s']:.2f} s "
                      f"(CPU {run['reconcile_cpu_s']:.2f} s), "
                      f"read {run['snapshot_s'] + run['lines_s']:.2f} s, peak RSS {run['peak_rss_mb']:.0f} MB",
                      file=sys.stderr)
            rows.append((size, runs))
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"Reconciliation, deterministic path — {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}; load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after.\n")
    print("| invoice lines | invoices | PO lines in ERP | read snapshot s | read lines s | reconcile s "
          "| reconcile CPU s | reconcile lines/s | end to end lines/s | peak RSS MB | repeats |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, runs in rows:
        rec = [r["reconcile_s"] for r in runs]
        total = [r["snapshot_s"] + r["lines_s"] + r["reconcile_s"] for r in runs]
        print(f"| {runs[0]['lines']:,} | {runs[0]['invoices']:,} | {runs[0]['po_lines']:,} "
              f"| {_spread([r['snapshot_s'] for r in runs])} | {_spread([r['lines_s'] for r in runs])} "
              f"| {_spread(rec)} | {_spread([r['reconcile_cpu_s'] for r in runs])} "
              f"| {runs[0]['lines'] / statistics.median(rec):,.0f} "
              f"| {runs[0]['lines'] / statistics.median(total):,.0f} "
              f"| {_spread([r['peak_rss_mb'] for r in runs], '{:.0f}')} | {len(runs)} |")
    print()
    print("Outcomes of the largest batch: " + ", ".join(f"{k} {v:,}" for k, v in rows[-1][1][0]["counts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
