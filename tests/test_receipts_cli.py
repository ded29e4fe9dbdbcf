"""``governed-agents receipts …``; ``verify`` as an auditor would run it: a separate process
with only the exported file and the public key file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from governed_agents.cli.main import main
from governed_agents.identity.keys import key_id, public_key, public_key_pem, signing_key
from governed_agents.ledger.db import Ledger
from governed_agents.receipts.examples import example_receipt
from governed_agents.receipts.signing import export_bytes, sign_receipt
from governed_agents.receipts.store import store_receipt


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def stored():
    """Two receipts in the default ledger of the isolated home."""
    ledger = Ledger.open()
    out = []
    for rid, workflow in [("11111111-aaaa", "invoice_reconcile"), ("22222222-bbbb", "vendor_onboarding")]:
        event = ledger.append("tool.write_executed", {}, workflow=workflow, trace_id=f"trace-{rid[:2]}")
        receipt = example_receipt(receipt_id=rid, workflow=workflow, trace_id=f"trace-{rid[:2]}",
                                  audit_anchor={"seq": event.seq, "hash": event.hash})  # fmt: skip
        signed = sign_receipt(receipt, signing_key())
        store_receipt(ledger, signed)
        out.append(signed)
    yield out
    ledger.dispose()


def _auditor(tmp_path, argv, *, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNED_AGENTS_")}
    env["GOVERNED_AGENTS_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "governed_agents.cli.main", *argv],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_list(capsys, stored):
    code, out, _ = _run(capsys, "receipts", "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("22222222-bbbb  write_executed  write executed in vendor_onboarding")
    assert lines[1].startswith("11111111-aaaa")
    code, out, _ = _run(capsys, "receipts", "list", "--workflow", "invoice_reconcile", "--json")
    data = json.loads(out)
    assert [r["receipt_id"] for r in data["receipts"]] == ["11111111-aaaa"]
    assert data["receipts"][0]["key_id"] == key_id(public_key())
    code, out, _ = _run(capsys, "receipts", "list", "--trace", "trace-22", "--limit", "5", "--json")
    assert [r["receipt_id"] for r in json.loads(out)["receipts"]] == ["22222222-bbbb"]
    code, _, err = _run(capsys, "receipts", "list", "--limit", "0")
    assert code == 2 and "--limit" in err


def test_list_empty(capsys):
    code, out, _ = _run(capsys, "receipts", "list")
    assert code == 0 and out.strip() == "no receipts"


def test_show_markdown_and_json(capsys, stored):
    code, out, _ = _run(capsys, "receipts", "show", "111111")
    assert code == 0
    assert out.startswith("# Receipt: write executed — `invoice_reconcile`")
    assert f"by key `{key_id(public_key())}`: verified" in out
    code, out2, _ = _run(capsys, "receipts", "show", "11111111-aaaa", "--markdown")
    assert out2 == out
    code, out, _ = _run(capsys, "receipts", "show", "11111111-aaaa", "--json")
    data = json.loads(out)
    assert data["verified"] is True and data["receipt"]["receipt_id"] == "11111111-aaaa"
    assert data["signature"] == stored[0].signature
    code, _, err = _run(capsys, "receipts", "show", "nope-nope")
    assert code == 1 and "no receipt 'nope-nope'" in err


def test_show_reports_a_receipt_that_does_not_verify(capsys, stored, tmp_path, monkeypatch):
    # Another installation key: the stored signature no longer matches it.
    from governed_agents import config

    ledger_url = config.ledger_url()
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", ledger_url)
    monkeypatch.setenv("GOVERNED_AGENTS_HOME", str(tmp_path / "other-home"))
    code, out, err = _run(capsys, "receipts", "show", "11111111-aaaa")
    assert code == 1
    assert "**NOT VERIFIED**" in out
    assert "does NOT verify" in err


def test_export_is_the_exact_bytes(capsys, stored, tmp_path):
    target = tmp_path / "r.json"
    code, _, err = _run(capsys, "receipts", "export", "11111111-aaaa", "--output", str(target))
    assert code == 0 and "wrote receipt 11111111-aaaa" in err
    assert target.read_bytes() == export_bytes(stored[0])


def test_export_to_stdout(capsysbinary, stored):
    code = main(["receipts", "export", "22222222-bbbb"])
    assert code == 0
    assert capsysbinary.readouterr().out == export_bytes(stored[1])


def test_public_key(capsys):
    code, out, _ = _run(capsys, "receipts", "public-key")
    assert code == 0 and out == public_key_pem(public_key())
    code, out, _ = _run(capsys, "receipts", "public-key", "--json")
    assert json.loads(out)["key_id"] == key_id(public_key())


def test_offline_verify_as_a_separate_process(capsys, stored, tmp_path, _isolated_home):
    # The operator exports a receipt and hands the auditor two files.
    audit_dir = tmp_path / "auditor"
    audit_dir.mkdir()
    _run(capsys, "receipts", "export", "11111111-aaaa", "--output", str(audit_dir / "receipt.json"))
    shutil.copy(_isolated_home / "keys" / "signing.pub", audit_dir / "issuer.pub")
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()

    ok = _auditor(audit_dir, ["receipts", "verify", "receipt.json", "--public-key", "issuer.pub"], home=empty_home)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"receipt 11111111-aaaa verified (key {key_id(public_key())})"
    # No private key, no ledger was touched or created by the auditor's process.
    assert sorted(p.name for p in empty_home.rglob("*")) == []

    as_json = _auditor(audit_dir, ["receipts", "verify", "receipt.json", "--public-key", "issuer.pub", "--json"],
                       home=empty_home)  # fmt: skip
    data = json.loads(as_json.stdout)
    assert data["verified"] is True and data["digest"] == stored[0].receipt.digest()

    # One changed byte: refused with the reason, exit 1.
    data = (audit_dir / "receipt.json").read_bytes()
    tampered = data.replace(b'"amount":"1234.50"', b'"amount":"9234.50"')
    assert tampered != data
    (audit_dir / "tampered.json").write_bytes(tampered)
    bad = _auditor(audit_dir, ["receipts", "verify", "tampered.json", "--public-key", "issuer.pub"], home=empty_home)
    assert bad.returncode == 1
    assert "tampered.json does not verify" in bad.stderr and "signature" in bad.stderr
    assert "Traceback" not in bad.stderr

    # The wrong public key: refused, naming both key ids.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    (audit_dir / "other.pub").write_text(public_key_pem(Ed25519PrivateKey.generate()))
    wrong = _auditor(audit_dir, ["receipts", "verify", "receipt.json", "--public-key", "other.pub"], home=empty_home)
    assert wrong.returncode == 1 and "signed by key" in wrong.stderr

    # Default key location is the (empty) home: a clear message, exit 1.
    missing = _auditor(audit_dir, ["receipts", "verify", "receipt.json"], home=empty_home)
    assert missing.returncode == 1
    assert "public key file not found" in missing.stderr and "--public-key" in missing.stderr


def test_verify_default_public_key_in_home(capsys, stored, tmp_path):
    target = tmp_path / "r.json"
    _run(capsys, "receipts", "export", "22222222-bbbb", "--output", str(target))
    code, out, _ = _run(capsys, "receipts", "verify", str(target))
    assert code == 0 and "receipt 22222222-bbbb verified" in out
    code, _, err = _run(capsys, "receipts", "verify", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read receipt file" in err


def test_group_without_subcommand_is_usage(capsys):
    code, _, err = _run(capsys, "receipts")
    assert code == 2 and "verify" in err
