"""``asymlp demo``: a short tour of the exact tier, offline."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    run_demo(price=args.price, budget_usd=args.budget, width_pct=args.width)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="a range for a budget, what it holds, a swap against it (offline)")
    p.add_argument("--price", type=float, default=3000.0, help="pool price, USDC per WETH")
    p.add_argument("--budget", type=float, default=10_000.0, help="budget in USDC")
    p.add_argument("--width", type=float, default=5.0, help="range half-width in percent")
    p.set_defaults(func=_run)
