"""What does the model gateway cost? Run by hand; not a test.

    .venv/bin/python benchmarks/bench_gateway.py                 # both parts, defaults below
    .venv/bin/python benchmarks/bench_gateway.py --part overhead --calls 300 --repeats 7
    .venv/bin/python benchmarks/bench_gateway.py --part cost --items 400
    .venv/bin/python benchmarks/bench_gateway.py --db-url postgresql+psycopg2://postgres@127.0.0.1/bench

Prints Markdown for docs/routing.md.

**overhead**: the gateway's cost per call on top of litellm. The scripted model
server runs as a separate process on loopback (so it does not share this
process's GIL); the same request goes to it through ``litellm.completion``
directly (A) and through ``ModelGateway.complete`` (B), alternating A, B, A, B
within each repeat so that drift hits both alike. litellm finishes every call
with a few milliseconds of logging work on a background thread; whatever the
caller does next with I/O (the gateway's settlement commit) waits for the GIL
while that thread runs, whereas a bare direct call stops its clock first. The
main figure therefore times both paths *including* the litellm logging work of
their own call (each waits for its call's ``success_handler`` to finish, via a
counting wrapper installed by this script only); the raw figure, as a caller
sees it back to back, is printed too. B does everything a governed
call does: cache lookup (a miss: every message is unique), atomic reservation
against every budget, the call, settlement, a redacted transcript, a cache
entry and a ``model.call`` audit event, on the ledger given (a fresh SQLite
file by default). Each figure is the median over repeats of the per-repeat p50
(or p90), with the spread (min–max over repeats). A second measure needs no
pairing: the gateway's own time per call, i.e. its wall time minus the litellm
attempt inside it.

**cost**: cost per completed task on a synthetic batch of purchase-order
reference extraction items (seeded; the mix is printed), with routing
(``find_po_reference``: rules → router tier → reasoning only when the router
is unsure) against sending every item to the reasoning tier, on the default
catalog (the offline stand-in with illustrative list prices). Both runs use
the product's own ``spend_report`` for cost per completed task, and every
item's outcome is compared. The demo-batch version of this comparison comes
with the invoice pipeline.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


# -- setup ---------------------------------------------------------------------------------------


def _start_server() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "governed_agents.testing.scripted_model_server", "--port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    line = process.stdout.readline().strip()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the scripted model server did not start: {line!r}")
    return process, line.rsplit(" ", 1)[-1]


def _ledger(db_url: str | None, home: Path):
    from governed_agents.ledger import Ledger

    return Ledger.open(db_url or f"sqlite:///{home / 'bench-ledger.sqlite3'}")


def _envelope():
    import yaml

    from governed_agents.envelope import load_envelope_text

    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    return load_envelope_text(yaml.safe_dump(data), "bench-envelope.yaml")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ms ({min(values):.2f}–{max(values):.2f})"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- overhead ------------------------------------------------------------------------------------


def _count_litellm_logging():
    """A semaphore released each time litellm's background success logging of a call finishes."""
    import threading

    from litellm.litellm_core_utils import litellm_logging

    done = threading.Semaphore(0)
    original = litellm_logging.Logging.success_handler

    def counted(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        finally:
            done.release()

    litellm_logging.Logging.success_handler = counted
    return done


# The raw figures of the last bench_overhead / bench_cost call, for run() (benchmarks/run_all.py).
RAW: dict = {}


def bench_overhead(calls: int, repeats: int, db_url: str | None) -> str:
    from governed_agents.executor import TaskContext
    from governed_agents.routing import ModelGateway, load_catalog_text
    from governed_agents.routing import _litellm

    litellm = _litellm.load()
    process, api_base = _start_server()
    home = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    os.environ["GOVERNED_AGENTS_HOME"] = str(home)
    try:
        catalog = load_catalog_text(
            "defaults: {max_retries: 0, timeout_s: 30, max_output_tokens: 256}\n"
            "models:\n" + "".join(
                f"  {alias}:\n    model: openai/bench\n    api_base: {api_base}\n    params: {{api_key: scripted}}\n"
                "    input_usd_per_1k: 0.00015\n    output_usd_per_1k: 0.0006\n"
                for alias in ("small-fast", "safe-medium", "frontier")), "bench-catalog.yaml")
        ledger = _ledger(db_url, home)
        gateway = ModelGateway(ledger, catalog)  # cache on: every call is a miss (unique messages)
        envelope = _envelope()

        run = os.urandom(4).hex()  # a ledger given by --db-url may hold earlier runs' cache entries

        def messages(n: int) -> list[dict]:
            return [{"role": "system", "content": "Classify the invoice exception. Answer in JSON."},
                    {"role": "user", "content": f"item {run}-{n}: the unit price is higher than agreed on the PO"}]

        def direct(n: int) -> None:
            litellm.completion(model="openai/bench", api_base=api_base, api_key="scripted", messages=messages(n),
                               max_tokens=256, timeout=30, max_retries=0, temperature=0)

        own: list[float] = []

        def governed(n: int) -> None:
            task = TaskContext(envelope=envelope, requested_by="alice", tenant="acme")
            result = gateway.complete(task, "router", messages(n))
            own.append(result.latency_ms - sum(a.latency_ms for a in result.attempts))

        for n in range(20):  # warm both paths (connections, compiled statements)
            direct(-n - 1)
            governed(-n - 1000)
        counter = 0
        logged = _count_litellm_logging()

        def measure(include_logging: bool) -> dict:
            nonlocal counter
            own.clear()
            out = {"p50_a": [], "p50_b": [], "p50_d": [], "p90_a": [], "p90_b": [], "own": []}
            for _ in range(repeats):
                a, b = [], []
                for _ in range(calls):
                    for path, sink in ((direct, a), (governed, b)):
                        counter += 1
                        while logged.acquire(blocking=False):
                            pass  # forget earlier calls' logging
                        t0 = time.perf_counter()
                        path(counter)
                        if include_logging:
                            logged.acquire(timeout=5)
                        sink.append((time.perf_counter() - t0) * 1000)
                        if not include_logging:
                            logged.acquire(timeout=5)  # start the next call from a quiet process
                out["p50_a"].append(statistics.median(a))
                out["p50_b"].append(statistics.median(b))
                out["p50_d"].append(statistics.median(b) - statistics.median(a))
                out["p90_a"].append(_pct(a, 0.9))
                out["p90_b"].append(_pct(b, 0.9))
            out["own"] = list(own)
            return out

        with_logging = measure(True)
        raw = measure(False)
        canned = _canned_path(gateway, envelope, messages, calls * repeats)
        backend = ledger.dialect
        RAW["overhead"] = {"with_logging": with_logging, "raw": raw, "canned": canned, "backend": backend}
    finally:
        process.terminate()
        process.wait(5)
    lines = [
        f"Gateway overhead per call ({backend} ledger, {repeats} repeats × {calls} calls per path, "
        f"Python {platform.python_version()}, litellm {_litellm_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end):",
        "",
        "| measure | direct `litellm.completion` | through `ModelGateway.complete` | difference |",
        "|---|---|---|---|",
    ]
    for label, run in (("each including litellm's logging of its call", with_logging),
                       ("raw, as the caller's clock sees it", raw)):
        lines += [
            f"| p50 latency, {label} | {_spread(run['p50_a'])} | {_spread(run['p50_b'])} | "
            f"**{_spread(run['p50_d'])}** |",
            f"| p90 latency, {label} | {_spread(run['p90_a'])} | {_spread(run['p90_b'])} | |",
            f"| gateway's own time (wall time minus the litellm attempt), {label} | | "
            f"p50 {statistics.median(run['own']):.2f} ms, p90 {_pct(run['own'], 0.9):.2f} ms | |",
        ]
    lines.append(f"| the gateway path alone: the provider call replaced by a canned response (no litellm, "
                 f"no HTTP), p50 | | {statistics.median(canned):.2f} ms (p90 {_pct(canned, 0.9):.2f} ms) | |")
    return "\n".join(lines)


def _canned_path(gateway, envelope, messages, calls: int) -> list[float]:
    """Time ``complete`` with ``_attempt`` answering a canned response: the gateway's own work only."""
    from governed_agents.executor import TaskContext
    from governed_agents.routing import _litellm
    from governed_agents.routing.gateway import Attempt, ModelGateway

    litellm = _litellm.load()
    response = litellm.ModelResponse(
        model="bench", choices=[{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": '{"label": "price_mismatch"}'}}],
        usage={"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48})

    def canned(self, plan, tools, options):
        return response, [Attempt(plan.tier, plan.model.alias, plan.model.model, "ok", 200, None, 0.0)], None, None

    original = ModelGateway._attempt
    ModelGateway._attempt = canned
    try:
        times = []
        for n in range(calls):
            task = TaskContext(envelope=envelope, requested_by="alice", tenant="acme")
            t0 = time.perf_counter()
            gateway.complete(task, "router", messages(10_000_000 + n))
            times.append((time.perf_counter() - t0) * 1000)
        return times
    finally:
        ModelGateway._attempt = original


def _litellm_version() -> str:
    from importlib.metadata import version

    return version("litellm")


# -- cost per completed task ------------------------------------------------------------------------

_FREE_TEXT = [
    "as per our order {po} of March",
    "Invoice for goods delivered under purchase order {po}.",
    "Please find attached our invoice relating to your order no. {po}",
    "Delivery note 88{n:03d}; your PO: {po}; payment within 30 days",
    "Bestellung {po} vom 3.3., Lieferung vollständig",
    "Our reference {po}. Thank you for your business.",
]
_AMBIGUOUS = [
    "order {po}, replacing {old} (cancelled)",
    "PO {old} was cancelled, please use order {po} instead",
    "replaces PO {old}; new order {po}",
]
_NONE = [
    "Thank you for your business, kind regards",
    "Invoice 88{n:03d} for consulting services in February",
]


def make_batch(items: int, *, rules_share: float, ambiguous_share: float, none_share: float,
               seed: int = 7) -> list[dict]:
    """Synthetic extraction items with the truth attached: ``{"text", "po_field", "truth", "kind"}``."""
    rng = random.Random(seed)
    batch = []
    for n in range(items):
        po, old = str(4500000 + rng.randrange(100000)), str(4500000 + rng.randrange(100000))
        draw = rng.random()
        if draw < rules_share:
            kind = "structured"
            text = rng.choice(["PO {po}", "{po}", "PO#{po}", "Purchase order {po}"]).format(po=po)
            item = {"text": text, "po_field": None, "truth": po}
        elif draw < rules_share + ambiguous_share:
            kind = "ambiguous"
            item = {"text": rng.choice(_AMBIGUOUS).format(po=po, old=old), "po_field": None, "truth": po}
        elif draw < rules_share + ambiguous_share + none_share:
            kind = "none"
            item = {"text": rng.choice(_NONE).format(n=n % 1000), "po_field": None, "truth": None}
        else:
            kind = "free_text"
            item = {"text": rng.choice(_FREE_TEXT).format(po=po, n=n % 1000), "po_field": None, "truth": po}
        item["kind"] = kind
        batch.append(item)
    return batch


def _run_batch(batch: list[dict], strategy: str, home: Path) -> dict:
    from governed_agents.executor import TaskContext
    from governed_agents.ledger import Ledger
    from governed_agents.routing import ModelGateway, find_po_reference, record_task_outcome, spend_report
    from governed_agents.routing.extraction import SYSTEM_PROMPT

    ledger = Ledger.open(f"sqlite:///{home / f'cost-{strategy}.sqlite3'}")
    gateway = ModelGateway(ledger, REPO / "policies" / "models.yaml", cache=False)
    envelope = _envelope()
    answers, settled_by = [], {"rules": 0, "router": 0, "reasoning": 0}
    started = time.perf_counter()
    for item in batch:
        task = TaskContext(envelope=envelope, requested_by="alice", tenant="acme")
        if strategy == "routed":
            found = find_po_reference(gateway, task, item["text"], po_field=item["po_field"])
            answers.append(found.po_reference)
            settled_by[found.settled_by] += 1
        else:
            result = gateway.complete(task, "reasoning", [{"role": "system", "content": SYSTEM_PROMPT},
                                                          {"role": "user", "content": item["text"]}],
                                      response_format={"type": "json_object"})
            answers.append(result.json()["po_reference"])
            settled_by["reasoning"] += 1
        record_task_outcome(ledger, task, "completed")
    seconds = time.perf_counter() - started
    totals = spend_report(ledger)["totals"]
    return {"answers": answers, "settled_by": settled_by, "totals": totals, "seconds": seconds}


def bench_cost(items: int, mixes: list[tuple[float, float, float]]) -> str:
    from governed_agents.routing import _litellm

    _litellm.load()  # not inside the first timed run
    home = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    os.environ["GOVERNED_AGENTS_HOME"] = str(home)
    sections = []
    summary = ["| batch mix (rules-settleable / free text / ambiguous / no reference) | routed: USD per completed "
               "task | all-reasoning: USD per completed task | cheaper by | identical outcomes |",
               "|---|---|---|---|---|"]
    for index, (rules, ambiguous, none) in enumerate(mixes):
        batch = make_batch(items, rules_share=rules, ambiguous_share=ambiguous, none_share=none)
        counts = {k: sum(1 for i in batch if i["kind"] == k) for k in ("structured", "free_text", "ambiguous", "none")}
        home_b = home / f"mix{index}"
        home_b.mkdir(exist_ok=True)
        routed = _run_batch(batch, "routed", home_b)
        direct = _run_batch(batch, "reasoning", home_b)
        same = sum(1 for a, b in zip(routed["answers"], direct["answers"]) if a == b)
        right_a = sum(1 for a, i in zip(routed["answers"], batch) if a == i["truth"])
        right_b = sum(1 for b, i in zip(direct["answers"], batch) if b == i["truth"])
        per_a = Decimal(routed["totals"]["cost_per_completed_task_usd"] or "0")
        per_b = Decimal(direct["totals"]["cost_per_completed_task_usd"])
        ratio = per_b / per_a if per_a else Decimal("Infinity")
        mix_text = "/".join(str(counts[k]) for k in ("structured", "free_text", "ambiguous", "none"))
        RAW.setdefault("cost", []).append((f"{mix_text} of {items}", per_a, per_b, same))
        summary.append(f"| {mix_text} of {items} | {per_a:.8f} | {per_b:.8f} | **{ratio:.1f}×** | "
                       f"{same}/{items} |")
        if index == 0:
            sections += [
                f"Default mix, {items} items ({mix_text} structured / free text / ambiguous / no reference; "
                "seed 7), default catalog (offline stand-in, illustrative list prices):",
                "",
                "| strategy | settled by rules / router / reasoning | model calls | total USD | USD per completed task "
                "| correct vs truth | wall time |",
                "|---|---|---|---|---|---|---|",
                f"| routed (rules → router → reasoning when unsure) | {routed['settled_by']['rules']} / "
                f"{routed['settled_by']['router']} / {routed['settled_by']['reasoning']} | "
                f"{routed['totals']['model_calls']} | {Decimal(routed['totals']['cost_usd']):.6f} | {per_a:.8f} | "
                f"{right_a}/{items} | {routed['seconds']:.1f} s |",
                f"| every item to the reasoning tier | 0 / 0 / {items} | {direct['totals']['model_calls']} | "
                f"{Decimal(direct['totals']['cost_usd']):.6f} | {per_b:.8f} | {right_b}/{items} | "
                f"{direct['seconds']:.1f} s |",
                "",
                f"Routing is **{ratio:.1f}× cheaper** per completed task; outcomes identical on {same}/{items} items.",
                "",
            ]
    sections += ["Sensitivity to the batch mix (same seed, same sizes):", "", *summary]
    return "\n".join(sections)


def run(quick: bool) -> list:
    """Rows for benchmarks/run_all.py: gateway vs direct litellm (p50 per call), routed vs all-reasoning cost."""
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.run_all import Row, summarise

    calls, repeats, items = (40, 3, 80) if quick else (200, 5, 400)
    bench_overhead(calls, repeats, None)
    over = RAW["overhead"]
    rows = [summarise("gateway", f"p50 per call, {label} ({over['backend']} ledger)", over[key]["p50_b"],
                      over[key]["p50_a"], "ms", baseline_name="direct litellm.completion",
                      note=f"{calls} calls per path per repeat, alternated")
            for key, label in (("with_logging", "with litellm's logging"), ("raw", "caller's clock"))]
    mixes = [(0.60, 0.04, 0.04)] if quick else [(0.60, 0.04, 0.04), (0.40, 0.08, 0.06), (0.20, 0.15, 0.10)]
    bench_cost(items, mixes)
    for mix, routed, direct, same in RAW["cost"]:
        rows.append(Row("gateway", f"cost per completed task, mix {mix}", float(routed) * 1e6, float(direct) * 1e6,
                        "µUSD",
                        float(routed / direct) if direct else None, "deterministic (seeded batch, offline model)",
                        1, "every item to the reasoning tier", note=f"outcomes identical on {same}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--part", choices=["overhead", "cost", "both"], default="both")
    parser.add_argument("--calls", type=int, default=200, help="calls per path per repeat (overhead)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats (overhead)")
    parser.add_argument("--items", type=int, default=400, help="batch size (cost)")
    parser.add_argument("--db-url", help="ledger URL for the overhead run (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    out = []
    if args.part in ("overhead", "both"):
        out.append(bench_overhead(args.calls, args.repeats, args.db_url))
    if args.part in ("cost", "both"):
        mixes = [(0.60, 0.04, 0.04), (0.40, 0.08, 0.06), (0.20, 0.15, 0.10)]
        out.append(bench_cost(args.items, mixes))
    print("\n\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
