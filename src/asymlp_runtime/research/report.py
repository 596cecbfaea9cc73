"""Report folder of a backtest: bars.parquet, summary.json, decomposition.csv, PNG plots and a
self-contained report.html (images embedded as base64, tables inline)."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from asymlp_core.backtest import PNL_PARTS

from .config import BacktestFileConfig
from .data import MarketBars
from .runner import BacktestRun

__all__ = [
    "PlotSeries",
    "bucket_edges",
    "decomposition_frame",
    "draw_plots",
    "finish_report",
    "format_summary",
    "plot_series",
    "write_report",
    "write_tables",
]

PART_LABELS = {
    "fees": "Fees",
    "hodl": "HODL (price on opening amounts)",
    "il": "Impermanent loss",
    "gas": "Gas",
    "swap_cost": "Rebalance swap costs",
    "hedge_pnl": "Hedge PnL",
    "funding": "Funding",
    "hedge_cost": "Hedge costs",
}
PLOTS = ("price_range.png", "inventory_hedge.png", "pnl_decomposition.png")


def _money(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


class DecompositionRow(NamedTuple):
    part: str
    key: str
    pnl: float
    pct_of_budget: float


def decomposition_frame(summary: dict[str, Any]) -> list[DecompositionRow]:
    """PnL parts (token1, costs negative) with their share of the budget, and the total."""
    dec = summary["decomposition"]
    keys = [(PART_LABELS[name], name) for name, _ in PNL_PARTS] + [("Total", "total")]
    return [DecompositionRow(label, key, dec[key], dec[key] / summary["budget"] * 100.0) for label, key in keys]


def _write_decomposition_csv(path: Path, summary: dict[str, Any]) -> None:
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(DecompositionRow._fields)
        for row in decomposition_frame(summary):
            w.writerow([row.part, row.key, repr(row.pnl), repr(row.pct_of_budget)])


def _summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Data", summary["source"]),
        ("Bars", f"{summary['bars']:,} x {summary['bar_seconds']:g} s ({summary['days']:.1f} days)"),
        ("Budget (token1)", _money(summary["budget"])),
        (
            "Pool fee",
            f"{summary['fee'] * 100:.2f}% (volume x{summary['volume_scale']:g} of the data's,"
            f" other LPs' liquidity {summary['pool_liquidity']:.4g})",
        ),
        ("Final equity", _money(summary["final_equity"])),
        ("Total PnL", f"{_money(summary['total_pnl'])} ({summary['return'] * 100:+.1f}%)"),
        ("LVR (diagnostic, inside IL)", _money(summary["lvr"])),
        ("Sharpe (daily, annualised)", f"{summary['sharpe']:.2f}"),
        ("Max drawdown", f"{_money(summary['max_drawdown'])} ({summary['max_drawdown_frac'] * 100:.2f}%)"),
        ("Rebalances", f"{summary['rebalances']:,} ({summary['rebalances_per_week']:.1f} per week)"),
        (
            "Median range width",
            f"{summary['median_width_ticks']:.0f} ticks ({summary['median_width_pct']:.1f}%)",
        ),
        ("Time in range", f"{summary['time_in_range'] * 100:.1f}%"),
        ("Hedge turnover (token0)", _money(summary["hedge_turnover"])),
    ]


def format_summary(summary: dict[str, Any]) -> str:
    """The summary and the PnL decomposition as a plain-text table."""
    rows = _summary_rows(summary)
    w = max(len(k) for k, _ in rows)
    lines = [f"{k:<{w}}  {v}" for k, v in rows]
    dec = decomposition_frame(summary)
    lw = max(len(r.part) for r in dec)
    lines += ["", f"{'PnL decomposition (token1)':<{lw}}  {'PnL':>14}  {'% budget':>9}"]
    for i, r in enumerate(dec):
        if i == len(dec) - 1:
            lines.append("-" * (lw + 27))
        lines.append(f"{r.part:<{lw}}  {r.pnl:>14,.2f}  {r.pct_of_budget:>8.2f}%")
    return "\n".join(lines)


# --------------------------------------------------------------------------- plots
# The plots are drawn in two steps: ``plot_series`` reduces the year of bars to one point per
# bucket (a few thousand values per line), ``draw_plots`` renders those with matplotlib.  The
# per-bar arrays can be released in between, so that they and matplotlib are never resident
# at the same time.
def bucket_edges(n: int, points: int) -> np.ndarray:
    """Start indices of at most ``points`` contiguous buckets covering ``range(n)``."""
    k = max(1, min(points, n))
    return np.unique(np.linspace(0, n, k + 1).astype(np.int64)[:-1])


def _times(ts_ns: np.ndarray) -> np.ndarray:
    return ts_ns.astype("datetime64[ns]")


def _mean(a: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.diff(np.append(edges, a.size))
    return np.add.reduceat(a, edges) / counts


class PlotSeries(NamedTuple):
    """What the three plots draw, reduced to one value per bucket of bars (``t``: bucket starts).

    ``price``, ``inventory`` and ``pnl`` hold the lines of each plot by name."""

    n_bars: int
    n_buckets: int
    t: np.ndarray
    price: dict[str, Any]
    inventory: dict[str, Any]
    pnl: dict[str, Any]


def _price_series(market: MarketBars, bars, raw_per_human: float, edges: np.ndarray) -> dict[str, Any]:
    p = market.price
    ln_base = math.log(1.0001)
    lower = np.exp(bars["tick_lower"].astype(np.float64) * ln_base) / raw_per_human
    upper = np.exp(bars["tick_upper"].astype(np.float64) * ln_base) / raw_per_human
    out: dict[str, Any] = {
        "range_lower": np.minimum.reduceat(lower, edges),
        "range_upper": np.maximum.reduceat(upper, edges),
        "hi": np.maximum.reduceat(p, edges),
        "lo": np.minimum.reduceat(p, edges),
        "close": p[np.minimum(edges + np.diff(np.append(edges, p.size)) - 1, p.size - 1)],
        "rebalances": None,
    }
    del lower, upper
    reb = np.flatnonzero(bars["reason"][1:]) + 1
    if 0 < reb.size <= 2000:
        out["rebalances"] = (_times(market.ts_ns[reb]), p[reb].copy())
    return out


def _inventory_series(bars, edges: np.ndarray) -> dict[str, Any]:
    x = bars["amount0"]
    h = bars["hedge_position"]
    out: dict[str, Any] = {}
    for key, series in (("lp", x), ("hedge", h)):
        out[key] = (
            np.minimum.reduceat(series, edges),
            np.maximum.reduceat(series, edges),
            _mean(series, edges),
        )
    net = x + h
    out["net_mean"] = _mean(net, edges)
    out["net_abs_max"] = np.abs(net).max()
    return out


def _pnl_series(bars, edges: np.ndarray) -> dict[str, Any]:
    # cumulative parts at the bucket ends, accumulated a chunk of bars at a time
    ends = np.append(edges[1:], bars.size) - 1
    cum = {name: np.zeros(ends.size) for name, _ in PNL_PARTS}
    running = dict.fromkeys(cum, 0.0)
    for start, block in bars.chunks():
        stop = start + block.size
        sel = (ends >= start) & (ends < stop)
        for name, sign in PNL_PARTS:
            c = np.cumsum(sign * block[name]) + running[name]
            cum[name][sel] = c[ends[sel] - start]
            running[name] = float(c[-1])
    return {"cum": cum, "final": running}


def plot_series(run: BacktestRun, market: MarketBars, points: int) -> PlotSeries:
    """The plots' data: every line reduced to at most ``points`` buckets of bars."""
    edges = bucket_edges(run.bars.size, points)
    return PlotSeries(
        n_bars=int(market.price.size),
        n_buckets=int(edges.size),
        t=_times(market.ts_ns[edges]),
        price=_price_series(market, run.bars, run.inputs.params.raw_per_human, edges),
        inventory=_inventory_series(run.bars, edges),
        pnl=_pnl_series(run.bars, edges),
    )


def _draw_price_range(ax, s: PlotSeries) -> None:
    t, d = s.t, s.price
    ax.fill_between(
        t,
        d["range_lower"],
        d["range_upper"],
        step="post",
        color="tab:orange",
        alpha=0.3,
        linewidth=0,
        label="LP range (lower to upper tick)",
    )
    ax.fill_between(t, d["lo"], d["hi"], step="post", color="tab:blue", alpha=0.35, linewidth=0)
    ax.plot(
        t,
        d["close"],
        color="tab:blue",
        linewidth=0.8,
        drawstyle="steps-post",
        label="pool price (bucket close; shade: high-low)",
    )
    if d["rebalances"] is not None:
        reb_t, reb_p = d["rebalances"]
        ax.plot(
            reb_t,
            reb_p,
            linestyle="none",
            marker="|",
            markersize=5,
            color="black",
            alpha=0.5,
            label=f"rebalance ({reb_p.size})",
        )
    ax.set_ylabel("price (token1 per token0)")
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_title(
        f"Pool price and the LP range ({s.n_bars:,} bars, one point per {max(1, s.n_bars // s.n_buckets):,} bars)"
    )
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)


def _draw_inventory(ax, s: PlotSeries) -> None:
    t, d = s.t, s.inventory
    for key, color, label in (("lp", "tab:green", "LP token0"), ("hedge", "tab:red", "hedge (perpetual, token0)")):
        lo, hi, mean = d[key]
        ax.fill_between(t, lo, hi, step="post", color=color, alpha=0.2, linewidth=0)
        ax.plot(
            t,
            mean,
            color=color,
            linewidth=0.9,
            drawstyle="steps-post",
            label=f"{label}: mean (shade: min-max)",
        )
    ax.plot(
        t,
        d["net_mean"],
        color="black",
        linewidth=0.9,
        drawstyle="steps-post",
        label=f"net token0 (LP + hedge), max |net| {d['net_abs_max']:,.1f}",
    )
    ax.axhline(0.0, color="grey", linewidth=0.6)
    ax.set_ylabel("position (token0)")
    ax.set_title("LP inventory and its perpetual hedge")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def _draw_decomposition(ax, s: PlotSeries) -> None:
    t, cum, final = s.t, s.pnl["cum"], s.pnl["final"]
    colors = dict(
        zip(
            [n for n, _ in PNL_PARTS],
            [
                "tab:green",
                "tab:gray",
                "tab:purple",
                "tab:brown",
                "tab:orange",
                "tab:red",
                "tab:cyan",
                "tab:pink",
            ],
            strict=True,
        )
    )
    total_last = np.zeros(t.size)
    for name, _ in PNL_PARTS:
        total_last += cum[name]
        if np.any(cum[name] != 0):
            label = f"{PART_LABELS[name]}: {_money(final[name])}"
            ax.plot(t, cum[name], linewidth=0.9, color=colors[name], label=label)
    ax.plot(t, total_last, color="black", linewidth=1.6, label=f"Total: {_money(sum(final.values()))}")
    ax.axhline(0.0, color="grey", linewidth=0.6)
    ax.set_ylabel("cumulative PnL (token1)")
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_title("Cumulative PnL decomposition (token1; costs negative; LVR is inside IL)")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.grid(alpha=0.3)


def draw_plots(series: PlotSeries, out_dir: Path) -> list[Path]:
    """Render :data:`PLOTS` from :func:`plot_series` into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    paths = []
    for name, draw in zip(PLOTS, (_draw_price_range, _draw_inventory, _draw_decomposition), strict=True):
        fig, ax = plt.subplots(figsize=(11, 4.8), dpi=100)
        draw(ax, series)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlabel("time (UTC)")
        fig.tight_layout()
        path = Path(out_dir) / name
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def write_plots(run: BacktestRun, market: MarketBars, out_dir: Path, points: int) -> list[Path]:
    """:func:`plot_series` then :func:`draw_plots`."""
    return draw_plots(plot_series(run, market, points), out_dir)


# --------------------------------------------------------------------------- files
def _arrow_column(pa, values: np.ndarray, type_=None):
    """A null-free Arrow array over a contiguous copy of ``values`` (``pa.array`` on a NumPy
    array would import pandas to check for pandas objects: ~40 MB for nothing here)."""
    a = np.ascontiguousarray(values)
    if a.dtype == np.bool_ or a.dtype.kind not in "iuf":  # Arrow packs booleans into bits
        raise TypeError(f"_arrow_column: numeric columns only, got {a.dtype}")
    return pa.Array.from_buffers(type_ or pa.from_numpy_dtype(a.dtype), a.size, [None, pa.py_buffer(a)])


def write_bars_parquet(path: Path, run: BacktestRun, market: MarketBars, chunk: int = 65_536) -> None:
    """Write the per-bar results in row groups of ``chunk`` rows, so that a year of minutes
    never exists twice in memory (the columns of one row group at a time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    time_type = pa.timestamp("ns", tz="UTC")
    writer = None
    try:
        for start, block in run.bars.chunks(chunk):
            stop = start + block.size
            cols = {"time": _arrow_column(pa, market.ts_ns[start:stop].astype(np.int64), time_type),
                    "price": _arrow_column(pa, market.price[start:stop])}
            for name in block.dtype.names:
                cols[name] = _arrow_column(pa, block[name])
            # the volume the run's tier traded (pool.tiers.<fee>.volume_scale of the data's)
            cols["volume1"] = _arrow_column(pa, market.volume1[start:stop] * run.inputs.volume_scale)
            table = pa.table(cols)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            del table, cols, block
    finally:
        if writer is not None:
            writer.close()


def _html_table(rows: list[tuple[str, str]], header: tuple[str, ...] | None = None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _html(summary: dict[str, Any], cfg: BacktestFileConfig, images: list[Path]) -> str:
    import msgspec

    dec = decomposition_frame(summary)
    dec_rows = [(r.part, f"{r.pnl:,.2f}", f"{r.pct_of_budget:.2f}%") for r in dec]
    imgs = "\n".join(
        f'<figure><img alt="{p.stem}" '
        f'src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        f"</figure>"
        for p in images
    )
    cfg_json = json.dumps(msgspec.to_builtins(cfg), indent=2)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>asymlp backtest report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 1150px; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; }}
td:nth-child(n+2) {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head><body>
<h1>LP + hedge backtest</h1>
<h2>Summary</h2>
{_html_table(_summary_rows(summary))}
<h2>PnL decomposition (token1)</h2>
<p>Total = fees + HODL + IL - gas - swap costs + hedge PnL + funding - hedge costs; LVR is measured
inside the IL term.</p>
{_html_table(dec_rows, ("part", "PnL", "% of budget"))}
<h2>Plots</h2>
{imgs}
<h2>Configuration</h2>
<pre>{html.escape(cfg_json)}</pre>
</body></html>
"""


def write_tables(run: BacktestRun, market: MarketBars, out_dir: str | Path) -> dict[str, Path]:
    """The report's data files (bars.parquet, summary.json, decomposition.csv); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["bars"] = out / "bars.parquet"
    write_bars_parquet(paths["bars"], run, market, chunk=16_384)
    paths["summary"] = out / "summary.json"
    paths["summary"].write_text(json.dumps(run.summary, indent=2))
    paths["decomposition"] = out / "decomposition.csv"
    _write_decomposition_csv(paths["decomposition"], run.summary)
    return paths


def finish_report(
    summary: dict[str, Any], cfg: BacktestFileConfig, out_dir: str | Path, series: PlotSeries | None
) -> dict[str, Path]:
    """The plots (when ``series`` is given) and report.html; needs no per-bar array, so the run
    can be released before it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    images = draw_plots(series, out) if series is not None else []
    for p in images:
        paths[p.stem] = p
    paths["html"] = out / "report.html"
    paths["html"].write_text(_html(summary, cfg, images), encoding="utf-8")
    return paths


def write_report(
    run: BacktestRun,
    market: MarketBars,
    cfg: BacktestFileConfig,
    out_dir: str | Path,
    plots: bool = True,
    plot_points: int = 2000,
) -> dict[str, Path]:
    """Write the report folder; returns the paths written, by name (:func:`write_tables`,
    :func:`plot_series`, :func:`finish_report` in turn)."""
    series = plot_series(run, market, plot_points) if plots else None
    paths = write_tables(run, market, out_dir)
    paths.update(finish_report(run.summary, cfg, out_dir, series))
    return paths
