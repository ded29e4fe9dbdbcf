"""How fast is the gate's decision? Run by hand; not a test.

    .venv/bin/python benchmarks/bench_gate.py            # 5 repeats x 100k decisions per scenario
    .venv/bin/python benchmarks/bench_gate.py --n 200000 --repeats 7

Prints a Markdown table (decisions/s, p50, p99 per scenario) for docs/gate.md.
Each decision is timed on its own with ``time.perf_counter_ns`` (the timer's
own cost, measured and printed, is included in p50/p99); decisions/s comes from
the wall time of the whole timed loop. Every figure is the median of the
repeats, with the spread (min–max over repeats) beside it.

Scenarios (the reference envelope, policies/invoice_reconcile.yaml):

- allow: a read tool, registered, allowed, valid input;
- deny-not-allowed: a registered write tool the envelope does not allow;
- deny-invalid-input: an allowed write with two invalid fields;
- needs_approval: an allowed, valid write with no approval attached.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated

REPO = Path(__file__).resolve().parent.parent


def _setup():
    from pydantic import BaseModel, ConfigDict, Field

    from governed_agents.envelope import load_envelope
    from governed_agents.gate import GateState, ToolCallRequest, ToolRegistry

    class LookupVendor(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        tax_id: Annotated[str, Field(min_length=1, max_length=64)]

    class Vendor(BaseModel):
        found: bool

    class JournalEntry(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        invoice_id: Annotated[str, Field(min_length=1, max_length=64)]
        vendor_id: Annotated[str, Field(min_length=1, max_length=64)]
        currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
        amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
        memo: Annotated[str, Field(max_length=500)] = ""

    class Posted(BaseModel):
        entry_id: str

    registry = ToolRegistry()
    registry.tool(name="erp.lookup_vendor", input=LookupVendor, output=Vendor, side_effect="read",
                  reversible=True, description="Find a vendor.")(lambda q: {"found": True})
    registry.tool(name="erp.create_journal_entry", input=JournalEntry, output=Posted, side_effect="write",
                  reversible=False, idempotency_key=lambda e: e.invoice_id,
                  description="Post a journal entry.")(lambda e: {"entry_id": "x"})
    registry.tool(name="erp.post_payment", input=JournalEntry, output=Posted, side_effect="write",
                  reversible=False, idempotency_key=lambda e: e.invoice_id,
                  description="Pay a vendor.")(lambda e: {"entry_id": "x"})

    envelope = load_envelope(REPO / "policies" / "invoice_reconcile.yaml")
    entry = {"invoice_id": "INV-1", "vendor_id": "V001", "currency": "EUR", "amount": "1234.50", "memo": "paper"}

    def request(tool, arguments):
        return ToolCallRequest(tool=tool, arguments=arguments, task_id="t-1", trace_id="tr-1",
                               workflow="invoice_reconcile", principal="agent.invoice")

    scenarios = {
        "allow": (request("erp.lookup_vendor", {"tax_id": "DE123456789"}), "allow"),
        "deny-not-allowed": (request("erp.post_payment", entry), "deny"),
        "deny-invalid-input": (
            request("erp.create_journal_entry", {**entry, "amount": "-5", "currency": "euro"}), "deny"),
        "needs_approval": (request("erp.create_journal_entry", entry), "needs_approval"),
    }
    state = GateState(now=dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc), tool_calls_made=2, tokens_used=1000)
    return envelope, registry, scenarios, state


def _timer_overhead(n: int = 200_000) -> int:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        a = clock()
        b = clock()
        samples.append(b - a)
    samples.sort()
    return samples[len(samples) // 2]


def _run_once(decide, envelope, registry, request, state, n: int) -> tuple[float, int, int]:
    clock = time.perf_counter_ns
    samples = [0] * n
    gc.disable()
    try:
        started = clock()
        for i in range(n):
            a = clock()
            decide(envelope, registry, request, state)
            samples[i] = clock() - a
        elapsed = clock() - started
    finally:
        gc.enable()
    samples.sort()
    # Throughput is taken from an untimed loop so the per-call timer does not count against it.
    gc.disable()
    try:
        started = clock()
        for _ in range(n):
            decide(envelope, registry, request, state)
        untimed = clock() - started
    finally:
        gc.enable()
    del elapsed
    return n / (untimed / 1e9), samples[n // 2], samples[min(n - 1, (n * 99) // 100)]


def run(quick: bool) -> list:
    """Rows for benchmarks/run_all.py: p50 of the full decision vs validating the same input alone."""
    sys.path.insert(0, str(REPO))
    from benchmarks.run_all import summarise
    from governed_agents.gate import decide

    envelope, registry, scenarios, state = _setup()
    n, repeats, warmup = (20_000, 3, 5_000) if quick else (100_000, 5, 20_000)
    rows = []
    for name, (request, _) in scenarios.items():
        spec = registry.spec(request.tool)

        def validate(_e, _r, req, _s, model=spec.input_model):
            try:
                model.model_validate(req.arguments)
            except Exception:  # noqa: BLE001 - the invalid-input case fails validation, as the gate does
                pass

        for _ in range(warmup):
            decide(envelope, registry, request, state)
            validate(None, None, request, None)
        ours, base = [], []
        for _ in range(repeats):  # alternated
            ours.append(_run_once(decide, envelope, registry, request, state, n)[1] / 1000)
            base.append(_run_once(validate, envelope, registry, request, state, n)[1] / 1000)
        rows.append(summarise("gate", f"p50 decision, {name}", ours, base, "µs",
                              baseline_name="pydantic validation of the input alone",
                              note=f"{n:,} decisions per repeat"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the gate's decision (allowlist + schema + budgets + approval) in-process.",
    )
    parser.add_argument("--n", type=int, default=100_000, help="decisions per repeat and scenario (default 100000)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats per scenario; figures are medians (default 5)")
    parser.add_argument("--warmup", type=int, default=20_000, help="untimed decisions before timing (default 20000)")
    args = parser.parse_args(argv)

    from governed_agents.gate import decide

    envelope, registry, scenarios, state = _setup()
    for name, (request, expected) in scenarios.items():
        outcome = decide(envelope, registry, request, state).outcome
        if outcome != expected:
            print(f"scenario {name} decided {outcome}, expected {expected}", file=sys.stderr)
            return 1

    overhead = _timer_overhead()
    rows = []
    for name, (request, _) in scenarios.items():
        for _ in range(args.warmup):
            decide(envelope, registry, request, state)
        runs = [_run_once(decide, envelope, registry, request, state, args.n) for _ in range(args.repeats)]
        rate = [r[0] for r in runs]
        p50 = [r[1] / 1000 for r in runs]
        p99 = [r[2] / 1000 for r in runs]
        rows.append((name, rate, p50, p99))

    import pydantic

    print(f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs), "
          f"pydantic {pydantic.VERSION}; {args.repeats} repeats × {args.n:,} decisions per scenario "
          f"after {args.warmup:,} warm-up; timer overhead ≈ {overhead} ns per reading pair (included in p50/p99).")
    print()
    print("| scenario | decisions/s | p50 (µs) | p99 (µs) |")
    print("|---|---:|---:|---:|")

    def cell(values, fmt):
        mid = statistics.median(values)
        return f"{fmt.format(mid)} ({fmt.format(min(values))}–{fmt.format(max(values))})"

    for name, rate, p50, p99 in rows:
        print(f"| {name} | {cell(rate, '{:,.0f}')} | {cell(p50, '{:.2f}')} | {cell(p99, '{:.2f}')} |")
    print()
    print("Each cell: median of the repeats (min–max).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
