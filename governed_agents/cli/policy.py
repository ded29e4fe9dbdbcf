"""``governed-agents policy validate|show|diff|schema``: check and explain execution envelopes."""

from __future__ import annotations

import argparse
import sys

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, err, out


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "policy",
        help="validate, show and compare execution envelopes",
        description=(
            "An execution envelope (policies/<workflow>.yaml) says which tools a workflow's agent may "
            "call, what it may spend, and who must approve its writes. A workflow whose envelope does "
            "not load does not run. See docs/envelope.md."
        ),
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="policy_command", metavar="SUBCOMMAND")

    p = cmds.add_parser(
        "validate",
        help="check envelope files; list every problem with file, line and field",
        description="Load each FILE as an execution envelope. Exit 0 if all load, 1 if any does not.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="envelope YAML file(s)")
    add_json_flag(p)
    p.set_defaults(handler=_validate)

    p = cmds.add_parser(
        "show",
        help="print the effective envelope (defaults filled in) with its version and digest",
        description="WORKFLOW_OR_FILE is a workflow name (looked up in the policy directory) or a path.",
    )
    p.add_argument("target", metavar="WORKFLOW_OR_FILE")
    add_json_flag(p)
    p.set_defaults(handler=_show)

    p = cmds.add_parser(
        "diff",
        help="what changed from envelope A to B, and whether each change loosens or tightens",
        description=(
            "Compare two envelopes (workflow names or paths) field by field and say what changed, "
            "flagging each change as loosening or tightening where that has a meaning. "
            "Exit 0 whether or not they differ, unless --fail-on-loosening is given."
        ),
    )
    p.add_argument("old", metavar="A", help="the envelope before (workflow name or path)")
    p.add_argument("new", metavar="B", help="the envelope after (workflow name or path)")
    p.add_argument(
        "--fail-on-loosening", action="store_true", help="exit 1 if any change loosens the envelope (for CI review gates)"
    )
    add_json_flag(p)
    p.set_defaults(handler=_diff)

    p = cmds.add_parser(
        "schema",
        help="print the envelope's JSON Schema",
        description="Print the JSON Schema of an execution envelope (committed as policies/envelope.schema.json).",
    )
    p.add_argument("--output", metavar="FILE", help="write the schema to FILE instead of stdout")
    p.set_defaults(handler=_schema)


def _load(target: str):
    """A workflow name is looked up in the policy directory; anything else is a path."""
    import re
    from pathlib import Path

    from governed_agents.envelope import find_envelope, load_envelope

    if re.fullmatch(r"[a-z][a-z0-9_]*", target) and not Path(target).is_file():
        return find_envelope(target)
    return load_envelope(target)


def _validate(args: argparse.Namespace) -> int:
    from governed_agents.envelope import load_envelope
    from governed_agents.errors import PolicyError

    results = []
    for file in args.files:
        try:
            loaded = load_envelope(file)
        except PolicyError as exc:
            problems = exc.details.get("errors") or [{"file": file, "message": exc.message}]
            results.append({"file": file, "ok": False, "errors": problems, "message": exc.message})
            continue
        results.append(
            {"file": file, "ok": True, "workflow": loaded.workflow, "version": loaded.version, "digest": loaded.digest}
        )
    all_ok = all(r["ok"] for r in results)
    if args.json:
        emit_json({"ok": all_ok, "results": results})
    else:
        for r in results:
            if r["ok"]:
                out(f"ok: {r['file']} (workflow {r['workflow']}, version {r['version']}, digest {r['digest'][:15]}…)")
            else:
                count = len(r["errors"])
                err(f"invalid: {r['file']} ({count} problem{'s' if count != 1 else ''})")
                for line in r["message"].splitlines():
                    err(f"  {line}")
        if not all_ok:
            err("the workflows these envelopes govern do not run until they load")
    return EXIT_OK if all_ok else EXIT_REFUSED


def _show(args: argparse.Namespace) -> int:
    loaded = _load(args.target)
    dump = loaded.envelope.model_dump(mode="json")
    if args.json:
        emit_json(
            {
                "ok": True,
                "workflow": loaded.workflow,
                "version": loaded.version,
                "digest": loaded.digest,
                "source": loaded.source,
                "envelope": dump,
            }
        )
        return EXIT_OK
    import yaml

    out(f"# workflow: {loaded.workflow}")
    out(f"# version:  {loaded.version}")
    out(f"# digest:   {loaded.digest}")
    out(f"# source:   {loaded.source}")
    out("# effective envelope, defaults filled in:")
    sys.stdout.write(yaml.safe_dump(dump, sort_keys=False, allow_unicode=True, default_flow_style=False))
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from governed_agents.envelope import diff_envelopes

    old, new = _load(args.old), _load(args.new)
    changes = diff_envelopes(old, new)
    loosening = sum(1 for c in changes if c.direction == "loosening")
    tightening = sum(1 for c in changes if c.direction == "tightening")
    if args.json:
        emit_json(
            {
                "ok": True,
                "old": {"source": old.source, "version": old.version, "digest": old.digest},
                "new": {"source": new.source, "version": new.version, "digest": new.digest},
                "changes": [c.to_json() for c in changes],
                "loosening": loosening,
                "tightening": tightening,
            }
        )
    else:
        out(f"--- {old.source} (version {old.version}, {old.short_digest()})")
        out(f"+++ {new.source} (version {new.version}, {new.short_digest()})")
        if not changes:
            out("no changes")
        for change in changes:
            tag = {"loosening": "LOOSENS ", "tightening": "tightens"}.get(change.direction or "", "        ")
            out(f"  {tag}  {change.message}")
        if changes:
            out(f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {loosening} loosening, {tightening} tightening")
    if args.fail_on_loosening and loosening:
        err(f"governed-agents: {loosening} change(s) loosen the envelope")
        return EXIT_REFUSED
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from governed_agents.envelope import envelope_json_schema_text

    text = envelope_json_schema_text()
    if args.output:
        from pathlib import Path

        from governed_agents.errors import GovernanceError

        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise GovernanceError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        err(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK
