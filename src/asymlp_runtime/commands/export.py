"""``asymlp export JOURNAL OUT_DIR``: the journal's tables as CSV or Parquet files."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from asymlp_runtime.export import export_journal

    tables = args.tables.split(",") if args.tables else None
    try:
        written = export_journal(
            args.journal, args.out_dir, fmt=args.format, since=args.since, until=args.until, tables=tables
        )
    except (KeyError, ValueError, OSError) as exc:
        print(f"asymlp export: {exc}")
        return 2
    for name, path in written.items():
        print(f"{name:>18}  {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a journal to CSV or Parquet (one file per table)")
    p.add_argument("journal", help="journal database (SQLite)")
    p.add_argument("out_dir", help="output folder (created)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument("--since", default=None, help="keep records at or after this time (ISO-8601 or ns)")
    p.add_argument("--until", default=None, help="keep records before this time (ISO-8601 or ns)")
    p.add_argument("--tables", default=None, help="comma-separated subset of tables")
    p.set_defaults(func=_run)
