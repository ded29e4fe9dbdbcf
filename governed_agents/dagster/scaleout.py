"""Scale-out on Celery workers: the invoice reconciliation split into shards,
each shard a step that ``dagster-celery`` sends to a worker.

The job ``invoice_reconcile_sharded`` is the deterministic read-and-match part
of the invoice pipeline (no writes, no model calls): a planning step fans out
one ``reconcile_shard`` step per shard (invoices assigned to a shard by a
stable hash of their vendor), and ``combine_shards`` adds up the outcome counts.
Its executor is ``dagster_celery.celery_executor``: the broker, result backend
and queue come from the run config (``execution: config: broker/backend/
config_source.task_default_queue``), so a deployment points it at its Redis or
RabbitMQ and its workers' queue without a code change. Writes stay in the
governed posting runs, one per approval; nothing here writes to the ERP.

Workers: ``dagster-celery worker start -A dagster_celery.app -y celery.yaml -q QUEUE``
on hosts that have this code, the Dagster instance (``DAGSTER_HOME``) and the
ERP URL (docs/deployment.md).
"""

# No ``from __future__ import annotations``: Dagster reads the Config class from the annotations.
import os
import socket
import zlib

import dagster as dg
from pydantic import Field


class ShardConfig(dg.Config):
    shards: int = Field(default=4, ge=1, le=256, description="How many shards (one Celery task each).")
    batch_id: str = Field(default="", description="ERP import batch to reconcile ('' = every loaded line).")


def shard_of(vendor: "str | None", shards: int) -> int:
    """The shard of a vendor's invoices: stable across processes and runs (no hash seed).

    By vendor, not by invoice: the rules that look across invoices (a duplicate
    invoice number, a purchase order billed by several invoices) stay within
    one vendor, so each shard decides them as the whole batch would.
    """
    return zlib.crc32((vendor or "").encode()) % shards


def reconcile_shard_lines(shard: int, shards: int, batch_id: str = "", erp_url: "str | None" = None) -> dict:
    """Reconcile the invoice lines of one shard; a plain function (tested without Dagster)."""
    from governed_agents.erp.connector import erp_engine
    from governed_agents.reconcile import extract_po_reference_offline, load_invoice_lines, load_snapshot, reconcile

    engine = erp_engine(erp_url)
    lines = [line for line in load_invoice_lines(engine, batch_id or None)
             if shard_of(line.vendor_tax_id or line.vendor_name, shards) == shard]
    result = reconcile(lines, load_snapshot(engine), po_extractor=extract_po_reference_offline)
    return {"shard": shard, "lines": len(lines), "invoices": len(result.outcomes), "counts": result.counts(),
            "pid": os.getpid(), "host": socket.gethostname()}


@dg.op(out=dg.DynamicOut(int), description="One output per shard.")
def plan_shards(config: ShardConfig):
    for shard in range(config.shards):
        yield dg.DynamicOutput(shard, mapping_key=f"shard_{shard}")


@dg.op(description="Reconcile one shard's invoices (runs on a Celery worker).")
def reconcile_shard(context: dg.OpExecutionContext, config: ShardConfig, shard: int) -> dict:
    report = reconcile_shard_lines(shard, config.shards, config.batch_id)
    context.add_output_metadata({"lines": report["lines"], "pid": report["pid"], "host": report["host"]})
    return report


@dg.op(description="Outcome counts of all shards together.")
def combine_shards(context: dg.OpExecutionContext, reports: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for report in reports:
        for reason, n in report["counts"].items():
            counts[reason] = counts.get(reason, 0) + n
    total = {"lines": sum(r["lines"] for r in reports), "invoices": sum(r["invoices"] for r in reports),
             "counts": counts, "workers": sorted({f"{r['host']}:{r['pid']}" for r in reports})}
    context.add_output_metadata({"lines": total["lines"], "invoices": total["invoices"],
                                 "workers": ", ".join(total["workers"])})
    return total


def _celery_executor():
    from dagster_celery import celery_executor

    return celery_executor


@dg.job(
    executor_def=_celery_executor(),
    tags={"governed_agents/workflow": "invoice_reconcile"},
    description="The invoice reconciliation split into shards, each reconciled on a Celery worker "
                "(dagster-celery). Reads only; proposals and writes stay in the governed jobs.",
)
def invoice_reconcile_sharded():
    reports = plan_shards().map(reconcile_shard)
    combine_shards(reports.collect())


def celery_run_config(broker: str, *, queue: str, backend: "str | None" = None, shards: int = 4,
                      batch_id: str = "") -> dict:
    """Run config for ``invoice_reconcile_sharded``: executor on ``broker``/``queue``, the shard plan."""
    shard = {"config": {"shards": shards, "batch_id": batch_id}}
    return {
        "execution": {"config": {"broker": broker, "backend": backend or broker,
                                 "config_source": {"task_default_queue": queue}}},
        "ops": {"plan_shards": shard, "reconcile_shard": shard},
    }
