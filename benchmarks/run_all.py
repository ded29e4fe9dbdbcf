"""The one entry point of the benchmark suite. Run by hand; not a test.

    .venv/bin/python -m benchmarks.run_all                 # every benchmarks/bench_*.py, full size
    .venv/bin/python -m benchmarks.run_all --quick         # smaller sizes, fewer repeats (a smoke run)
    .venv/bin/python -m benchmarks.run_all --only gate --only peers
    .venv/bin/python -m benchmarks.run_all --list

The convention (benchmarks/README.md): every ``benchmarks/bench_<name>.py``
exposes ``run(quick: bool) -> list[Row]``. Each Row is one measured case with
our figure and its baseline's figure *from the same run* (alternated, so both
see the same machine load), each a median over repeats, with the spread.

Each benchmark module runs in its own fresh interpreter (one benchmark's
imports, threads or memory do not colour the next; a benchmark that fails is
reported as failed and the others still run). The rows are written as one
Markdown table, with the machine (CPU model, cores, load average before and
after), the date and the git commit, into ``docs/performance.md`` between the
markers ``<!-- benchmarks:start -->`` and ``<!-- benchmarks:end -->`` (the rest
of that file is left as it is). ``--json`` also writes the raw rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = REPO / "docs" / "performance.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


@dataclasses.dataclass
class Row:
    """One measured case of one benchmark, ours beside its baseline.

    ``ours`` and ``baseline`` are medians over ``n`` repeats, in ``unit``.
    ``ratio`` is ours ÷ baseline (for a time, below 1 means ours is faster;
    for a rate, above 1 means ours is faster). ``spread`` says how much the
    repeats moved (min–max or IQR, as the text says). ``baseline_name`` names
    what the baseline is; ``target`` and ``note`` are free text. A case with no
    baseline (a figure only) leaves ``baseline`` and ``ratio`` as None.
    """

    benchmark: str
    case: str
    ours: float
    baseline: float | None
    unit: str
    ratio: float | None
    spread: str
    n: int
    baseline_name: str = ""
    target: str = ""
    note: str = ""


def summarise(benchmark: str, case: str, ours: list[float], baseline: list[float] | None, unit: str, *,
              baseline_name: str = "", target: str = "", note: str = "", digits: int = 2) -> Row:
    """A Row from the repeats of both sides: medians, the ratio of the medians, min–max spreads."""
    if not ours:
        raise ValueError(f"{benchmark}/{case}: no repeats measured")
    fmt = f"{{:,.{digits}f}}"
    ours_mid = statistics.median(ours)
    spread = f"ours {fmt.format(min(ours))}–{fmt.format(max(ours))}"
    base_mid = ratio = None
    if baseline:
        base_mid = statistics.median(baseline)
        spread += f"; baseline {fmt.format(min(baseline))}–{fmt.format(max(baseline))}"
        ratio = ours_mid / base_mid if base_mid else None
    return Row(benchmark, case, ours_mid, base_mid, unit, ratio, spread + " (min–max)", len(ours),
               baseline_name, target, note)


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a sample."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def discover() -> list[str]:
    """Benchmark names: bench_<name>.py in benchmarks/, sorted."""
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "governed_agents", "benchmarks"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}", "commit": commit}


def _child(name: str, quick: bool) -> int:  # runs in a fresh interpreter
    sys.path.insert(0, str(REPO))
    module = importlib.import_module(f"benchmarks.bench_{name}")
    if not hasattr(module, "run"):
        print(f"benchmarks/bench_{name}.py has no run(quick) function; see benchmarks/README.md", file=sys.stderr)
        return 2
    rows = module.run(quick=quick)
    payload = [dataclasses.asdict(r) if dataclasses.is_dataclass(r) else dict(r) for r in rows]
    marker = os.environ["GA_BENCH_RESULT"]
    Path(marker).write_text(json.dumps(payload))
    return 0


def run_one(name: str, quick: bool, result_dir: Path) -> tuple[list[Row], str | None, float]:
    """Run one benchmark in its own interpreter; (rows, error or None, wall seconds)."""
    result = result_dir / f"{name}.json"
    env = {**os.environ, "GA_BENCH_RESULT": str(result), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "benchmarks.run_all", "--child", name] + (["--quick"] if quick else [])
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env)
    wall = time.monotonic() - started
    if proc.returncode != 0 or not result.exists():
        return [], f"exit code {proc.returncode}", wall
    fields = {f.name for f in dataclasses.fields(Row)}
    rows = [Row(**{k: v for k, v in r.items() if k in fields}) for r in json.loads(result.read_text())]
    return rows, None, wall


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if value and abs(value) < 0.01:
        return f"{value:.3g}" + (f" {unit}" if unit else "")
    digits = 0 if abs(value) >= 1000 else 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f}" + (f" {unit}" if unit else "")


def render(rows: list[Row], failures: dict[str, str], info: dict, quick: bool, loads: tuple, walls: dict) -> str:
    lines = [
        f"Run of `python -m benchmarks.run_all{' --quick' if quick else ''}`, "
        f"{info['date']}, commit {info['commit']}.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['system']}, Python {info['python']}; "
        f"1-minute load average {loads[0]:.2f} at the start, {loads[1]:.2f} at the end "
        "(the machine is shared: other jobs run beside the benchmarks).",
        "",
        "Each figure is the median over `n` repeats; ours and the baseline ran in the same run, alternated. "
        "ratio = ours ÷ baseline (for a time, below 1 means ours is faster; for a rate, above 1).",
        "",
        "| benchmark | case | ours | baseline | ratio | spread | n | target / note |",
        "|---|---|---:|---|---:|---|---:|---|",
    ]
    for r in rows:
        base = "—" if r.baseline is None else f"{_num(r.baseline, r.unit)} ({r.baseline_name})"
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        note = "; ".join(x for x in (r.target, r.note) if x)
        lines.append(f"| {r.benchmark} | {r.case} | {_num(r.ours, r.unit)} | {base} | {ratio} | {r.spread} | "
                     f"{r.n} | {note} |")
    lines.append("")
    lines.append("Wall time per benchmark: " + ", ".join(f"{k} {v:.0f} s" for k, v in walls.items()) + ".")
    if failures:
        lines.append("")
        lines.append("Failed in this run (no figures): " + ", ".join(f"{k} ({v})" for k, v in failures.items()))
    return "\n".join(lines) + "\n"


def write_between_markers(path: Path, body: str) -> None:
    text = path.read_text() if path.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{body}{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    names = discover()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_all",
        description="Run every benchmarks/bench_*.py (each beside its baseline, same run) and write the "
        "Markdown table into docs/performance.md between the benchmark markers.",
        epilog=f"Benchmarks found: {', '.join(names)}. Convention: benchmarks/README.md.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (smoke run)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this benchmark (the part after bench_); repeatable")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown file to update (default %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print the table; leave the file alone")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw rows as JSON")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return _child(args.child, args.quick)
    if args.list:
        print("\n".join(names))
        return 0
    chosen = args.only or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}")

    import tempfile

    info = {**machine(), "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    load_start = os.getloadavg()[0]
    rows: list[Row] = []
    failures: dict[str, str] = {}
    walls: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ga-bench-all-") as tmp:
        for name in chosen:
            print(f"== {name}", file=sys.stderr, flush=True)
            got, error, walls[name] = run_one(name, args.quick, Path(tmp))
            rows += got
            if error:
                failures[name] = error
    body = render(rows, failures, info, args.quick, (load_start, os.getloadavg()[0]), walls)
    print(body)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": [dataclasses.asdict(r) for r in rows],
                                         "failures": failures}, indent=2))
    if not args.no_write:
        write_between_markers(args.out, body)
        print(f"written to {args.out}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
