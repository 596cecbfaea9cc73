"""``asymlp backtest CONFIG``: the LP + hedge backtest, a summary table and a report folder."""

from __future__ import annotations

import argparse
import os
import sys


def _run(args: argparse.Namespace) -> int:
    # Arrow's default allocator (mimalloc) keeps ~15 MB of arenas after the one sequential
    # Parquet write of the report; the system allocator does not.  Arrow reads the variable when
    # pyarrow is imported (no effect if it already is); a user's own choice is kept.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    from tqdm import tqdm

    from ..config import ConfigError
    from ..data.errors import DataFormatError
    from ..research.config import load_backtest_config
    from ..research.data import load_market
    from ..research.report import finish_report, format_summary, plot_series, write_tables
    from ..research.runner import run_backtest

    try:
        cfg = load_backtest_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = args.out or cfg.report.out_dir
    plots = cfg.report.plots and not args.no_plots
    with tqdm(total=3, desc="loading data", unit="step", file=sys.stderr, disable=args.quiet) as bar:
        try:
            market = load_market(cfg.data)
        except DataFormatError as exc:
            bar.close()
            print(f"error: {exc}", file=sys.stderr)
            return 2
        bar.update()
        bar.set_description(f"backtest ({market.price.size:,} bars)")
        run = run_backtest(cfg, market, file=args.config)
        bar.update()
        bar.set_description("writing report")
        # peak memory: the plots' buckets are taken before pyarrow is imported, and the per-bar
        # arrays (about 55 MB for a year of minutes) are released before matplotlib is
        series = plot_series(run, market, cfg.report.plot_points) if plots else None
        paths = write_tables(run, market, out_dir)
        summary = run.summary
        del run, market
        paths.update(finish_report(summary, cfg, out_dir, series))
        bar.update()
        bar.set_description("done")
    print(format_summary(summary))
    print(f"\nreport: {paths['html'].resolve()}")
    print(f"folder: {paths['html'].parent.resolve()} ({', '.join(p.name for p in paths.values())})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backtest", help="LP + hedge backtest with a summary table, plots and an HTML report")
    p.add_argument("config", help="backtest config (TOML), e.g. config/backtest.toml")
    p.add_argument("--out", help="report folder (default: report.out_dir of the config)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
