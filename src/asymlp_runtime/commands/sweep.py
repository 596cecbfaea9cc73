"""``asymlp sweep CONFIG``: the ``[sweep]`` grid of a backtest config, ranked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _run(args: argparse.Namespace) -> int:
    import pandas as pd
    from tqdm import tqdm

    from ..config import ConfigError
    from ..data.errors import DataFormatError
    from ..research.config import load_backtest_config
    from ..research.data import load_market
    from ..research.sweep import expand_grid, run_sweep

    try:
        cfg = load_backtest_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.rank_by:
        from ..research.config import METRICS

        if args.rank_by not in METRICS:
            print(f"error: --rank-by must be one of {', '.join(METRICS)}", file=sys.stderr)
            return 2
        import msgspec

        cfg = msgspec.structs.replace(cfg, sweep=msgspec.structs.replace(cfg.sweep, rank_by=args.rank_by))
    n_sets = len(expand_grid(cfg.sweep.grid))
    try:
        market = load_market(cfg.data)
    except DataFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with tqdm(total=n_sets, desc="sweep", unit="set", file=sys.stderr, disable=args.quiet) as bar:
        res = run_sweep(
            cfg,
            market,
            workers=args.workers,
            scheduler=args.scheduler,
            batch_size=args.batch_size,
            progress=bar.update,
        )
    out = Path(args.out or cfg.sweep.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res.table.to_parquet(out / "sweep.parquet", index=False)
    res.table.to_csv(out / "sweep.csv", index=False)
    print(
        f"{n_sets} parameter sets over {market.price.size:,} bars in {res.seconds:.1f} s "
        f"({res.backend}, {res.batches} batches); ranked by {cfg.sweep.rank_by} "
        f"({'ascending' if cfg.sweep.ascending else 'descending'})"
    )
    cols = [
        "rank",
        *cfg.sweep.grid.keys(),
        "sharpe",
        "return",
        "total_pnl",
        "max_drawdown_frac",
        "rebalances_per_week",
        "fees",
        "il",
        "lvr",
    ]
    if cfg.sweep.rank_by not in cols:
        cols.insert(1 + len(cfg.sweep.grid), cfg.sweep.rank_by)
    with pd.option_context(
        "display.width", 200, "display.max_columns", 30, "display.float_format", "{:,.4g}".format
    ):
        print(res.table[cols].head(cfg.sweep.top).to_string(index=False))
    print(f"\ntable: {(out / 'sweep.parquet').resolve()} (and sweep.csv)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="backtest a parameter grid ([sweep] of the config), ranked by a metric")
    p.add_argument("config", help="backtest config (TOML) with a [sweep] section")
    p.add_argument(
        "--scheduler", help="Dask distributed scheduler address (tcp://host:8786); default: local processes"
    )
    p.add_argument("--workers", type=int, help="local worker processes (default: the available CPUs)")
    p.add_argument(
        "--batch-size", type=int, help="parameter sets per task (default: about 4 tasks per worker)"
    )
    p.add_argument("--rank-by", help="metric to rank by (overrides sweep.rank_by)")
    p.add_argument("--out", help="output folder (default: sweep.out_dir of the config)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
