"""Generated data, loaded into a real ERP (SQLite and PostgreSQL), reconciled end to end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from governed_agents.erp.connector import erp_engine
from governed_agents.erp.csv_contract import load_csv_dir, load_invoices_csv
from governed_agents.erp.generator import generate
from governed_agents.erp.schema import journal_entries
from governed_agents.reconcile import (
    REASON_CODES,
    extract_po_reference_offline,
    load_invoice_lines,
    load_snapshot,
    reconcile,
)


@pytest.fixture
def erp_url(request, tmp_path):
    if getattr(request, "param", "sqlite") == "postgres":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'erp.sqlite3'}"


@pytest.mark.parametrize("erp_url", ["sqlite", "postgres"], indirect=True)
def test_every_reason_code_appears_in_a_generated_batch_reconciled_end_to_end(tmp_path, erp_url):
    counts = generate(tmp_path / "csv", invoices=300, seed=11)
    engine = erp_engine(erp_url)
    report = load_csv_dir(tmp_path / "csv", engine)
    assert report.invoice_lines == counts["invoice_lines"]

    snapshot = load_snapshot(engine)
    lines = load_invoice_lines(engine, report.batch_id)
    assert len(lines) == counts["invoice_lines"]
    result = reconcile(lines, snapshot, po_extractor=extract_po_reference_offline)

    got = result.counts()
    assert all(got[code] > 0 for code in REASON_CODES), got
    # The generator says what each invoice was made to show; reconciliation agrees exactly.
    assert got == counts["expected"]
    assert result.model_calls > 0 and any(o.model_used and o.reason == "matched" for o in result.outcomes)
    for outcome in result.outcomes:
        assert outcome.source_rows, outcome
        assert (outcome.proposal is not None) == (outcome.reason == "matched")


def test_without_the_model_free_text_references_become_no_po(tmp_path):
    counts = generate(tmp_path / "csv", invoices=200, seed=5)
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    report = load_csv_dir(tmp_path / "csv", engine)
    result = reconcile(load_invoice_lines(engine, report.batch_id), load_snapshot(engine))
    assert result.model_calls == 0
    assert not any(o.model_used for o in result.outcomes)
    assert result.counts()["no_po"] > counts["expected"]["no_po"]


def _post(engine, outcome):
    with engine.begin() as c:
        c.execute(journal_entries.insert().values(
            entry_id=f"e-{outcome.invoice_id}", idempotency_key=f"k-{outcome.invoice_id}",
            invoice_id=outcome.proposal["invoice_id"], vendor_id=outcome.proposal["vendor_id"],
            currency=outcome.proposal["currency"], amount=Decimal(outcome.proposal["amount"]),
            debit_account="2110", credit_account="2000", memo="", posted_at=dt.datetime.now(dt.timezone.utc)))


@pytest.mark.parametrize("erp_url", ["sqlite", "postgres"], indirect=True)
def test_posted_invoices_make_a_reload_duplicate_and_count_as_invoiced(tmp_path, erp_url):
    generate(tmp_path / "csv", invoices=60, seed=2)
    engine = erp_engine(erp_url)
    report = load_csv_dir(tmp_path / "csv", engine)
    first = reconcile(load_invoice_lines(engine, report.batch_id), load_snapshot(engine),
                      po_extractor=extract_po_reference_offline)
    matched = [o for o in first.outcomes if o.reason == "matched"]
    for outcome in matched:
        _post(engine, outcome)

    # The same invoices dropped into the inbox again: every posted one is a duplicate now.
    load_invoices_csv(tmp_path / "csv" / "invoices.csv", engine, "again")
    snapshot = load_snapshot(engine)
    assert {o.invoice_id for o in matched} <= snapshot.posted_invoice_ids
    again = reconcile(load_invoice_lines(engine, "again"), snapshot, po_extractor=extract_po_reference_offline)
    by_id = again.by_invoice()
    for outcome in matched:
        assert by_id[outcome.invoice_id].reason == "duplicate_invoice", by_id[outcome.invoice_id].details
    assert again.counts()["matched"] == 0

    # What posted invoices invoiced counts against what was received.
    po = snapshot.purchase_orders[matched[0].po_number]
    assert any(line.invoiced > 0 for line in po.lines)
    assert all(line.invoiced <= line.received for line in po.lines)


def test_load_invoice_lines_keeps_raw_strings_and_load_order(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "invoices.csv").write_text(
        "invoice_id,vendor_name,vendor_tax_id,invoice_number,invoice_date,currency,po_reference,line_no,sku,"
        "description,quantity,unit_price,line_total,memo\n"
        "B,Acme,DE1, N-1 ,31/02/2025,eux,po 1,1,S,d, -3 ,1.5,x,\n"
        "A,Acme,DE1,N-2,2025-01-01,EUR,,1,S,d,1,1,1,\"Please pay, by Friday\"\n", encoding="utf-8")
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    report = load_csv_dir(folder, engine)
    lines = load_invoice_lines(engine, report.batch_id)
    assert [line.invoice_id for line in lines] == ["B", "A"]
    assert lines[0].invoice_number == " N-1 " and lines[0].quantity == " -3 " and lines[0].line_total == "x"
    assert lines[0].source_row == 2 and lines[1].memo == "Please pay, by Friday"
    assert load_invoice_lines(engine, "no-such-batch") == []
