"""Seeded synthetic markets: the embedded default data of the backtests and the devnet flow.

Thin validated wrappers over :mod:`asymlp_core.synthetic.nb`:

- :func:`gbm_jump_regime`: a price path (GBM + Merton jumps + Markov regimes).
- :func:`hawkes_arrivals`: self-exciting trade arrival times.
- :func:`swap_flow`: a pool tracking a reference price through noise traders and an arbitrageur.
- :func:`default_market`: one year of one-minute bars built from the above.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import nb

MINUTES_PER_YEAR = 525_600
#: Active liquidity of the default market's pool, human units (sqrt(WETH * USDC)); 5e18 raw.
DEFAULT_POOL_LIQUIDITY = 5.0e6


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite {'non-negative' if allow_zero else 'positive'} number, got {value}")
    return value


def gbm_jump_regime(
    n: int,
    s0: float,
    dt: float,
    mu: float | np.ndarray = 0.0,
    sigma: float | np.ndarray = 0.6,
    switch_prob: np.ndarray | None = None,
    jump_intensity: float = 0.0,
    jump_mean: float = 0.0,
    jump_std: float = 0.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Price path of ``n`` points and the regime index of each (see the kernel's docstring)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    _positive("s0", s0)
    _positive("dt", dt)
    mu_a = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma_a = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    if mu_a.shape != sigma_a.shape:
        raise ValueError(f"mu and sigma need one value per regime, got {mu_a.shape} and {sigma_a.shape}")
    if not np.all(np.isfinite(sigma_a)) or np.any(sigma_a < 0):
        raise ValueError("sigma must be finite and non-negative")
    k = mu_a.shape[0]
    if switch_prob is None:
        switch_prob = np.eye(k)
    switch = np.ascontiguousarray(switch_prob, dtype=np.float64)
    if switch.shape != (k, k) or np.any(switch < 0) or not np.allclose(switch.sum(axis=1), 1.0):
        raise ValueError(f"switch_prob must be a {k}x{k} row-stochastic matrix")
    _positive("jump_intensity", jump_intensity, allow_zero=True)
    _positive("jump_std", jump_std, allow_zero=True)
    price = np.empty(n, dtype=np.float64)
    regime = np.empty(n, dtype=np.int8)
    nb.gbm_jump_regime_1d(
        price, regime, float(s0), float(dt), mu_a, sigma_a, switch, float(jump_intensity),
        float(jump_mean), float(jump_std), int(seed),
    )
    return price, regime


def hawkes_arrivals(mu: float, alpha: float, beta: float, t_end: float, seed: int = 0) -> np.ndarray:
    """Arrival times in ``[0, t_end)`` of a stationary exponential Hawkes process."""
    _positive("mu", mu)
    _positive("alpha", alpha, allow_zero=True)
    _positive("beta", beta)
    _positive("t_end", t_end)
    if alpha >= beta:
        raise ValueError(f"alpha={alpha} must be below beta={beta} (branching ratio < 1) for stationarity")
    expected = mu * t_end / (1.0 - alpha / beta)
    cap = int(expected + 10.0 * math.sqrt(expected) + 100)
    out = np.empty(cap, dtype=np.float64)
    count = nb.hawkes_arrivals(out, float(mu), float(alpha), float(beta), float(t_end), int(seed))
    return out[:count].copy()


class SwapFlow(NamedTuple):
    pool_price: np.ndarray
    noise_volume1: np.ndarray
    arb_volume1: np.ndarray


def swap_flow(
    ref_price: np.ndarray,
    liquidity: float,
    fee: float,
    noise_rate: float,
    noise_size_mean1: float,
    noise_size_sigma: float = 1.0,
    seed: int = 0,
) -> SwapFlow:
    """Pool price and token1 volumes of noise and arbitrage flow along ``ref_price``."""
    ref = np.ascontiguousarray(ref_price, dtype=np.float64)
    if ref.ndim != 1 or ref.size == 0 or not np.all(np.isfinite(ref)) or np.any(ref <= 0):
        raise ValueError("ref_price must be a non-empty 1-d array of finite positive prices")
    _positive("liquidity", liquidity)
    if not 0 <= fee < 1:
        raise ValueError(f"fee must be a fraction in [0, 1), got {fee}")
    _positive("noise_rate", noise_rate, allow_zero=True)
    _positive("noise_size_mean1", noise_size_mean1)
    _positive("noise_size_sigma", noise_size_sigma, allow_zero=True)
    out = SwapFlow(np.empty_like(ref), np.empty_like(ref), np.empty_like(ref))
    nb.swap_flow_1d(
        out.pool_price, out.noise_volume1, out.arb_volume1, ref, float(liquidity), float(fee),
        float(noise_rate), float(noise_size_mean1), float(noise_size_sigma), int(seed),
    )
    return out


class Market(NamedTuple):
    """Minute bars: timestamps (int64 ns), reference price (token1 per token0, human units),
    pool price, token1 volume traded on the pool per bar (noise + arbitrage), regime."""

    ts_ns: np.ndarray
    price: np.ndarray
    pool_price: np.ndarray
    volume1: np.ndarray
    regime: np.ndarray


def default_market(n_bars: int = MINUTES_PER_YEAR, seed: int = 7, s0: float = 3000.0) -> Market:
    """The embedded default: a year of ETH/USD-like minute bars with calm and stressed regimes.

    Calm regime: 55% annual volatility; stressed: 110%, entered with probability 1/2000 per
    minute and left with 1/500; jumps of about 1.5% twice a week on average.  The pool
    (0.30%, active liquidity ``DEFAULT_POOL_LIQUIDITY`` in human units, i.e. 5e18 raw for
    WETH/USDC) sees noise flow of one swap a minute averaging 3,000 USD (about 4 M USD a day)
    and the arbitrage that keeps it within its fee of the reference (about 22 M USD a day).
    """
    dt = 1.0 / MINUTES_PER_YEAR
    switch = np.array([[1 - 1 / 2000, 1 / 2000], [1 / 500, 1 - 1 / 500]])
    price, regime = gbm_jump_regime(
        n_bars, s0, dt, mu=np.array([0.0, 0.0]), sigma=np.array([0.55, 1.10]), switch_prob=switch,
        jump_intensity=104.0, jump_mean=0.0, jump_std=0.015, seed=seed,
    )
    flow = swap_flow(price, DEFAULT_POOL_LIQUIDITY, 0.003, 1.0, 3000.0, 1.0, seed=seed + 1)
    ts = (np.arange(n_bars, dtype=np.int64) * 60_000_000_000) + np.int64(1_704_067_200_000_000_000)
    return Market(ts, price, flow.pool_price, flow.noise_volume1 + flow.arb_volume1, regime)


def mm_events(
    mid: np.ndarray,
    step_ns: int = 100_000_000,
    rate_a: float = 140.0,
    k: float = 1.5,
    tick: float = 0.01,
    half_spread: float = 0.005,
    top_qty: float = 5.0,
    trade_qty: float = 1.0,
    feed_latency_ns: int = 1_000_000,
    start_ts: int = 1_704_067_200_000_000_000,
    seed: int = 0,
) -> np.ndarray:
    """Book tops and trades around ``mid`` (one book update per step) as an ``EVENT_DTYPE`` array.

    Market orders reach depth ``delta`` at rate ``rate_a * exp(-k * delta)`` per second on
    each side (the Avellaneda-Stoikov fill intensity), so a backtest on these events can be
    checked against the model's own expectations.
    """
    from ..backtest.enums import EVENT_DTYPE

    m = np.ascontiguousarray(mid, dtype=np.float64)
    if m.ndim != 1 or m.size == 0 or not np.all(np.isfinite(m)) or np.any(m <= 0):
        raise ValueError("mid must be a non-empty 1-d array of finite positive prices")
    if step_ns < 2:
        raise ValueError(f"step_ns must be at least 2, got {step_ns}")
    for name, v in (("rate_a", rate_a), ("k", k), ("tick", tick), ("top_qty", top_qty), ("trade_qty", trade_qty)):
        _positive(name, v)
    _positive("half_spread", half_spread, allow_zero=True)
    lam = rate_a * step_ns * 1e-9
    expected = m.size * (1 + 2 * lam)
    cap = int(expected + 8 * math.sqrt(expected) + 64)
    while True:
        out = np.empty(cap, dtype=EVENT_DTYPE)
        n = nb.mm_events_1d(out, m, int(start_ts), int(step_ns), float(rate_a), float(k), float(tick),
                            float(half_spread), float(top_qty), float(trade_qty), int(feed_latency_ns), int(seed))
        if n <= cap:
            return out[:n]
        cap = n
