"""What does replay recording cost a proposal run, and how long does a replay take? Run by hand; not a test.

    .venv/bin/python benchmarks/bench_forensics.py                 # 10,000 lines, 5 repeats
    .venv/bin/python benchmarks/bench_forensics.py --lines 2000 --repeats 3

One demo batch (``erp.generator``, seed 1, cut to about ``--lines`` invoice lines)
is loaded into a SQLite ERP with a SQLite ledger in a temporary home. Each repeat,
alternated on the same machine load:

- baseline: ``reconcile`` of the batch (the offline stand-in reading free-text
  PO references), which is the work the recording rides on;
- ours: ``forensics.recording.record_run`` of that result (redaction of the
  recording, canonical JSON, one hash-chained append) — what the
  ``invoice_matches`` step adds;
- ours: ``forensics.replay.replay`` of the recorded run (the batch's
  reconciliation, gate decisions and approval requirement, from the recording).

Prints the rows as a Markdown table; ``run(quick)`` is the ``run_all`` entry.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.run_all import Row, summarise  # noqa: E402


def measure(lines_target: int, repeats: int) -> list[Row]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    work = tempfile.mkdtemp(prefix="bench-forensics-")
    os.environ["GOVERNED_AGENTS_HOME"] = work
    os.environ.pop("GOVERNED_AGENTS_DB_URL", None)
    os.environ.pop("GOVERNED_AGENTS_ERP_URL", None)

    from governed_agents.canonical import canonical_json
    from governed_agents.envelope import find_envelope
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.forensics.recording import record_run
    from governed_agents.forensics.replay import replay
    from governed_agents.ledger import Ledger
    from governed_agents.reconcile import (
        ReconcileParams,
        extract_po_reference_offline,
        load_invoice_lines,
        load_snapshot,
        reconcile,
    )

    data = Path(work) / "data"
    generate(data, invoices=max(1, int(lines_target / 2.2)), seed=1)
    load_csv_dir(data, erp_engine())
    envelope = find_envelope("invoice_reconcile")
    ledger = Ledger.open()
    lines = load_invoice_lines(erp_engine())
    snapshot = load_snapshot(erp_engine())
    base, rec, rep, size = [], [], [], 0
    for i in range(repeats):
        answers: dict = {}

        def extractor(text):
            answers[text] = found = extract_po_reference_offline(text)
            return found

        started = time.perf_counter()
        result = reconcile(lines, snapshot, params=ReconcileParams.from_envelope(envelope), po_extractor=extractor)
        base.append(time.perf_counter() - started)
        started = time.perf_counter()
        event = record_run(ledger, envelope, run_id=f"bench-{i}", lines=lines, snapshot=snapshot, result=result,
                           answers=answers)
        rec.append(time.perf_counter() - started)
        size = len(canonical_json(event.payload))
        started = time.perf_counter()
        replay(ledger, f"bench-{i}")
        rep.append(time.perf_counter() - started)
    n = len(lines)
    note = f"{n:,} lines; recording {size / 1e6:.1f} MB"
    return [
        summarise("forensics", f"record a proposal run for replay, {n:,} lines", rec, base, "s",
                  baseline_name="reconcile of the same batch", note=note),
        summarise("forensics", f"replay a recorded run, {n:,} lines", rep, base, "s",
                  baseline_name="reconcile of the same batch", note=note),
    ]


def run(quick: bool) -> list[Row]:
    return measure(2_000 if quick else 10_000, 3 if quick else 5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = measure(args.lines, args.repeats)
    print("| case | ours | baseline | ratio | spread | note |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.case} | {r.ours:.2f} {r.unit} | {r.baseline:.2f} {r.unit} ({r.baseline_name}) | "
              f"{r.ratio:.2f} | {r.spread} | {r.note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
