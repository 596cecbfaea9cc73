"""The ``asymlp`` command."""

from __future__ import annotations

import argparse
import sys


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(price=args.price, budget_usd=args.budget, width_pct=args.width)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asymlp", description="Asymmetric liquidity provision toolkit")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a range for a budget, what it holds, a swap against it (offline)")
    demo.add_argument("--price", type=float, default=3000.0, help="pool price, USDC per WETH")
    demo.add_argument("--budget", type=float, default=10_000.0, help="budget in USDC")
    demo.add_argument("--width", type=float, default=5.0, help="range half-width in percent")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
