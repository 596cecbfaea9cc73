"""The ``asymlp`` command: dispatches to the modules of :mod:`asymlp_runtime.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys

#: Command modules, in help order.  Each has ``register(subparsers)``.
COMMAND_MODULES = (
    "demo",
    "backtest",
    "sweep",
    "calibrate",
    "run",
    "status",
    "process",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    from .ops.numba_cache import configure_numba_cache

    configure_numba_cache()
    parser = argparse.ArgumentParser(prog="asymlp", description="Asymmetric liquidity provision toolkit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"asymlp_runtime.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"asymlp_runtime.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
