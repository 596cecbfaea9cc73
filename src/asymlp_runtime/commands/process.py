"""``asymlp process NAME CONFIG``: run one runtime process in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    from asymlp_runtime.config import ConfigError
    from asymlp_runtime.processes.base import process_kind, run_process

    kwargs = {}
    try:
        kind = process_kind(args.name)
    except KeyError as exc:
        print(f"asymlp process: {exc.args[0]}")
        return 2
    if kind == "supervisor":
        kwargs["config_dir"] = Path(args.config).resolve().parent
        if args.run_dir:
            kwargs["run_dir"] = args.run_dir
    try:
        return run_process(args.name, args.config, **kwargs)
    except ConfigError as exc:
        print(f"asymlp process: {exc}")
        return 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "process", help="run one process (quote_server, trader, lp_manager, ...) from its config"
    )
    p.add_argument(
        "name", help="process kind or name (quote_server, trading_engine_binance, lp_manager, ...)"
    )
    p.add_argument("config", help="the process's TOML config file")
    p.add_argument("--run-dir", default=None, help="supervisor only: where status.json is written")
    p.set_defaults(func=_run)
