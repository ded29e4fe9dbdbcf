"""The public ERP CSV contract: what loads, what is refused (naming file, line, column),
and that a refused import leaves every table exactly as it was — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from governed_agents.erp.connector import erp_engine
from governed_agents.erp.csv_contract import (
    INVOICE_COLUMNS,
    BatchAlreadyLoaded,
    CsvRefused,
    load_csv_dir,
    load_invoices_csv,
)
from governed_agents.erp.schema import goods_receipts, invoice_lines, metadata, purchase_order_lines, vendors
from governed_agents.errors import GovernanceError

CLI = str(Path(sys.executable).parent / "governed-agents")

VENDORS = "vendor_id,name,tax_id,iban,currency,status\nV1,Acme GmbH,DE1,DE89370400440532013000,EUR,active\n" \
          "V2,Blocked Ltd,GB2,,GBP,blocked\n"
POS = "po_number,vendor_id,currency,line_no,sku,description,quantity,unit_price\n" \
      "PO-1,V1,EUR,1,S1,Bolts,10,1.50\nPO-1,V1,EUR,2,S2,Nuts,5,0.25\n"
GRS = "po_number,line_no,quantity_received,received_date\nPO-1,1,6,2025-01-10\nPO-1,1,4,2025-01-12\n"
CONTACTS = "vendor_id,name,email,role\nV1,Jan Kowalski,jan@acme.example,owner\nV1,Ewa Nowak,,accounts receivable\n"
INVOICES = ",".join(INVOICE_COLUMNS) + "\n" + \
    "I1,Acme GmbH,DE1,N1,2025-02-01,EUR,PO-1,1,S1,Bolts,10,1.50,15.00,Please pay by Friday\n" \
    "I1,Acme GmbH,DE1,N1,2025-02-01,EUR,PO-1,2,S2,Nuts,5,0.25,1.25,Please pay by Friday\n"


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (folder / f"{name}.csv").write_bytes(data)
    return folder


def all_rows(engine) -> dict:
    with engine.connect() as c:
        return {name: sorted(tuple(str(v) for v in r) for r in c.execute(select(t))) for name, t in metadata.tables.items()}


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        return erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    return erp_engine(request.getfixturevalue("pg_url"))


def test_loads_all_four_files_in_one_import(tmp_path, engine):
    report = load_csv_dir(write(tmp_path / "d", vendors=VENDORS, purchase_orders=POS, goods_receipts=GRS,
                                invoices=INVOICES), engine)
    assert report.loaded == ["vendors.csv", "purchase_orders.csv", "goods_receipts.csv", "invoices.csv"]
    assert report.absent == ["vendor_contacts.csv"] and report.invoice_lines == 2 and report.batch_id
    with engine.connect() as c:
        assert c.execute(select(vendors.c.status).where(vendors.c.vendor_id == "V2")).scalar() == "blocked"
        assert c.execute(select(vendors.c.iban).where(vendors.c.vendor_id == "V2")).scalar() is None
        assert len(c.execute(select(goods_receipts)).fetchall()) == 2
        rows = c.execute(select(invoice_lines).order_by(invoice_lines.c.id)).mappings().all()
    assert [r["source_row"] for r in rows] == [2, 3]
    assert rows[0]["memo"] == "Please pay by Friday" and rows[0]["import_batch"] == report.batch_id


def test_vendor_contacts_load_into_the_master_and_feed_the_redaction_of_names(tmp_path, engine):
    # A sole trader: the owner is a contact, and the trading name holds the owner's name.
    from governed_agents.erp.people import known_names, person_names
    from governed_agents.erp.schema import vendor_contacts
    from governed_agents.safety.pii import redact

    report = load_csv_dir(write(tmp_path / "d", vendors=VENDORS.replace("Acme GmbH", "Jan Kowalski Transport"),
                                vendor_contacts=CONTACTS), engine)
    assert report.loaded == ["vendors.csv", "vendor_contacts.csv"]
    with engine.connect() as c:
        assert c.execute(select(vendor_contacts.c.role).where(vendor_contacts.c.name == "Ewa Nowak")).scalar() \
            == "accounts receivable"
    assert person_names(engine) == ["Ewa Nowak", "Jan Kowalski"]
    text = "Invoice from Jan Kowalski Transport; thanks, Ewa Nowak"
    assert "Kowalski" in redact(text) and "Nowak" in redact(text)  # by pattern alone: bare names pass
    safe = redact(text, known_names=known_names(engine))
    assert "Kowalski" not in safe and "Nowak" not in safe and "Transport" in safe
    # loading the same file again changes nothing (upsert by vendor and name)
    again = load_csv_dir(write(tmp_path / "d2", vendor_contacts=CONTACTS), engine)
    assert again.files[0].updated == 2 and again.files[0].inserted == 0


def test_absent_files_are_named_and_only_present_ones_load(tmp_path, engine):
    report = load_csv_dir(write(tmp_path / "d", invoices=INVOICES), engine)
    assert report.loaded == ["invoices.csv"]
    assert report.absent == ["vendors.csv", "vendor_contacts.csv", "purchase_orders.csv", "goods_receipts.csv"]
    with pytest.raises(CsvRefused, match="holds none of the contract files"):
        load_csv_dir(write(tmp_path / "empty"), engine)


CASES = [
    # (file, content, line, column, words in the problem)
    ("invoices", INVOICES.replace(",memo\n", "\n", 1), 1, "memo", "missing from the header"),
    ("vendors", "vendor_id,name,tax_id,iban,currency\nV9,X,T9,,EUR\n", 1, "status", "missing"),
    ("invoices", INVOICES + "I2,Acme GmbH,DE1,N2,2025-02-01,EUR,PO-1,1,S1,Bolts,10,1.50,15.00\n", 4, "memo",
     "the row has 13 fields, the header 14"),
    ("invoices", INVOICES + "I2,Acme,DE1,N2,2025-02-01,EUR,PO-1,1,S1,Bolts, 1,000,10,1.50,x\n", 4,
     "#15 (beyond the header's 14 columns)", "has 15 fields"),
    ("invoices", INVOICES.encode() + b"I3,Acme,DE1,N3,2025-02-01,EUR,PO-1,1,S1,Bo\xfflts,1,1,1,\n", 4,
     "description", "not UTF-8"),
    ("invoices", INVOICES + 'I4,Acme,DE1,N4,2025-02-01,EUR,PO-1,1,S1,"Bolts" x,1,1,1,\n', 4, "description",
     "cannot be parsed as CSV"),
    ("invoices", INVOICES + 'I5,Acme,DE1,N5,2025-02-01,EUR,PO-1,1,S1,Bolts,1,1,1,"never closed\n', 4, "memo",
     "cannot be parsed"),
    ("vendors", VENDORS + "V3,Other,T3,,EURO,active\n", 4, "currency", "not an ISO 4217 currency code"),
    ("vendors", VENDORS + "V3,Other,T3,,EUR,dormant\n", 4, "status", "not a vendor status"),
    ("vendors", VENDORS + "V1,Again,T4,,EUR,active\n", 4, "vendor_id", "appears twice in the file"),
    ("purchase_orders", POS + "PO-2,V1,EUR,1,S1,x,ten,1\n", 4, "quantity", "is not a number"),
    ("purchase_orders", POS + "PO-1,V2,EUR,3,S1,x,1,1\n", 4, "vendor_id", "all lines of one PO must agree"),
    ("purchase_orders", POS + "PO-2,V1,EUR,1,S1,x,1,1.00001\n", 4, "unit_price", "does not fit"),
    ("goods_receipts", GRS + "PO-1,2,1,12/01/2025\n", 4, "received_date", "YYYY-MM-DD"),
    ("goods_receipts", GRS + "PO-1,zero,1,2025-01-01\n", 4, "line_no", "not a line number"),
    ("vendor_contacts", CONTACTS + "V9,Ann Lee,,\n", 4, "vendor_id", "not in the vendor master"),
    ("vendor_contacts", CONTACTS + "V1,Ewa  Nowak,,\n", 4, "name", "appears twice"),
    ("vendor_contacts", CONTACTS + "V1,Ann Lee,ann at example,\n", 4, "email", "not an e-mail address"),
    ("vendor_contacts", "vendor_id,name,email\nV1,Ann Lee,\n", 1, "role", "missing"),
]


def _check_refusal(engine, folder: Path, name, content, line, column, problem) -> None:
    files = {"vendors": VENDORS.replace("Acme GmbH", "Acme AG"), "vendor_contacts": CONTACTS,
             "purchase_orders": POS.replace("1.50", "1.60"), "goods_receipts": GRS, "invoices": INVOICES}
    files[name] = content
    before = all_rows(engine)
    with pytest.raises(CsvRefused) as info:
        load_csv_dir(write(folder, **files), engine)
    error = info.value
    assert isinstance(error, GovernanceError)
    assert (error.file, error.line, error.column) == (f"{name}.csv", line, column)
    assert problem in error.problem
    assert str(error).startswith(f"{name}.csv:{line}: column {column!r}: ")
    assert error.details["file"] == f"{name}.csv" and error.details["line"] == line
    # Every file before the bad one was read and written inside the transaction; none of it stays.
    assert all_rows(engine) == before


@pytest.mark.parametrize("name, content, line, column, problem", CASES)
def test_refusal_names_file_line_and_column_and_loads_nothing(tmp_path, name, content, line, column, problem):
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    # Something is already in the ERP; a refused import must leave it exactly so.
    load_csv_dir(write(tmp_path / "before", vendors=VENDORS, purchase_orders=POS, goods_receipts=GRS,
                       invoices=INVOICES), engine)
    _check_refusal(engine, tmp_path / "bad", name, content, line, column, problem)


def test_refusals_on_postgresql_load_nothing(tmp_path, pg_url):
    engine = erp_engine(pg_url)
    load_csv_dir(write(tmp_path / "before", vendors=VENDORS, purchase_orders=POS, goods_receipts=GRS,
                       invoices=INVOICES), engine)
    for i, case in enumerate(CASES):
        _check_refusal(engine, tmp_path / f"bad{i}", *case)


def test_business_rule_violations_in_invoices_are_loaded_raw(tmp_path, engine):
    bad = ",".join(INVOICE_COLUMNS) + "\n" + \
        "I9,,DE1, N9 ,31/02/2025,EUX,,1,S1,Bolts,-3,abc,99,\n" \
        "I9,,DE1,N9,2025-02-01,EUR,,x,,,,,,\n"
    report = load_csv_dir(write(tmp_path / "d", invoices=bad), engine)
    assert report.invoice_lines == 2
    with engine.connect() as c:
        rows = c.execute(select(invoice_lines).order_by(invoice_lines.c.id)).mappings().all()
    assert rows[0]["invoice_number"] == " N9 " and rows[0]["quantity"] == "-3" and rows[0]["unit_price"] == "abc"
    assert rows[1]["line_no"] == "x" and rows[1]["quantity"] == ""


def test_master_files_upsert_and_receipts_replace_per_po_line(tmp_path, engine):
    load_csv_dir(write(tmp_path / "a", vendors=VENDORS, purchase_orders=POS, goods_receipts=GRS), engine)
    report = load_csv_dir(write(
        tmp_path / "b",
        vendors="vendor_id,name,tax_id,iban,currency,status\nV1,Acme AG,DE1,,EUR,blocked\nV3,New,FR3,,EUR,active\n",
        purchase_orders="po_number,vendor_id,currency,line_no,sku,description,quantity,unit_price\n"
                        "PO-1,V1,EUR,2,S2,Nuts,7,0.30\n",
        goods_receipts="po_number,line_no,quantity_received,received_date\nPO-1,1,3,2025-03-01\n",
    ), engine)
    assert (report.file("vendors.csv").inserted, report.file("vendors.csv").updated) == (1, 1)
    assert (report.file("purchase_orders.csv").inserted, report.file("purchase_orders.csv").updated) == (0, 1)
    assert report.file("goods_receipts.csv").replaced == 2 and report.batch_id is None
    with engine.connect() as c:
        v1 = c.execute(select(vendors).where(vendors.c.vendor_id == "V1")).mappings().one()
        assert (v1["name"], v1["status"], v1["iban"]) == ("Acme AG", "blocked", None)
        lines = c.execute(select(purchase_order_lines.c.line_no, purchase_order_lines.c.quantity)
                          .order_by(purchase_order_lines.c.line_no)).fetchall()
        assert [(n, float(q)) for n, q in lines] == [(1, 10.0), (2, 7.0)]  # line 1 kept, line 2 updated
        receipts = c.execute(select(goods_receipts.c.line_no, goods_receipts.c.quantity_received)).fetchall()
        assert [(n, float(q)) for n, q in receipts] == [(1, 3.0)]
    # Loading the same receipts again changes nothing.
    load_csv_dir(write(tmp_path / "c", goods_receipts=GRS), engine)
    load_csv_dir(write(tmp_path / "c", goods_receipts=GRS), engine)
    with engine.connect() as c:
        assert len(c.execute(select(goods_receipts)).fetchall()) == 2


def test_a_tax_id_held_by_another_vendor_is_refused(tmp_path, engine):
    load_csv_dir(write(tmp_path / "a", vendors=VENDORS), engine)
    before = all_rows(engine)
    with pytest.raises(CsvRefused, match="already belongs to vendor V1") as info:
        load_csv_dir(write(tmp_path / "b", vendors="vendor_id,name,tax_id,iban,currency,status\n"
                                                   "V7,Impostor,DE1,,EUR,active\n"), engine)
    assert (info.value.line, info.value.column) == (2, "tax_id")
    assert all_rows(engine) == before


def test_inbox_file_loads_once_per_batch_id(tmp_path, engine):
    path = tmp_path / "inbox-2025-03-01.csv"
    path.write_text(INVOICES, encoding="utf-8")
    report = load_invoices_csv(path, engine, "inbox:2025-03-01")
    assert report.batch_id == "inbox:2025-03-01" and report.invoice_lines == 2
    assert report.files[0].file == "inbox-2025-03-01.csv" and report.files[0].kind == "invoices.csv"
    before = all_rows(engine)
    with pytest.raises(BatchAlreadyLoaded):
        load_invoices_csv(path, engine, "inbox:2025-03-01")
    with pytest.raises(CsvRefused, match="is not a batch id"):
        load_invoices_csv(path, engine, "no spaces please")
    assert all_rows(engine) == before


def test_header_is_found_by_name_with_bom_case_and_extra_columns(tmp_path):
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    columns = list(INVOICE_COLUMNS)
    columns.reverse()
    text = "\ufeff" + ",".join(c.upper() for c in columns) + ",notes\n" + \
        ",".join(reversed(INVOICES.splitlines()[1].split(","))) + ",whatever\n"
    report = load_csv_dir(write(tmp_path / "d", invoices=text), engine)
    assert report.files[0].ignored_columns == ("notes",)
    with engine.connect() as c:
        row = c.execute(select(invoice_lines)).mappings().one()
    assert row["invoice_id"] == "I1" and row["memo"] == "Please pay by Friday" and row["line_total"] == "15.00"


def test_progress_is_reported_every_100k_rows(tmp_path, monkeypatch):
    import governed_agents.erp.csv_contract as contract

    monkeypatch.setattr(contract, "PROGRESS_EVERY", 2)
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    messages = []
    load_csv_dir(write(tmp_path / "d", purchase_orders=POS, invoices=INVOICES), engine, progress=messages.append)
    assert messages == ["purchase_orders.csv: 2 rows read", "invoices.csv: 2 rows read"]


def test_cli_load_csv_json_and_refusal_exit_codes(tmp_path):
    env = {**os.environ, "GOVERNED_AGENTS_ERP_URL": f"sqlite:///{tmp_path / 'erp.sqlite3'}"}
    good = write(tmp_path / "good", vendors=VENDORS, invoices=INVOICES)
    done = subprocess.run([CLI, "erp", "load-csv", str(good), "--json"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["ok"] and data["loaded"] == ["vendors.csv", "invoices.csv"] and data["invoice_lines"] == 2

    bad = write(tmp_path / "bad", invoices=INVOICES.replace(",memo\n", "\n", 1))
    refused = subprocess.run([CLI, "erp", "load-csv", str(bad)], capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 1
    assert "invoices.csv:1: column 'memo': is missing from the header" in refused.stderr
    assert "Traceback" not in refused.stderr

    human = subprocess.run([CLI, "erp", "load-csv", str(write(tmp_path / "more", goods_receipts=GRS))],
                           capture_output=True, text=True, env=env, timeout=120)
    assert human.returncode == 0 and "not in the directory" in human.stdout
