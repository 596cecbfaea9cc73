"""``asymlp status``: health of every process of a running stack (from the supervisor's status file).

Exit code 0 when every process is ``ok``, 1 when any is not (or the supervisor stopped updating
the file), 2 when there is no status file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

#: The status file is stale (supervisor gone) when older than this.
STALE_AFTER_S = 5.0


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    """The supervisor's ``status.json`` in ``run_dir`` (``None`` when missing or unreadable)."""
    path = Path(run_dir) / "status.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def unhealthy(status: dict[str, Any], now_ns: int | None = None) -> list[str]:
    """Names of the processes that are not ``ok`` (``supervisor`` when the file is stale)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    bad = [p["name"] for p in status.get("processes", []) if p.get("status") != "ok"]
    sup = status.get("supervisor", {})
    if (now_ns - int(sup.get("updated_ns") or 0)) / 1e9 > STALE_AFTER_S or sup.get("stopping"):
        bad.insert(0, sup.get("name", "supervisor"))
    return bad


def format_table(status: dict[str, Any], now_ns: int | None = None) -> str:
    """A fixed-width table: process, status, pid, restarts, heartbeat age, detail."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    rows = [("PROCESS", "STATUS", "PID", "RESTARTS", "HEARTBEAT", "DETAIL")]
    sup = status.get("supervisor", {})
    age = (now_ns - int(sup.get("updated_ns") or 0)) / 1e9
    sup_status = "stopping" if sup.get("stopping") else ("ok" if age <= STALE_AFTER_S else "stale")
    rows.append(
        (sup.get("name", "supervisor"), sup_status, str(sup.get("pid") or "-"), "-", f"{age:.1f}s", "")
    )
    for p in status.get("processes", []):
        hb = p.get("last_heartbeat_ns")
        hb_text = f"{(now_ns - int(hb)) / 1e9:.1f}s" if hb else "-"
        rows.append(
            (
                p["name"],
                p.get("status", "?"),
                str(p.get("pid") or "-"),
                str(p.get("restarts", 0)),
                hb_text,
                (p.get("detail") or "")[:60],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _run(args: argparse.Namespace) -> int:
    status = read_status(args.run_dir)
    if status is None:
        print(f"no status file in {args.run_dir} (is the stack running? `asymlp run CONFIG_DIR`)")
        return 2
    if args.json:
        print(json.dumps(status, indent=1))
    else:
        print(format_table(status))
    return 1 if unhealthy(status) else 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="health of every process of the running stack")
    p.add_argument("--run-dir", default="run", help="the stack's run directory (default: run)")
    p.add_argument("--json", action="store_true", help="print the raw status JSON")
    p.set_defaults(func=_run)
