"""Structured JSON logs: every line of a governed task carries its trace id, workflow,
run id and envelope digest; the CLI and Dagster steps turn them on from the environment."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import dagster as dg
import pytest

from governed_agents.dagster.resources import GovernanceResource
from governed_agents.observability import logging as jsonlog

from tests.fixtures import REPO


@pytest.fixture
def stream():
    buffer = io.StringIO()
    handler = jsonlog.configure(buffer, level="INFO")
    yield buffer
    logger = logging.getLogger("governed_agents")
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def _lines(buffer) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_bound_context_is_on_every_line(stream):
    log = logging.getLogger("governed_agents.test")
    log.info("outside")
    with jsonlog.bind(trace_id="t1", workflow="invoice_reconcile", envelope_digest="sha256:ab"):
        log.info("inside %s", "task", extra={"invoice_id": "INV-1"})
        with jsonlog.bind(run_id="run-9"):
            log.warning("nested")
    outside, inside, nested = _lines(stream)
    assert outside["trace_id"] is None and outside["message"] == "outside"
    assert {k: inside[k] for k in jsonlog.CONTEXT_FIELDS} == {
        "trace_id": "t1", "workflow": "invoice_reconcile", "run_id": None, "envelope_digest": "sha256:ab"}
    assert inside["message"] == "inside task" and inside["invoice_id"] == "INV-1" and inside["level"] == "INFO"
    assert nested["run_id"] == "run-9" and nested["trace_id"] == "t1"
    with pytest.raises(ValueError, match="unknown log context field"):
        with jsonlog.bind(tenant="x"):
            pass


def test_governed_task_logs_carry_its_trace(stream, tmp_path):
    """The proposal step of invoice_reconcile logs each proposal under the task's trace."""
    from governed_agents.envelope import find_envelope
    from governed_agents.ledger import Ledger
    from governed_agents.workflows import executor_for
    from governed_agents.workflows.invoice_reconcile import Proposal, request_approvals

    envelope = find_envelope("invoice_reconcile")
    proposal = Proposal(invoice_id="INV-7", arguments={"invoice_id": "INV-7", "vendor_id": "V001",
                                                       "currency": "EUR", "amount": "12.00"},
                        preview={}, outcome="needs_approval", reasons=[], trace_id="ab" * 16)
    request_approvals([proposal], executor_for("invoice_reconcile", Ledger.open()), envelope,
                      requested_by="alice", batch_id="b1", run_id="run-1")
    (line,) = [x for x in _lines(stream) if x["logger"] == "governed_agents.workflows.invoice_reconcile"]
    assert line["message"] == "invoice INV-7 proposed: needs_approval"
    assert (line["trace_id"], line["workflow"], line["run_id"], line["envelope_digest"]) == (
        "ab" * 16, "invoice_reconcile", "run-1", envelope.digest)


def test_cli_turns_json_logs_on_from_the_environment(tmp_path):
    code = ("import logging, sys\n"
            "from governed_agents.cli.main import main\n"
            "rc = main(['assess', 'invoice_reconcile', '--json'])\n"
            "logging.getLogger('governed_agents.cli').info('done', extra={'rc': rc})\n")
    env = {**__import__("os").environ, "GOVERNED_AGENTS_HOME": str(tmp_path),
           "GOVERNED_AGENTS_LOG_FORMAT": "json", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stderr.strip().splitlines()[-1])
    assert last["message"] == "done" and last["rc"] == 0 and set(jsonlog.CONTEXT_FIELDS) <= set(last)
    env.pop("GOVERNED_AGENTS_LOG_FORMAT")
    plain = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=120)
    assert plain.returncode == 0 and '"message"' not in plain.stderr


def test_dagster_steps_turn_json_logs_on(monkeypatch, capfd):
    """The governance resource configures the JSON formatter in each step's process."""
    @dg.asset
    def logs_something(context, governance: GovernanceResource):
        with jsonlog.bind(workflow="invoice_reconcile", run_id=context.run_id, trace_id="cd" * 16):
            logging.getLogger("governed_agents.step").info("inside a step")

    monkeypatch.setenv("GOVERNED_AGENTS_LOG_FORMAT", "json")
    try:
        result = dg.materialize([logs_something], resources={"governance": GovernanceResource()},
                                instance=dg.DagsterInstance.ephemeral())
    finally:
        logger = logging.getLogger("governed_agents")
        for h in [h for h in logger.handlers if getattr(h, "_governed_agents_json", False)]:
            logger.removeHandler(h)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    assert result.success
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith('{"ts"')]
    (line,) = [x for x in lines if x["message"] == "inside a step"]
    assert line["run_id"] == result.run_id and line["trace_id"] == "cd" * 16
