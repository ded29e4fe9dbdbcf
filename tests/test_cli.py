"""The command line as a user meets it: startup cost, exit codes, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from governed_agents.cli.main import main

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "governed-agents")


def _run(*args, env=None, input=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=full_env, cwd=REPO,
                          input=input, timeout=300)


def test_help_imports_nothing_heavy():
    """`--help` must stay fast: no litellm, great-expectations, pandas, SQLAlchemy or dagster at start."""
    code = (
        "import sys\n"
        "from governed_agents.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = [m for m in ('litellm', 'great_expectations', 'pandas', 'sqlalchemy', 'dagster', "
        "'pydantic', 'jwt', 'alembic') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_command_has_help(capsys):
    import pytest

    for argv in (["--help"], ["demo", "--help"], ["approvals", "approve", "--help"],
                 ["kill-switch", "on", "--help"], ["audit", "verify", "--help"],
                 ["receipts", "verify", "--help"], ["policy", "validate", "--help"],
                 ["token", "issue", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0, argv
        assert "usage:" in capsys.readouterr().out


def test_bad_usage_exits_2(capsys):
    import pytest

    with pytest.raises(SystemExit) as info:
        main(["approvals", "approve", "--no-such-flag"])
    assert info.value.code == 2
    assert main(["approvals"]) == 2  # a group without a subcommand prints its help


def test_core_demo_runs_end_to_end_as_a_user_would(tmp_path):
    home = tmp_path / "demo-home"
    result = _run("demo", "--core", "--json", env={"GOVERNED_AGENTS_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["audit_ok"] and summary["receipt_verified"]
    assert {r["code"] for r in summary["refusals"]} == {"unregistered_tool", "invalid_input", "token_wrong_action"}
    assert "THE DEMO NOW APPROVES AS bob" in result.stderr
    # the exported receipt verifies offline with the public key alone
    verified = _run("receipts", "verify", summary["receipt_file"],
                    "--public-key", str(home / "keys" / "signing.pub"),
                    env={"GOVERNED_AGENTS_HOME": str(tmp_path / "empty")})
    assert verified.returncode == 0, verified.stdout + verified.stderr
    audit = _run("audit", "verify", env={"GOVERNED_AGENTS_HOME": str(home)})
    assert audit.returncode == 0 and "OK" in audit.stdout
    # a second run on the same home works too (new invoice, chain keeps growing)
    again = _run("demo", "--core", "--json", env={"GOVERNED_AGENTS_HOME": str(home)})
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["audit_events"] > summary["audit_events"]


def test_approvals_cli_flow(tmp_path, capsys):
    """Propose through the executor, then list/show/approve through the CLI with tokens."""
    from governed_agents.envelope import find_envelope
    from governed_agents.executor import TaskContext
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger import Ledger
    from governed_agents.workflows import executor_for

    ex = executor_for("invoice_reconcile", Ledger.open())
    task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by="alice")
    entry = {"invoice_id": "INV-9", "vendor_id": "V001", "currency": "EUR", "amount": "10.00"}
    request = ex.call(task, "erp.create_journal_entry", entry).approval_request

    auditor = issue_token("dana", actions=["approval.read"], workflows=["*"])
    assert main(["approvals", "list", "--status", "pending", "--json", "--token", auditor]) == 0
    listed = json.loads(capsys.readouterr().out)["requests"]
    assert [r["id"] for r in listed] == [request.id]
    assert main(["approvals", "show", request.id, "--token", auditor]) == 0
    shown = capsys.readouterr().out
    assert "debit 2110 GR/IR clearing 10.00 EUR" in shown and "alice" in shown

    # the auditor cannot even hold an approve token, and a reader token does not approve
    assert main(["approvals", "approve", request.id, "--token", auditor]) == 1
    assert "approval.approve" in capsys.readouterr().err  # the refusal names the missing action
    assert main(["token", "issue", "--principal", "dana", "--action", "approval.approve"]) == 1
    capsys.readouterr()

    approver = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    assert main(["approvals", "approve", request.id, "--reason", "ok", "--token", approver]) == 0
    assert "approved" in capsys.readouterr().out
    assert main(["approvals", "approve", request.id, "--token", approver]) == 1
    assert "already approved" in capsys.readouterr().err
    assert main(["audit", "verify"]) == 0


def test_kill_switch_cli_needs_admin_token(capsys):
    from governed_agents.identity.tokens import issue_token

    admin = issue_token("erin", actions=["killswitch.set"], workflows=["*"])
    assert main(["kill-switch", "on", "--reason", "drill", "--token", admin]) == 0
    assert "ON for global" in capsys.readouterr().out
    assert main(["kill-switch", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scopes"][0]["engaged"] is True
    reader = issue_token("bob", actions=["approval.read"], workflows=["*"])
    assert main(["kill-switch", "off", "--token", reader]) == 1
    assert main(["kill-switch", "off", "--token", admin]) == 0


def test_approve_a_spend_confirmation_through_the_cli(capsys):
    """A spend confirmation (the gateway's ladder) is no tool write: the CLI approves it
    on its stored preview; an unknown action is refused (fail closed)."""
    from governed_agents.approvals import get_request, request_approval
    from governed_agents.envelope import find_envelope
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger import Ledger
    from governed_agents.routing.gateway import CONFIRM_ACTION

    ledger, envelope = Ledger.open(), find_envelope("invoice_reconcile")
    preview = {"changes": ["continue on tier reasoning: $0.90 of the $1.25 task cap spent"]}
    confirm = request_approval(ledger, envelope=envelope, action=CONFIRM_ACTION, arguments={"task": "t1"},
                               preview=preview, requested_by="alice")
    odd = request_approval(ledger, envelope=envelope, action="erp.delete_everything", arguments={},
                           preview=preview, requested_by="alice")
    token = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    assert main(["approvals", "approve", confirm.id, "--token", token]) == 0
    assert get_request(ledger, confirm.id).status == "approved"
    capsys.readouterr()
    assert main(["approvals", "approve", odd.id, "--token", token]) == 1
    assert "not registered" in capsys.readouterr().err
    assert get_request(ledger, odd.id).status == "pending"
