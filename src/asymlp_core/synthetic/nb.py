"""Synthetic market data kernels (Numba, seeded, no I/O).

Contract: every kernel takes caller-allocated output arrays and scalars, seeds Numba's
generator with the ``seed`` argument (so a run is reproducible bit for bit on one
machine), fills the outputs and returns the number of rows written.  Nothing here
allocates in its inner loop.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def gbm_jump_regime_1d(
    out_price: np.ndarray,
    out_regime: np.ndarray,
    s0: float,
    dt: float,
    mu: np.ndarray,
    sigma: np.ndarray,
    switch_prob: np.ndarray,
    jump_intensity: float,
    jump_mean: float,
    jump_std: float,
    seed: int,
) -> int:
    """Geometric Brownian motion with Merton jumps and Markov regime switching.

    ``log S`` moves by ``(mu_r - sigma_r**2/2 - jump_intensity*kappa) dt + sigma_r dW + J``
    in regime ``r``, where ``J`` is a sum of N ~ Poisson(jump_intensity*dt) normal jumps
    N(jump_mean, jump_std**2) in log price and ``kappa = E[e^J - 1]`` keeps the drift
    ``mu_r`` per unit time.  Each step the regime switches from ``r`` to ``r'`` with
    probability ``switch_prob[r, r']`` (rows sum to 1).  Units: ``dt``, ``mu`` and
    ``sigma`` share one time unit (e.g. years, with dt = 1/525600 for minutes).
    """
    np.random.seed(seed)
    n = out_price.shape[0]
    n_regimes = mu.shape[0]
    kappa = math.exp(jump_mean + 0.5 * jump_std * jump_std) - 1.0
    log_s = math.log(s0)
    regime = 0
    sqrt_dt = math.sqrt(dt)
    for i in range(n):
        out_price[i] = math.exp(log_s)
        out_regime[i] = regime
        sig = sigma[regime]
        drift = (mu[regime] - 0.5 * sig * sig - jump_intensity * kappa) * dt
        log_s += drift + sig * sqrt_dt * np.random.standard_normal()
        if jump_intensity > 0.0:
            n_jumps = np.random.poisson(jump_intensity * dt)
            for _ in range(n_jumps):
                log_s += jump_mean + jump_std * np.random.standard_normal()
        u = np.random.random()
        acc = 0.0
        for r in range(n_regimes):
            acc += switch_prob[regime, r]
            if u < acc:
                regime = r
                break
    return n


@njit(cache=True)
def hawkes_arrivals(out_times: np.ndarray, mu: float, alpha: float, beta: float, t_end: float, seed: int) -> int:
    """Event times of a Hawkes process with exponential kernel, by Ogata's thinning.

    Intensity ``lambda(t) = mu + sum_i alpha * exp(-beta (t - t_i))``; stationary when
    ``alpha < beta`` (branching ratio ``alpha/beta``), mean rate ``mu / (1 - alpha/beta)``.
    Writes at most ``len(out_times)`` times in ``[0, t_end)`` and returns how many.
    """
    np.random.seed(seed)
    cap = out_times.shape[0]
    t = 0.0
    excitation = 0.0  # sum of alpha*exp(-beta(t - t_i)) at time t
    count = 0
    while count < cap:
        lam_bar = mu + excitation
        w = -math.log(1.0 - np.random.random()) / lam_bar
        excitation *= math.exp(-beta * w)
        t += w
        if t >= t_end:
            break
        if np.random.random() * lam_bar <= mu + excitation:
            out_times[count] = t
            count += 1
            excitation += alpha
    return count


@njit(cache=True)
def swap_flow_1d(
    out_pool_price: np.ndarray,
    out_noise_volume1: np.ndarray,
    out_arb_volume1: np.ndarray,
    ref_price: np.ndarray,
    liquidity: float,
    fee: float,
    noise_rate: float,
    noise_size_mean1: float,
    noise_size_sigma: float,
    seed: int,
) -> int:
    """Pool price and traded volume of uninformed noise traders and an informed arbitrageur.

    A constant-product pool with virtual liquidity ``liquidity`` (float, raw units,
    ``sqrt(price)`` moves by ``dy / L`` for token1 in) starts at ``ref_price[0]``.  In
    each step: Poisson(``noise_rate``) noise swaps of lognormal token1 notional (mean
    ``noise_size_mean1``, log-sd ``noise_size_sigma``) in a random direction, then the
    arbitrageur trades the pool to within the fee band of ``ref_price[i]`` (no-arbitrage
    band: the pool price stays in ``[ref/(1+fee), ref*(1+fee)]``).  Volumes are token1
    notionals per step, fees excluded.
    """
    np.random.seed(seed)
    n = ref_price.shape[0]
    sqrt_p = math.sqrt(ref_price[0])
    mu_log = math.log(noise_size_mean1) - 0.5 * noise_size_sigma * noise_size_sigma
    for i in range(n):
        noise_v = 0.0
        n_swaps = np.random.poisson(noise_rate)
        for _ in range(n_swaps):
            size1 = math.exp(mu_log + noise_size_sigma * np.random.standard_normal())
            if np.random.random() < 0.5:
                # buy token0 with token1: token1 in, price up
                sqrt_p += size1 * (1.0 - fee) / liquidity
            else:
                # sell token0 worth size1: token0 in, price down
                dx = size1 / (sqrt_p * sqrt_p) * (1.0 - fee)
                sqrt_p = liquidity * sqrt_p / (liquidity + dx * sqrt_p)
            noise_v += size1
        ref = ref_price[i]
        hi = ref * (1.0 + fee)
        lo = ref / (1.0 + fee)
        p = sqrt_p * sqrt_p
        arb_v = 0.0
        if p > hi:
            target = math.sqrt(hi)
            arb_v = liquidity * (sqrt_p - target) * ref / (sqrt_p * target)  # token0 sold, valued at ref
            sqrt_p = target
        elif p < lo:
            target = math.sqrt(lo)
            arb_v = liquidity * (target - sqrt_p)  # token1 paid in
            sqrt_p = target
        out_pool_price[i] = sqrt_p * sqrt_p
        out_noise_volume1[i] = noise_v
        out_arb_volume1[i] = arb_v
    return n


@njit(cache=True)
def mm_events_1d(
    out_events: np.ndarray,
    mid: np.ndarray,
    start_ts: int,
    step_ns: int,
    rate_a: float,
    k: float,
    tick: float,
    half_spread: float,
    top_qty: float,
    trade_qty: float,
    feed_latency_ns: int,
    seed: int,
) -> int:
    """Top-of-book updates and trade prints around a mid path, for the market-making backtester.

    Each step of ``step_ns`` nanoseconds emits a book top (bid/ask the mid -+
    ``half_spread`` rounded outward to ``tick``, exponential quantities of mean
    ``top_qty``) and, per side, Poisson(``rate_a`` x step in seconds) market orders that
    reach a depth ``delta ~ Exp(k)`` below (sells) or above (buys) the mid, so that a quote
    at depth ``delta`` is reached at rate ``A exp(-k delta)``: the Avellaneda-Stoikov
    intensity.  A print's price is the deepest tick reached (never better than the
    top), its quantity exponential of mean ``trade_qty``.  ``local_ts`` = ``exch_ts`` +
    ``feed_latency_ns``.  Flags follow :mod:`asymlp_core.backtest.enums` (1: trade,
    2: book top, 1<<29: buy aggressor, 1<<28: sell aggressor).  Returns the number of
    events (may exceed the buffer; nothing is written past it).
    """
    np.random.seed(seed)
    cap = out_events.shape[0]
    count = 0
    lam = rate_a * step_ns * 1e-9
    for i in range(mid.shape[0]):
        ts = start_ts + i * step_ns
        m = mid[i]
        bid = math.floor((m - half_spread) / tick + 1e-9) * tick
        ask = math.ceil((m + half_spread) / tick - 1e-9) * tick
        if count < cap:
            e = out_events[count]
            e.ev = 2
            e.exch_ts = ts
            e.local_ts = ts + feed_latency_ns
            e.px = 0.0
            e.qty = 0.0
            e.bid_px = bid
            e.bid_qty = -math.log(1.0 - np.random.random()) * top_qty
            e.ask_px = ask
            e.ask_qty = -math.log(1.0 - np.random.random()) * top_qty
        count += 1
        c = 0
        for side in range(2):
            n_orders = np.random.poisson(lam)
            for _ in range(n_orders):
                depth = -math.log(1.0 - np.random.random()) / k
                if side == 0:  # sell aggressor
                    px = min(bid, math.floor((m - depth) / tick + 1e-9) * tick)
                    flag = 1 | (1 << 28)
                else:
                    px = max(ask, math.ceil((m + depth) / tick - 1e-9) * tick)
                    flag = 1 | (1 << 29)
                # spread prints within the step, after the book update
                t_in = ts + min(1 + c, step_ns - 1)
                c += 1
                if count < cap:
                    e = out_events[count]
                    e.ev = flag
                    e.exch_ts = t_in
                    e.local_ts = t_in + feed_latency_ns
                    e.px = px
                    e.qty = -math.log(1.0 - np.random.random()) * trade_qty
                    e.bid_px = np.nan
                    e.bid_qty = 0.0
                    e.ask_px = np.nan
                    e.ask_qty = 0.0
                count += 1
    return count
