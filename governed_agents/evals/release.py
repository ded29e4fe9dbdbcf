"""The release gate: an envelope or model-catalog change is promoted only if its suites pass.

What "promote" means here, concretely: the deployed envelope of a workflow is
the file ``policies/<workflow>.yaml`` that ``find_envelope`` reads, and the
deployed catalog is ``policies/models.yaml`` (``catalog_path()``). ``promote``
runs the eval suite(s) against the candidate in a sandbox, records each run
(``eval.run``), and then either

- refuses: an ``eval.promotion_refused`` audit event, a ``PromotionRefused``
  error (CLI exit 1), and the policy files untouched; or
- promotes: an ``eval.promoted`` audit event (old and new digests, the eval
  runs' audit seqs) and, in the same ledger transaction, the candidate's bytes
  replace the deployed file atomically. If the event cannot be written the
  file is not replaced (fail closed).

A catalog change affects every workflow, so it runs every suite that has a
deployed envelope. A hand edit of a policy file bypasses this command; the
``eval_results/<workflow>`` asset evaluates whatever is deployed, so its
checks show such an edit red on the next materialisation (docs/evals.md).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from governed_agents.errors import GovernanceError, UsageError


class PromotionRefused(GovernanceError):
    """The candidate's eval suite is below its thresholds; nothing was changed."""


@dataclass
class PromotionResult:
    workflow: str
    promoted: bool
    results: list = field(default_factory=list)  # EvalResult, recorded
    changed: list[str] = field(default_factory=list)  # files replaced
    audit_seq: int | None = None
    from_digest: str | None = None
    to_digest: str | None = None
    catalog_from: str | None = None
    catalog_to: str | None = None

    def to_dict(self) -> dict:
        return {"workflow": self.workflow, "promoted": self.promoted, "changed": self.changed,
                "audit_seq": self.audit_seq, "envelope_from": self.from_digest, "envelope_to": self.to_digest,
                "catalog_from": self.catalog_from, "catalog_to": self.catalog_to,
                "evals": [{"workflow": r.workflow, "passed": r.passed, "audit_seq": r.audit_seq,
                           "categories": [c.to_dict() for c in r.categories]} for r in self.results]}


def _replace(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def promote(workflow: str, *, envelope: str | Path | None = None, catalog: str | Path | None = None,
            token: str | None, ledger: Any = None, directory: Any = None) -> PromotionResult:
    """Promote a candidate envelope (for ``workflow``) and/or model catalog if every affected suite passes.

    ``token`` must grant ``policy.promote`` (Admin) on ``workflow`` and, for a
    catalog, on every workflow with a suite; a token refusal (``TokenError``)
    comes before anything runs or is recorded. Raises ``PromotionRefused``
    (after recording it) when a suite fails; nothing is changed then.
    """
    from governed_agents.envelope import envelope_path, find_envelope, load_envelope
    from governed_agents.evals.results import record_result
    from governed_agents.evals.runner import catalog_digest, resolve_catalog, run_suite
    from governed_agents.evals.suite import suite_workflows
    from governed_agents.ledger import Ledger
    from governed_agents.routing.catalog import catalog_path

    if envelope is None and catalog is None:
        raise UsageError("nothing to promote: give --envelope NEW.yaml and/or --catalog NEW.yaml")
    from governed_agents.identity.tokens import verify_token

    claims = verify_token(token, action="policy.promote", workflow=workflow, directory=directory)
    actor = claims.principal.id
    ledger = ledger or Ledger.open()
    candidate = None
    if envelope is not None:
        candidate = load_envelope(envelope)
        if candidate.workflow != workflow:
            raise UsageError(f"{envelope}: the envelope governs workflow {candidate.workflow!r}, not {workflow!r}")
    if workflow not in suite_workflows():
        raise PromotionRefused(f"workflow {workflow!r} has no eval suite: nothing can vouch for the change",
                               hint="add cases under governed_agents/evals/cases/<workflow>/ first")
    try:
        current = find_envelope(workflow)
    except GovernanceError:
        current = None  # a broken deployed envelope may be replaced by a passing candidate
    current_catalog = resolve_catalog(None)
    new_catalog = resolve_catalog(catalog) if catalog is not None else current_catalog

    workflows = [workflow]
    if catalog is not None:
        workflows += [w for w in suite_workflows() if w != workflow and envelope_path(w).is_file()]
        for name in workflows[1:]:  # the catalog is every workflow's: the token must cover them all
            verify_token(token, action="policy.promote", workflow=name, directory=directory)
    results = []
    for name in workflows:
        env = candidate if (name == workflow and candidate is not None) else None
        results.append(record_result(ledger, run_suite(name, env, catalog=new_catalog), actor=actor))

    outcome = PromotionResult(
        workflow=workflow, promoted=False, results=results,
        from_digest=current.digest if current is not None else None,
        to_digest=candidate.digest if candidate is not None else (current.digest if current else None),
        catalog_from=catalog_digest(current_catalog), catalog_to=catalog_digest(new_catalog))
    payload = {
        "token_id": claims.token_id,
        "envelope_candidate": str(envelope) if envelope is not None else None,
        "catalog_candidate": str(catalog) if catalog is not None else None,
        "envelope_from": outcome.from_digest, "envelope_to": outcome.to_digest,
        "catalog_from": outcome.catalog_from, "catalog_to": outcome.catalog_to,
        "evals": [{"workflow": r.workflow, "audit_seq": r.audit_seq, "passed": r.passed,
                   "failed_categories": r.failed_categories()} for r in results],
    }
    version = candidate.version if candidate is not None else (current.version if current else None)
    failed = [r for r in results if not r.passed]
    if failed:
        event = ledger.append("eval.promotion_refused", payload, actor=actor, workflow=workflow,
                              envelope_version=version, envelope_digest=outcome.to_digest)
        outcome.audit_seq = event.seq
        what = "; ".join(f"{r.workflow}: {', '.join(r.failed_categories())}" for r in failed)
        raise PromotionRefused(
            f"promotion of {workflow} refused: the eval suite is below its thresholds ({what}); nothing was changed",
            hint="run `governed-agents eval run` with the candidate to see the failing cases",
            details=outcome.to_dict())

    targets: list[tuple[Path, bytes]] = []
    if envelope is not None:
        targets.append((envelope_path(workflow), Path(envelope).read_bytes()))
    if catalog is not None:
        targets.append((catalog_path(), Path(catalog).read_bytes()))
    outcome.changed = [str(t) for t, _ in targets]
    with ledger.transaction() as conn:
        event = ledger.append("eval.promoted", {**payload, "files": outcome.changed}, actor=actor,
                              workflow=workflow, envelope_version=version, envelope_digest=outcome.to_digest,
                              conn=conn)
        for target, data in targets:
            _replace(target, data)
    outcome.promoted = True
    outcome.audit_seq = event.seq
    return outcome
