"""``asymlp calibrate DATA``: sigma, A, k (with standard errors) from trades, swaps or klines."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from ..data.errors import DataFormatError
    from ..research.calibrate import CalibrationError, calibrate_file, format_calibration, guess_kind

    kind = args.kind or guess_kind(args.data)
    try:
        rows = calibrate_file(
            args.data,
            kind,
            window=args.window,
            mid_window=args.mid_window,
            sigma_interval=args.sigma_interval,
            halflife=args.halflife,
            decimals0=args.decimals0,
            decimals1=args.decimals1,
        )
    except (DataFormatError, CalibrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.data} ({kind})")
    print(format_calibration(rows))
    if kind == "klines":
        print("A and k need fills: calibrate them from trades (--kind trades) or pool swaps (--kind swaps).")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="sigma (realised, EWMA), A and k from trades, pool swaps or klines")
    p.add_argument("data", help="Binance aggTrades or klines CSV/zip, or Uniswap V3 swaps CSV/Parquet")
    p.add_argument(
        "--kind", choices=("trades", "klines", "swaps"), help="data kind (default: from the file name)"
    )
    p.add_argument(
        "--window", type=float, help="fill-intensity window in seconds (default: 2 x span / trades)"
    )
    p.add_argument(
        "--mid-window", type=int, default=50, help="trades: trades in the rolling mid (default 50)"
    )
    p.add_argument("--sigma-interval", type=float, default=60.0, help="sampling interval of sigma in seconds")
    p.add_argument("--halflife", type=float, default=3600.0, help="EWMA half-life in seconds")
    p.add_argument("--decimals0", type=int, default=18, help="swaps: token0 decimals")
    p.add_argument("--decimals1", type=int, default=6, help="swaps: token1 decimals")
    p.set_defaults(func=_run)
