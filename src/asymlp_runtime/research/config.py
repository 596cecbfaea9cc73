"""Backtest/sweep configuration files (TOML) decoded into frozen msgspec Structs.

A file has the sections ``[data]``, ``[pool]``, ``[strategy]`` (with ``[strategy.rebalance]``),
``[costs]``, ``[hedge]``, ``[report]`` and, for ``asymlp sweep``, ``[sweep]``.  Every section
and every key is optional except ``data.path`` for file sources; unknown keys are refused.
Errors raise :class:`asymlp_runtime.config.ConfigError` naming the file, the dotted key
(``strategy.rebalance.band``) and the expected type (``float >= 0``).

Time units of the strategy (``tau``, ``max_age``, ``min_interval``) are **bars** of the data
(minutes for the synthetic default): the backtester's clock is the bar index.

:func:`to_core` turns a decoded file into the core's NamedTuples (``LPStrategyParams``,
``LPBacktestConfig``), building ``RebalanceParams`` through
:func:`asymlp_core.rebalance.api.rebalance_params` (which checks the hysteresis thresholds)
and the rest through the backtester's own checks; their ``ValueError`` is re-raised as a
``ConfigError`` naming the key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import msgspec
import msgspec.inspect as mi

from asymlp_core.backtest import RESULT_FIELDS, LPBacktestConfig
from asymlp_core.backtest.lp import check_backtest_config, check_strategy_params
from asymlp_core.fee_tier.api import FEE_TIERS
from asymlp_core.rebalance.api import rebalance_params
from asymlp_core.rebalance.enums import (
    REASON_INVENTORY,
    REASON_PRICE_BAND,
    REASON_RESERVATION,
    REASON_STALE,
)
from asymlp_core.strategy import QUOTE_AS, QUOTE_GLFT, LPStrategyParams

from ..config import ConfigError, _unwrap
from ..config import _type_at as _config_type_at

__all__ = [
    "METRICS",
    "BacktestFileConfig",
    "CoreInputs",
    "ConfigError",
    "apply_overrides",
    "decode_config",
    "load_backtest_config",
    "sweep_fields",
    "to_core",
]

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]
Decimals = Annotated[int, msgspec.Meta(ge=0, le=36)]
TriggerName = Literal["price_band", "inventory", "reservation", "stale"]

TRIGGER_BITS = {
    "price_band": REASON_PRICE_BAND,
    "inventory": REASON_INVENTORY,
    "reservation": REASON_RESERVATION,
    "stale": REASON_STALE,
}
FEE_TIER_SPACING = dict(FEE_TIERS)
MINUTES_PER_YEAR = 525_600

#: Columns of a sweep row and valid ``sweep.rank_by`` values (the decomposition parts are
#: signed: costs are negative).
METRICS = (*RESULT_FIELDS, "rebalances_per_week")


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class DataSection(_Section):
    """``[data]``: where the bars come from.

    ``source``: ``"synthetic"`` (:func:`asymlp_core.synthetic.default_market` with ``n_bars``,
    ``seed``, ``s0``), ``"klines"`` (a Binance klines CSV/zip: close price, quote volume as the
    pool's token1 volume times ``volume_scale``) or ``"swaps"`` (Uniswap V3 ``Swap`` events,
    CSV/Parquet: price from ``sqrtPriceX96`` with the decimals, ``|amount1|`` as volume,
    aggregated into bars of ``bar_seconds`` when the file has a ``timestamp`` column, one bar
    per swap otherwise).  ``decimals0``/``decimals1``: the pool's token decimals (WETH 18,
    USDC 6), used for the raw/human price conversion and tick alignment.
    """

    source: Literal["synthetic", "klines", "swaps"] = "synthetic"
    n_bars: PositiveInt = MINUTES_PER_YEAR
    seed: Annotated[int, msgspec.Meta(ge=0)] = 7
    s0: PositiveFloat = 3000.0
    path: str | None = None
    decimals0: Decimals = 18
    decimals1: Decimals = 6
    volume_scale: PositiveFloat = 1.0
    bar_seconds: PositiveFloat = 60.0


class TierMarket(_Section):
    """``[pool.tiers.<fee>]``: the market of one fee tier's pool, relative to the data.

    ``volume_scale``: the tier's traded volume as a multiple of the data's volume;
    ``pool_liquidity``: the other LPs' active liquidity in that pool (human units; default
    ``pool.pool_liquidity``).  Pools of one pair at different fees trade very different volumes
    (most of a major pair's flow goes to its lowest tier); without these a fee-tier sweep gives
    every tier the same volume, and the highest fee wins for that reason alone.
    """

    volume_scale: PositiveFloat = 1.0
    pool_liquidity: NonNegativeFloat | None = None


class TierTable(_Section):
    """``[pool.tiers]``: a :class:`TierMarket` per fee tier (keys ``500``, ``3000``, ``10000``)."""

    t500: TierMarket | None = msgspec.field(default=None, name="500")
    t3000: TierMarket | None = msgspec.field(default=None, name="3000")
    t10000: TierMarket | None = msgspec.field(default=None, name="10000")

    def get(self, fee_tier: int) -> TierMarket | None:
        return {500: self.t500, 3000: self.t3000, 10000: self.t10000}[fee_tier]


class PoolSection(_Section):
    """``[pool]``: the fee tier (500, 3000 or 10000 pips: fee and tick spacing) and the other
    LPs' active liquidity in human units (``L_raw / 10**((decimals0 + decimals1) / 2)``); the
    default is the synthetic market's own pool (``4e7 / (2 sqrt(3000))``).  ``[pool.tiers.<fee>]``
    (optional) gives a tier its own volume and liquidity (:class:`TierMarket`): the entry of the
    chosen ``fee_tier`` applies, its ``pool_liquidity`` replacing ``pool.pool_liquidity``."""

    fee_tier: Literal[500, 3000, 10000] = 3000
    pool_liquidity: NonNegativeFloat = 4e7 / (2.0 * math.sqrt(3000.0))
    tiers: TierTable = TierTable()


class RebalanceSection(_Section):
    """``[strategy.rebalance]``: trigger thresholds (see ``asymlp_core.rebalance``); times in bars."""

    band: Annotated[float, msgspec.Meta(ge=0, le=0.5)] = 0.1
    band_rearm: Annotated[float, msgspec.Meta(ge=0, le=0.5)] = 0.2
    inventory_threshold: PositiveFloat = 0.4
    inventory_rearm: NonNegativeFloat = 0.3
    reservation_tolerance_ticks: PositiveFloat = 450.0
    reservation_rearm_ticks: NonNegativeFloat = 225.0
    max_age: PositiveFloat = 10_080.0
    min_interval: NonNegativeFloat = 60.0
    triggers: tuple[TriggerName, ...] = ("price_band", "inventory", "reservation", "stale")


class StrategySection(_Section):
    """``[strategy]``: the fields of ``LPStrategyParams`` (quote model, range, skew)."""

    model: Literal["as", "glft"] = "as"
    gamma: PositiveFloat = 1.0
    k: PositiveFloat = 20.0
    A: PositiveFloat = 1.0
    xi: NonNegativeFloat = 0.1
    tau: PositiveFloat = 1440.0
    range_scale: PositiveFloat = 1.0
    skew: NonNegativeFloat = 0.5
    q_max: PositiveFloat = 0.5
    inventory_target: Fraction = 0.5
    min_width_ticks: PositiveInt = 120
    max_width_ticks: PositiveInt = 20_000
    rebalance: RebalanceSection = RebalanceSection()


class CostsSection(_Section):
    """``[costs]``: the fields of ``LPBacktestConfig`` other than the pool fee.

    ``swap_fee`` (cost fraction of the token swap of a rebalance) defaults to the pool's fee
    plus ``swap_slippage``, so that a fee-tier sweep prices its rebalances at each tier.
    """

    budget: PositiveFloat = 1_000_000.0
    sigma0: PositiveFloat = 0.0008
    ewma_lambda: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.999
    gas_cost: NonNegativeFloat = 5.0
    swap_fee: NonNegativeFloat | None = None
    swap_slippage: NonNegativeFloat = 0.0005
    compound_fees: bool = True


class HedgeSection(_Section):
    """``[hedge]``: the perpetual hedge of the LP's token0 (band, size rules in token0).

    ``funding_rate_8h``: the perpetual's funding rate per 8 hours (positive: longs pay shorts),
    spread evenly over the bars.
    """

    enabled: bool = True
    band: NonNegativeFloat = 25.0
    to_band_edge: bool = False
    min_size: NonNegativeFloat = 0.01
    step: NonNegativeFloat = 0.01
    fee: NonNegativeFloat = 0.0004
    funding_rate_8h: float = 0.0001


class ReportSection(_Section):
    """``[report]``: output folder, plots on/off and the number of points per plotted line."""

    out_dir: str = "reports/backtest"
    plots: bool = True
    plot_points: Annotated[int, msgspec.Meta(ge=100, le=200_000)] = 2000


class SweepSection(_Section):
    """``[sweep]``: a grid (``"section.field" = [values]``, the product of all lists), the
    metric to rank by and its order, the number of rows printed, the sets per task."""

    grid: dict[str, list[Any]] = {}
    rank_by: str = "sharpe"
    ascending: bool = False
    top: PositiveInt = 10
    batch_size: Annotated[int, msgspec.Meta(ge=0)] = 0
    out_dir: str = "reports/sweep"


class BacktestFileConfig(_Section):
    data: DataSection = DataSection()
    pool: PoolSection = PoolSection()
    strategy: StrategySection = StrategySection()
    costs: CostsSection = CostsSection()
    hedge: HedgeSection = HedgeSection()
    report: ReportSection = ReportSection()
    sweep: SweepSection = SweepSection()


# --------------------------------------------------------------------------- error messages
_AT_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_FIELD_NAME = re.compile(r"field `([^`]+)`")


def _render(t: mi.Type | None) -> str:
    match t:
        case None:
            return "a valid value"
        case mi.FloatType():
            bounds = [
                f">= {t.ge}" if t.ge is not None else "",
                f"> {t.gt}" if t.gt is not None else "",
                f"<= {t.le}" if t.le is not None else "",
                f"< {t.lt}" if t.lt is not None else "",
            ]
            b = " and ".join(x for x in bounds if x)
            return "float" + (f" {b}" if b else "")
        case mi.IntType():
            bounds = [
                f">= {t.ge}" if t.ge is not None else "",
                f"> {t.gt}" if t.gt is not None else "",
                f"<= {t.le}" if t.le is not None else "",
                f"< {t.lt}" if t.lt is not None else "",
            ]
            b = " and ".join(x for x in bounds if x)
            return "int" + (f" {b}" if b else "")
        case mi.BoolType():
            return "bool (true/false)"
        case mi.StrType():
            return "str"
        case mi.LiteralType():
            return "one of " + ", ".join(repr(v) for v in t.values)
        case mi.UnionType():  # TOML has no null: an optional key is just left out
            return " or ".join(_render(x) for x in t.types if not isinstance(x, mi.NoneType))
        case mi.NoneType():
            return "none"
        case mi.VarTupleType() | mi.ListType():
            return f"array of {_render(t.item_type)}"
        case mi.DictType():
            return f"table of {_render(t.value_type)}"
        case mi.StructType():
            return f"table [{t.cls.__name__}]"
        case mi.AnyType():
            return "a value"
        case _:
            return type(t).__name__.removesuffix("Type").lower()


def _type_at(parts: list[str]) -> mi.Type | None:
    return _config_type_at(parts, BacktestFileConfig)


def _key_name(parts: list[str]) -> str:
    """Dotted key of a path: a table's keys joined by dots (``pool.tiers.500.volume_scale``), an
    array's indices in brackets (``sweep.grid."strategy.k"[2]``)."""
    out = ""
    for i, part in enumerate(parts):
        parent = _unwrap(_type_at(parts[:i]))
        if isinstance(parent, mi.VarTupleType | mi.ListType):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def _from_validation_error(file: str, exc: msgspec.ValidationError) -> ConfigError:
    m = _AT_PATH.match(str(exc))
    detail = m.group("msg") if m else str(exc)
    path = (m.group("path") or "") if m else ""
    parts = [p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    if detail.startswith("Object contains unknown field"):
        name = _FIELD_NAME.search(detail)
        allowed = _unwrap(_type_at(parts))
        parts.append(name.group(1) if name else "?")
        keys = ", ".join(f.encode_name for f in allowed.fields) if isinstance(allowed, mi.StructType) else ""
        return ConfigError(file, _key_name(parts), f"one of the known keys: {keys}", "unknown key")
    t = _type_at(parts)
    return ConfigError(file, _key_name(parts) or "<root>", _render(t), detail)


def decode_config(data: dict, file: str = "<config>") -> BacktestFileConfig:
    """Convert parsed TOML (a dict) into a checked :class:`BacktestFileConfig`."""
    try:
        cfg = msgspec.convert(data, BacktestFileConfig, strict=True)
    except msgspec.ValidationError as exc:
        raise _from_validation_error(file, exc) from None
    _check(cfg, file)
    return cfg


def _check(cfg: BacktestFileConfig, file: str) -> None:
    d = cfg.data
    if d.source != "synthetic" and not d.path:
        raise ConfigError(
            file,
            "data.path",
            f"str (a {d.source} file) when data.source = {d.source!r}",
            "required key is missing",
        )
    st = cfg.strategy
    if st.max_width_ticks < st.min_width_ticks:
        raise ConfigError(
            file, "strategy.max_width_ticks", f"int >= strategy.min_width_ticks ({st.min_width_ticks})"
        )
    to_core(cfg, file)  # the core's own checks, named by key
    if cfg.sweep.rank_by not in METRICS:
        raise ConfigError(
            file,
            "sweep.rank_by",
            "one of " + ", ".join(repr(m) for m in METRICS),
            f"got {cfg.sweep.rank_by!r}",
        )
    for key, values in cfg.sweep.grid.items():
        _check_grid_entry(cfg, file, key, values)


def _check_grid_entry(cfg: BacktestFileConfig, file: str, key: str, values: list[Any]) -> None:
    where = f'sweep.grid."{key}"'
    section, _, field = key.partition(".")
    t = _type_at(key.split("."))
    if not field or t is None or isinstance(_unwrap(t), mi.StructType) or section == "sweep":
        known = ", ".join(sweep_fields())
        raise ConfigError(file, where, f"a key section.field of a scalar setting ({known})", "unknown field")
    if not values:
        raise ConfigError(file, where, "a non-empty array of values")
    for i, v in enumerate(values):
        try:
            apply_overrides(cfg, {key: v}, file=file)
        except ConfigError as exc:
            raise ConfigError(file, f"{where}[{i}]", exc.expected, exc.detail or f"{key} = {v!r}") from None


def sweep_fields() -> list[str]:
    """Every ``section.field`` (and ``strategy.rebalance.field``) a sweep grid may vary."""
    out = []

    def walk(t: mi.StructType, prefix: str) -> None:
        for f in t.fields:
            ft = _unwrap(f.type)
            if isinstance(ft, mi.StructType):
                walk(ft, f"{prefix}{f.encode_name}.")
            elif not prefix.startswith("sweep.") and not prefix.startswith("report."):
                out.append(prefix + f.encode_name)

    walk(mi.type_info(BacktestFileConfig), "")
    return out


def apply_overrides(
    cfg: BacktestFileConfig, overrides: dict[str, Any], file: str = "<sweep>"
) -> BacktestFileConfig:
    """A copy of ``cfg`` with ``{"section.field": value}`` applied and checked."""
    raw = msgspec.to_builtins(cfg)
    for key, value in overrides.items():
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            if node.get(part) is None:  # an optional table not in the file (pool.tiers.500)
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    raw.pop("sweep", None)
    out = decode_config(raw, file)
    return msgspec.structs.replace(out, sweep=cfg.sweep)


# --------------------------------------------------------------------------- to the core
class CoreInputs(NamedTuple):
    params: LPStrategyParams
    config: LPBacktestConfig
    pool_liquidity: float
    funding_per_bar: float
    #: the chosen tier's volume as a multiple of the data's (``pool.tiers.<fee>.volume_scale``)
    volume_scale: float = 1.0


def to_core(cfg: BacktestFileConfig, file: str = "<config>", bar_seconds: float | None = None) -> CoreInputs:
    """The core's inputs for a decoded file; ``bar_seconds`` (default ``data.bar_seconds``, 60 s
    for the synthetic minute bars) sets the funding per bar and the bars per day of the Sharpe."""
    seconds = cfg.data.bar_seconds if bar_seconds is None else bar_seconds
    st, rb, pool, costs, hedge = cfg.strategy, cfg.strategy.rebalance, cfg.pool, cfg.costs, cfg.hedge
    enabled = 0
    for name in rb.triggers:
        enabled |= TRIGGER_BITS[name]
    try:
        rbp = rebalance_params(
            band=rb.band,
            band_rearm=rb.band_rearm,
            inventory_target=st.inventory_target,
            inventory_threshold=rb.inventory_threshold,
            inventory_rearm=rb.inventory_rearm,
            reservation_tolerance_ticks=rb.reservation_tolerance_ticks,
            reservation_rearm_ticks=rb.reservation_rearm_ticks,
            max_age=rb.max_age,
            min_interval=rb.min_interval,
            enabled=enabled,
        )
    except ValueError as exc:
        raise ConfigError(
            file, _key_in("strategy.rebalance", str(exc)), "consistent rebalance thresholds", str(exc)
        ) from None
    fee = pool.fee_tier / 1e6
    params = LPStrategyParams(
        model=QUOTE_AS if st.model == "as" else QUOTE_GLFT,
        gamma=st.gamma,
        k=st.k,
        A=st.A,
        xi=st.xi,
        tau=st.tau,
        range_scale=st.range_scale,
        skew=st.skew,
        q_max=st.q_max,
        inventory_target=st.inventory_target,
        tick_spacing=FEE_TIER_SPACING[pool.fee_tier],
        min_width_ticks=st.min_width_ticks,
        max_width_ticks=st.max_width_ticks,
        raw_per_human=10.0 ** (cfg.data.decimals1 - cfg.data.decimals0),
        hedge=int(hedge.enabled),
        hedge_band=hedge.band,
        hedge_to_band_edge=int(hedge.to_band_edge),
        hedge_min_size=hedge.min_size,
        hedge_step=hedge.step,
        rebalance=rbp,
    )
    config = LPBacktestConfig(
        fee=fee,
        budget=costs.budget,
        sigma0=costs.sigma0,
        ewma_lambda=costs.ewma_lambda,
        gas_cost=costs.gas_cost,
        swap_fee=costs.swap_fee if costs.swap_fee is not None else fee + costs.swap_slippage,
        hedge_fee=hedge.fee,
        compound_fees=int(costs.compound_fees),
        bars_per_day=max(1, int(round(86_400.0 / seconds))),
    )
    try:
        params = check_strategy_params(params)
    except ValueError as exc:
        raise ConfigError(
            file, _key_in("strategy", str(exc), prefix="LPStrategyParams."), "a valid strategy", str(exc)
        ) from None
    try:
        config = check_backtest_config(config)
    except ValueError as exc:
        raise ConfigError(
            file, _key_in("costs", str(exc), prefix="LPBacktestConfig."), "valid costs", str(exc)
        ) from None
    funding = hedge.funding_rate_8h * seconds / 28_800.0
    tier = pool.tiers.get(pool.fee_tier)
    pool_liquidity = pool.pool_liquidity
    volume_scale = 1.0
    if tier is not None:
        volume_scale = tier.volume_scale
        if tier.pool_liquidity is not None:
            pool_liquidity = tier.pool_liquidity
    return CoreInputs(params, config, float(pool_liquidity), float(funding), float(volume_scale))


def _key_in(section: str, message: str, prefix: str = "") -> str:
    """The dotted key a core error message is about (its first word), under ``section``."""
    word = message.split()[0] if message else ""
    word = word.removeprefix(prefix).rstrip(":")
    return f"{section}.{word}" if word.isidentifier() else section


def load_backtest_config(path: str | os.PathLike[str]) -> BacktestFileConfig:
    """Load and check a backtest/sweep config file.

    Raises
    ------
    ConfigError
        Unreadable file, bad TOML, unknown key, wrong type or value, inconsistent thresholds;
        the message names the file, the key and the expected type.
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "", "a readable file", exc.strerror or type(exc).__name__) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", "valid TOML", str(exc)) from None
    return decode_config(raw, file)
