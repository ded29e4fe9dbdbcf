"""``governed-agents token issue|inspect``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from governed_agents.cli.main import main
from governed_agents.identity.tokens import verify_token


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_issue_prints_a_token_that_verifies(capsys):
    code, out, _ = _run(capsys, "token", "issue", "--principal", "bob", "--action", "approval.approve",
                        "--workflow", "invoice_reconcile", "--ttl", "2h")  # fmt: skip
    assert code == 0
    token = out.strip()
    claims = verify_token(token, action="approval.approve", workflow="invoice_reconcile")
    assert (claims.expires_at - claims.issued_at).total_seconds() == 7200


def test_issue_json(capsys):
    code, out, _ = _run(capsys, "token", "issue", "--principal", "dana", "--action", "audit.read",
                        "--action", "receipt.read", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["principal"] == "dana"
    assert data["actions"] == ["audit.read", "receipt.read"]
    assert data["workflows"] == ["*"]
    assert data["env"] == "test"
    assert data["expires_at"].endswith("Z")
    claims = verify_token(data["token"], action="receipt.read", workflow="x")
    assert claims.token_id == data["token_id"]


@pytest.mark.parametrize(
    "argv, code, text",
    [
        (["--principal", "bob", "--action", "approval.approve", "--ttl", "99x"], 2, "not a duration"),
        (["--principal", "bob", "--action", "approval.approve", "--ttl", "0m"], 2, "longer than zero"),
        (["--principal", "bob", "--action", "approval.approve", "--ttl", "13h"], 1, "ttl_invalid"),
        (["--principal", "alice", "--action", "approval.approve"], 1, "principal_lacks_role"),
        (["--principal", "nobody", "--action", "approval.read"], 1, "principal_unknown"),
        (["--principal", "bob", "--action", "approval.nuke"], 1, "action_unknown"),
    ],
)
def test_issue_refusals_and_usage_errors(capsys, argv, code, text):
    rc, out, err = _run(capsys, "token", "issue", *argv)
    assert rc == code
    assert text in err
    assert out == ""
    assert "Traceback" not in err


def test_issue_refusal_json(capsys):
    rc, out, _ = _run(capsys, "token", "issue", "--principal", "alice", "--action", "approval.approve", "--json")
    assert rc == 1
    data = json.loads(out)
    assert data["ok"] is False and data["details"]["code"] == "principal_lacks_role"


def test_inspect_shows_claims(capsys):
    _, token, _ = _run(capsys, "token", "issue", "--principal", "bob", "--action", "approval.approve",
                       "--workflow", "invoice_reconcile")  # fmt: skip
    code, out, _ = _run(capsys, "token", "inspect", token.strip())
    assert code == 0
    assert "principal:  bob (Bob Controller)" in out
    assert "action:     approval.approve" in out
    assert "workflows:  invoice_reconcile" in out
    code, out, _ = _run(capsys, "token", "inspect", token.strip(), "--json")
    data = json.loads(out)
    assert data["valid"] is True and data["roles"] == ["FinanceAdmin"]


def test_inspect_reports_why_invalid(capsys, monkeypatch):
    _, token, _ = _run(capsys, "token", "issue", "--principal", "bob", "--action", "approval.approve",
                       "--workflow", "invoice_reconcile")  # fmt: skip
    code, _, err = _run(capsys, "token", "inspect", token.strip(), "--action", "approval.approve", "--workflow", "other")
    assert code == 1 and "token_wrong_workflow" in err
    code, _, err = _run(capsys, "token", "inspect", token.strip()[:-4] + "AAAA")
    assert code == 1 and "token_forged" in err
    code, _, err = _run(capsys, "token", "inspect", token.strip(), "--env", "prod")
    assert code == 1 and "token_wrong_environment" in err
    code, _, err = _run(capsys, "token", "inspect")
    assert code == 1 and "token_missing" in err and "token issue" in err
    monkeypatch.setenv("GOVERNED_AGENTS_TOKEN", token.strip())
    code, out, _ = _run(capsys, "token", "inspect")
    assert code == 0 and "valid token" in out


def test_group_without_subcommand_is_usage(capsys):
    code, _, err = _run(capsys, "token")
    assert code == 2 and "issue" in err


def test_cli_module_imports_are_light():
    probe = (
        "import sys, governed_agents.cli.token, governed_agents.cli.receipts;"
        "heavy = [m for m in ('jwt', 'cryptography', 'pydantic', 'yaml', 'sqlalchemy') if m in sys.modules];"
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
