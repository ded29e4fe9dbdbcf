"""``governed-agents replay RUN_OR_TRACE``: re-execute a recorded run's decisions; ``--envelope``: what-if.

Replay reads the run's recording from the ledger and writes nothing: no model
call, no ERP access, no audit event. Exit codes: 0 every decision the same
(or, for a what-if, the report was made), 1 a divergence (or nothing to
replay), 2 bad usage.
"""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, iso_date, out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="replay a recorded run offline and compare every decision; with --envelope, a policy what-if",
        description=(
            "Re-execute the deterministic part of a recorded run (reconciliation, the gate's decisions, the "
            "approval requirement) from its recording alone: the redacted inputs, the ERP answers and the model "
            "answers it received. No model is called and nothing is written. Reports each decision as same or "
            "diverged; exit 1 on any divergence.\n\n"
            "With --envelope NEW.yaml: what that envelope would have done differently on the run (or on every "
            "recorded run from --since to --until): writes it would deny, writes that would need approval, "
            "reconciliation outcomes its thresholds change, model calls its caps refuse, and what the calls "
            "would have cost."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("ref", nargs="?", metavar="RUN_OR_TRACE",
                   help="a Dagster run id (a proposal run) or a trace id")
    p.add_argument("--envelope", metavar="NEW.yaml", help="what-if: replay under this envelope file")
    p.add_argument("--since", type=iso_date, metavar="DATE",
                   help="what-if over every recorded run from this UTC day (YYYY-MM-DD); needs --envelope")
    p.add_argument("--until", type=iso_date, metavar="DATE", help="... to this UTC day, inclusive (default: today)")
    add_json_flag(p)
    p.set_defaults(handler=_replay, replay_parser=p)


def _replay(args: argparse.Namespace) -> int:
    from governed_agents.errors import UsageError
    from governed_agents.ledger import Ledger

    if (args.since or args.until) and not args.envelope:
        raise UsageError("--since/--until are for a what-if: give --envelope NEW.yaml too")
    if args.ref and args.since:
        raise UsageError("give either RUN_OR_TRACE or --since, not both")
    if not args.ref and not args.since:
        raise UsageError("give a RUN_OR_TRACE to replay (or --envelope NEW.yaml --since DATE for a what-if)")
    ledger = Ledger.open()
    if args.envelope:
        from governed_agents.envelope import load_envelope
        from governed_agents.forensics.whatif import what_if

        report = what_if(ledger, load_envelope(args.envelope), ref=args.ref, since=args.since, until=args.until)
        if args.json:
            emit_json({"ok": True, "what_if": report.to_dict()})
        else:
            out(render_what_if(report.to_dict()))
        return EXIT_OK
    from governed_agents.forensics.replay import replay

    report = replay(ledger, args.ref).to_dict()
    if args.json:
        emit_json({"ok": report["identical"], "replay": report})
    else:
        out(render_replay(report))
    return EXIT_OK if report["identical"] else EXIT_REFUSED


def _show(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def render_replay(report: dict) -> str:
    s = report["summary"]
    lines = [f"replay of {report['scope']} {report['ref']} (runs {', '.join(report['runs'])}): "
             f"{s['steps']} decisions, {s['same']} same, {s['diverged']} diverged"]
    for step in report["steps"]:
        mark = "same    " if step["same"] else "DIVERGED"
        lines.append(f"  {step['step']:>4} {mark} {step['kind']:9} {step['subject']}")
        if not step["same"]:
            lines.append(f"         recorded: {_show(step['recorded'])}")
            lines.append(f"         replayed: {_show(step['replayed'])}")
            if step["detail"]:
                lines.append(f"         {step['detail']}")
    if report["first_divergence"]:
        d = report["first_divergence"]
        lines.append(f"first divergence: step {d['step']} ({d['kind']} {d['subject']}, run {d['run_id']})")
    else:
        lines.append("every decision is the same as recorded")
    return "\n".join(lines)


def render_what_if(r: dict) -> str:
    env = r["envelope"]
    lines = [f"what-if: envelope {env['version']} {env['digest'][:23]}… on {len(r['runs'])} run(s) of {r['workflow']}",
             f"  proposed writes: {r['writes']}, of which needing approval: {r['writes_needing_approval']}"]

    def block(title, rows, fmt):
        lines.append(f"  {title}: {len(rows)}")
        lines.extend(f"    {fmt(x)}" for x in rows)

    block("writes it would deny", r["denied"],
          lambda x: f"{x['tool']} {x['invoice_id']} (trace {x['trace_id']}): {', '.join(x['reasons'])}")
    block("writes that would newly need approval", r["needs_approval"],
          lambda x: f"{x['tool']} {x['invoice_id']} (trace {x['trace_id']})")
    block("writes that would no longer need approval", r["approval_dropped"],
          lambda x: f"{x['tool']} {x['invoice_id']} (trace {x['trace_id']})")
    block("reconciliation outcomes that change", r["reconcile_changed"],
          lambda x: f"{x['invoice_id']}: {x['recorded']} -> {x['would_be']}")
    block("model calls its caps would refuse", r["model_calls_refused"],
          lambda x: f"audit #{x['audit_seq']} {x['tier']} {x['model']} ${x['cost_usd']}: {'; '.join(x['why'])}")
    c = r["cost"]
    lines.append(f"  cost: recorded ${c['recorded_usd']} over {r['model_calls']} model call(s); with this "
                 f"envelope's models ${c['with_envelope_models_usd']}, minus refused calls "
                 f"${c['refused_calls_usd']} = ${c['would_have_cost_usd']}")
    return "\n".join(lines)
