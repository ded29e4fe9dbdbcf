"""The demo-data generator: deterministic, streaming, realistic, in the public contract."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from governed_agents.erp.csv_contract import CONTRACT
from governed_agents.erp.generator import EXCEPTION_RATES, generate
from governed_agents.reconcile import normalize_po_reference
from governed_agents.safety import score_text

CLI = str(Path(sys.executable).parent / "governed-agents")


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    a = generate(tmp_path / "a", invoices=150, seed=42)
    b = generate(tmp_path / "b", invoices=150, seed=42)
    c = generate(tmp_path / "c", invoices=150, seed=43)
    assert a == b
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert digests(tmp_path / "a") != digests(tmp_path / "c")
    assert sorted(digests(tmp_path / "a")) == sorted(CONTRACT)


def test_files_follow_the_contract_and_the_counts_are_right(tmp_path):
    counts = generate(tmp_path, invoices=120, seed=1)
    for name, columns in CONTRACT.items():
        with (tmp_path / name).open(encoding="utf-8", newline="") as f:
            assert tuple(next(csv.reader(f))) == columns
    invoices = rows(tmp_path / "invoices.csv")
    assert len(invoices) == counts["invoice_lines"]
    assert len({r["invoice_id"] for r in invoices}) == counts["invoices"] == 120
    assert len(rows(tmp_path / "vendors.csv")) == counts["vendors"]
    assert len(rows(tmp_path / "purchase_orders.csv")) == counts["purchase_order_lines"]
    assert len(rows(tmp_path / "goods_receipts.csv")) == counts["goods_receipts"]
    assert sum(counts["expected"].values()) == 120


def _iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def test_realistic_vendors_references_receipts_and_memos(tmp_path):
    counts = generate(tmp_path, invoices=1500, seed=9)
    vendors = rows(tmp_path / "vendors.csv")
    assert len({v["tax_id"] for v in vendors}) == len(vendors)
    assert all(_iban_ok(v["iban"]) for v in vendors if v["iban"])
    assert any(not v["iban"] for v in vendors)  # US vendors have no IBAN
    assert {v["status"] for v in vendors} == {"active", "blocked"}
    assert any(not v["name"].isascii() for v in vendors)

    invoices = rows(tmp_path / "invoices.csv")
    references = {r["invoice_id"]: r["po_reference"] for r in invoices}.values()
    shapes = Counter(
        "free text" if normalize_po_reference(ref) is None else
        re.sub(r"\d+", "N", ref) for ref in references if ref
    )
    for shape in ("PO-N", "po N", "P.O. #N", "N", "PON", "Order no. N", "free text"):
        assert shapes[shape] > 0, shapes
    assert counts["free_text_po_references"] > 0

    memos = Counter(r["memo"] for r in invoices)
    assert memos["Remit to the account on file."] > 0 and memos[""] > len(invoices) / 3
    injected = [m for m in memos if score_text(m).score >= 0.7]
    benign = [m for m in memos if m and score_text(m).score < 0.7]
    assert injected and benign
    assert any("Please pay by" in m for m in benign)

    receipts = Counter((r["po_number"], r["line_no"]) for r in rows(tmp_path / "goods_receipts.csv"))
    assert any(n == 2 for n in receipts.values())  # split deliveries
    ordered = {(r["po_number"], r["line_no"]): int(r["quantity"]) for r in rows(tmp_path / "purchase_orders.csv")}
    received: Counter = Counter()
    for r in rows(tmp_path / "goods_receipts.csv"):
        received[(r["po_number"], r["line_no"])] += int(r["quantity_received"])
    assert any(received[k] < q for k, q in ordered.items())  # partial receipts
    assert any(k not in received for k in ordered)  # nothing received yet


def test_every_exception_appears_in_a_small_batch_and_rates_hold_in_a_large_one(tmp_path):
    small = generate(tmp_path / "s", invoices=13, seed=4)
    assert all(small["expected"][code] >= 1 for code in EXCEPTION_RATES), small["expected"]
    large = generate(tmp_path / "l", invoices=6000, seed=4)
    for code, rate in EXCEPTION_RATES.items():
        share = large["expected"][code] / 6000
        assert abs(share - rate) < rate * 0.5 + 0.004, (code, share, rate)


def test_generation_streams_memory_does_not_grow_with_size(tmp_path):
    def peak(n: int) -> int:
        tracemalloc.start()
        generate(tmp_path / str(n), invoices=n, seed=3)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(300), peak(3000)
    assert large < small * 2 + 2_000_000, (small, large)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, invoices=0, seed=1)
    with pytest.raises(ValueError):
        generate(tmp_path, invoices=10, seed="x")  # type: ignore[arg-type]


def test_cli_generate_json(tmp_path):
    env = {**os.environ}
    done = subprocess.run([CLI, "erp", "generate", str(tmp_path / "out"), "--invoices", "25", "--seed", "7", "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] and data["invoices"] == 25 and data["seed"] == 7
    assert sum(data["expected"].values()) == 25
    bad = subprocess.run([CLI, "erp", "generate", str(tmp_path / "x"), "--invoices", "0", "--seed", "1"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "at least 1" in bad.stderr
