"""Transcript retention on a schedule: the daemon runs the purge of every workflow.

``transcript_retention`` (default: daily at 03:17 UTC; ``GOVERNED_AGENTS_RETENTION_CRON``
overrides it) launches ``transcript_retention_job``, whose one op runs
``governed_agents.transcripts.purge`` — the same purge as
``governed-agents transcripts purge`` — and records what it deleted per workflow.
The schedule starts RUNNING: retention is a promise the envelope makes, not an
opt-in a person has to remember to switch on in the UI.
"""

import os

import dagster as dg

from governed_agents.dagster.resources import GovernanceResource

CRON = os.environ.get("GOVERNED_AGENTS_RETENTION_CRON", "17 3 * * *")


@dg.op(description="Delete transcripts past their workflow's logging.store_transcripts_days (one transaction, "
                   "one transcripts.purged audit event per workflow).")
def purge_transcripts(context: dg.OpExecutionContext, governance: GovernanceResource) -> dict:
    from governed_agents.transcripts.retention import purge

    result = purge(governance.ledger(), actor="dagster.retention")
    for w in result.workflows:
        context.log.info(f"{w.workflow}: deleted {w.deleted}, kept {w.kept} "
                         f"({'retention ' + str(w.retention_days) + ' d' if w.retention_days is not None else w.source})")
    summary = result.to_dict()
    context.add_output_metadata({"deleted": result.deleted, "workflows": dg.MetadataValue.json(
        [{**w.to_dict(), "cutoff": w.cutoff.isoformat() if w.cutoff else None} for w in result.workflows])})
    return {"deleted": summary["deleted"], "workflows": [w.workflow for w in result.workflows]}


@dg.job(description="Purge transcripts past their retention (run by the transcript_retention schedule).",
        tags={"governed_agents/kind": "retention"}, executor_def=dg.in_process_executor)
def transcript_retention_job():
    purge_transcripts()


transcript_retention = dg.ScheduleDefinition(
    name="transcript_retention",
    job=transcript_retention_job,
    cron_schedule=CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily purge of transcripts past logging.store_transcripts_days (GOVERNED_AGENTS_RETENTION_CRON).",
)
