"""``governed-agents erp load-csv|generate``: the demo ERP's data, in and out.

``load-csv`` imports the public CSV contract (docs/erp.md) into the ERP at
``$GOVERNED_AGENTS_ERP_URL`` (default: SQLite in the state home) in one
transaction: a file that breaks the contract is refused naming file, line and
column, and nothing is loaded. ``generate`` writes a deterministic demo batch.
"""

from __future__ import annotations

import argparse
import sys

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, err, out


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "erp",
        help="load the ERP CSV contract, generate demo data",
        description="The demo ERP: import the public CSV contract (docs/erp.md) and generate demo batches.",
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="erp_command", metavar="SUBCOMMAND")

    p = cmds.add_parser(
        "load-csv",
        help="import vendors, purchase orders, goods receipts and invoices from CSV",
        description=(
            "Import whichever of vendors.csv, purchase_orders.csv, goods_receipts.csv and invoices.csv the "
            "directory holds (or one invoices file, if PATH is a file), in one transaction. A file that "
            "breaks the contract (missing column, unparseable row, bytes that are not UTF-8) is refused "
            "naming file, line and column, and nothing is loaded (exit 1). Invoice rows that parse but "
            "break a business rule are loaded and reported by reconciliation as data_quality. "
            "The ERP is $GOVERNED_AGENTS_ERP_URL (default: SQLite in the state home)."
        ),
    )
    p.add_argument("path", metavar="DIR", help="a directory with contract files, or one invoices CSV file")
    p.add_argument("--batch-id", help="import batch id for the invoices (default: a new one); a batch loads once")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    add_json_flag(p)
    p.set_defaults(handler=_load_csv)

    p = cmds.add_parser(
        "generate",
        help="write a deterministic demo batch in the CSV contract",
        description=(
            "Write vendors.csv, purchase_orders.csv, goods_receipts.csv and invoices.csv into OUT_DIR: "
            "realistic vendors, POs with goods receipts, and invoices that mostly match, with every "
            "reconciliation exception mixed in at documented rates (docs/erp.md). The same --seed gives "
            "byte-identical files; any size streams to disk."
        ),
    )
    p.add_argument("out_dir", metavar="OUT_DIR")
    p.add_argument("--invoices", type=_positive_int, required=True, metavar="N",
                   help="number of invoices (1-5 lines each, about 2.3 on average)")
    p.add_argument("--seed", type=int, required=True, metavar="S", help="random seed (same seed, same files)")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    add_json_flag(p)
    p.set_defaults(handler=_generate)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _progress(args):
    if args.quiet:
        return None
    return lambda message: err(f"  … {message}")


def _load_csv(args) -> int:
    from pathlib import Path

    from governed_agents.erp.connector import erp_engine, erp_url
    from governed_agents.erp.csv_contract import load_csv_dir, load_invoices_csv

    path = Path(args.path)
    engine = erp_engine()
    if path.is_file():
        report = load_invoices_csv(path, engine, args.batch_id, progress=_progress(args))
    else:
        report = load_csv_dir(path, engine, batch_id=args.batch_id, progress=_progress(args))
    if args.json:
        emit_json({"ok": True, **report.to_dict()})
        return EXIT_OK
    out(f"Loaded into the ERP at {_safe_url(erp_url())} (one transaction):")
    for f in report.files:
        if f.kind == "invoices.csv":
            detail = f"{f.rows:,} invoice lines as import batch {report.batch_id}"
        elif f.kind == "goods_receipts.csv":
            detail = f"{f.rows:,} rows ({f.inserted:,} receipts stored, {f.replaced:,} earlier receipts replaced)"
        else:
            detail = f"{f.rows:,} rows ({f.inserted:,} new, {f.updated:,} updated)"
        out(f"  {f.file:22} {detail}")
        if f.ignored_columns:
            out(f"  {'':22} ignored columns: {', '.join(f.ignored_columns)}")
    if report.absent:
        out(f"  not in the directory (nothing loaded for them): {', '.join(report.absent)}")
    if report.batch_id:
        out("next: governed-agents run invoice_reconcile")
    return EXIT_OK


def _safe_url(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # pragma: no cover - display only
        return "(configured ERP)"


def _generate(args) -> int:
    from governed_agents.erp.generator import generate

    counts = generate(args.out_dir, invoices=args.invoices, seed=args.seed, progress=_progress(args))
    if args.json:
        emit_json({"ok": True, "out_dir": args.out_dir, **counts})
        return EXIT_OK
    out(f"Wrote {args.out_dir} (seed {args.seed}):")
    out(f"  vendors.csv            {counts['vendors']:,} vendors ({counts['blocked_vendors']:,} blocked)")
    out(f"  purchase_orders.csv    {counts['purchase_orders']:,} POs, {counts['purchase_order_lines']:,} lines")
    out(f"  goods_receipts.csv     {counts['goods_receipts']:,} receipts")
    out(f"  invoices.csv           {counts['invoices']:,} invoices, {counts['invoice_lines']:,} lines "
        f"({counts['free_text_po_references']:,} with a free-text PO reference)")
    out("  made to reconcile as:  " + ", ".join(f"{k} {v:,}" for k, v in counts["expected"].items() if v))
    out(f"next: governed-agents erp load-csv {args.out_dir}")
    sys.stdout.flush()
    return EXIT_OK
