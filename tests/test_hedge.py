"""Hedge: LP Greeks against the exact tier, order sizing and rounding, hedge-ratio betas."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asymlp_core import v3
from asymlp_core.hedge import (
    cross_hedge_notional,
    ewma_beta,
    hedge_order_size,
    lp_greeks,
    nb,
    residual_inventory,
    rolling_ols_beta,
)

LN = math.log(1.0001)
H = 1e-5  # relative price bump of the numerical derivative


def exact_value(liquidity: int, sqrt_price_x96: int, lo: int, hi: int) -> Fraction:
    """Position value in raw token1 at ``sqrt_price_x96`` from the exact tier, as a rational.

    Amounts come from ``get_amounts_for_liquidity`` (rounded down, raw units) and are valued
    at the exact price ``sqrt_price_x96**2 / 2**192``, so no float round-off enters.
    """
    a0, a1 = v3.get_amounts_for_liquidity(
        sqrt_price_x96, v3.get_sqrt_ratio_at_tick(lo), v3.get_sqrt_ratio_at_tick(hi), liquidity
    )
    return a0 * Fraction(sqrt_price_x96**2, 2**192) + a1


@st.composite
def position_case(draw):
    lo = draw(st.integers(-300_000, 300_000))
    hi = lo + draw(st.integers(20, 50_000))
    where = draw(st.sampled_from(["below", "inside", "above"]))
    if where == "below":
        t = lo - draw(st.floats(1.0, 5000.0))
    elif where == "above":
        t = hi + draw(st.floats(1.0, 5000.0))
    else:
        t = draw(st.floats(lo + 1.0, hi - 1.0))  # 1 tick = 1e-4 >> H from the bounds
    liquidity = draw(st.integers(10**21, 10**27))
    return liquidity, math.exp(t * LN), lo, hi, where


@given(position_case())
def test_delta_equals_numerical_derivative_of_exact_value(case):
    liquidity, p, lo, hi, _ = case
    # bump the sqrt price by about H/2 (price by about H) around sp0, in Q64.96 integers
    sp0 = int(math.sqrt(p) * 2**96)
    d = max(int(sp0 * H / 2), 1)
    sp_up, sp_dn = sp0 + d, sp0 - d
    p_up, p_dn = Fraction(sp_up**2, 2**192), Fraction(sp_dn**2, 2**192)
    numeric = float(
        (exact_value(liquidity, sp_up, lo, hi) - exact_value(liquidity, sp_dn, lo, hi))
        / (p_up - p_dn)
    )
    p_mid = float((p_up + p_dn) / 2)  # the central difference is centred here
    g = lp_greeks(float(liquidity), p_mid, lo, hi)
    # tolerance: truncation of the central difference, dP^2 |d3V/dP3| / 6 with dP = H P and
    # d3V/dP3 = 3 L / (4 P^(5/2)) inside, i.e. H^2 L / (8 sqrt(P)) (doubled); one raw unit of
    # each amount lost to rounding down, over the bump; float evaluation of the closed form
    truncation = 2.0 * H * H * liquidity / (8.0 * math.sqrt(p_mid))
    rounding = 2.0 * (float(p_up) + 1.0) / float(p_up - p_dn)
    assert abs(g.delta - numeric) <= truncation + rounding + 1e-12 * abs(g.delta)


@given(position_case())
def test_gamma_negative_inside_zero_outside(case):
    liquidity, p, lo, hi, where = case
    g = lp_greeks(float(liquidity), p, lo, hi)
    if where == "inside":
        assert g.gamma < 0.0
        assert g.gamma == pytest.approx(-0.5 * liquidity / p**1.5, rel=1e-12)
    else:
        assert g.gamma == 0.0


@given(position_case())
def test_gamma_equals_numerical_derivative_of_delta(case):
    liquidity, p, lo, hi, _ = case
    liquidity = float(liquidity)
    sa, sb = math.exp(0.5 * lo * LN), math.exp(0.5 * hi * LN)
    up, dn = p * (1 + H), p * (1 - H)
    d_up = nb.lp_delta(liquidity, math.sqrt(up), sa, sb)
    d_dn = nb.lp_delta(liquidity, math.sqrt(dn), sa, sb)
    num = (d_up - d_dn) / (up - dn)
    g = nb.lp_gamma(liquidity, math.sqrt(p), sa, sb)
    assert g == pytest.approx(num, rel=1e-4, abs=1e-9 * liquidity / p**1.5 * H)


def test_value_continuous_at_bounds_and_delta_is_token0_holdings():
    liq, lo, hi = 1e18, -1000, 1000
    sa, sb = math.exp(0.5 * lo * LN), math.exp(0.5 * hi * LN)
    assert nb.lp_value(liq, sa, sa, sb) == pytest.approx(nb.lp_value(liq, sa * (1 + 1e-12), sa, sb))
    assert nb.lp_delta(liq, 0.5 * sa, sa, sb) == pytest.approx(liq * (1 / sa - 1 / sb))
    assert nb.lp_delta(liq, 2 * sb, sa, sb) == 0.0


def test_residual_adds_lp_spot_and_hedge():
    assert residual_inventory(10.0, -7.5, spot_token0=1.0, target=2.0) == pytest.approx(1.5)


@given(
    st.floats(-100.0, 100.0),
    st.floats(0.0, 5.0),
    st.sampled_from([0.0, 0.001, 0.01, 0.1, 0.25, 1.0]),
    st.sampled_from([0.0, 0.001, 0.01, 0.1, 1.0]),
    st.booleans(),
)
def test_order_respects_band_step_min_and_never_overshoots(residual, band, step, min_size, edge):
    order = hedge_order_size(residual, band=band, min_size=min_size, step=step, to_band_edge=edge)
    if abs(residual) <= band:
        assert order == 0.0
        return
    if order == 0.0:
        # only when even the whole residual, rounded down to the step, is below the minimum
        cap = math.floor(abs(residual) / step + 1e-9) * step if step else abs(residual)
        assert cap < min_size or cap == 0.0
        return
    assert math.copysign(1.0, order) == -math.copysign(1.0, residual)  # reduces exposure
    size = abs(order)
    assert size >= min_size * (1 - 1e-12)
    assert size <= abs(residual) * (1 + 1e-9)  # never overshoots the target
    if step:
        n = size / step
        assert abs(n - round(n)) < 1e-6
    after = abs(residual + order)
    if not edge and step == 0.0 and min_size <= abs(residual):
        assert after == pytest.approx(0.0, abs=1e-9)
    if edge and size >= min_size and (step == 0.0 or step <= band):
        assert after <= band + 1e-9  # at or inside the band edge


def test_order_rounding_examples():
    assert hedge_order_size(0.05, band=0.1, min_size=0.01, step=0.1) == 0.0
    assert hedge_order_size(0.37, band=0.1, min_size=0.01, step=0.1) == pytest.approx(-0.3)
    assert hedge_order_size(-0.37, band=0.1, min_size=0.01, step=0.1) == pytest.approx(0.3)
    # band edge wants 0.27 -> rounded up to 0.3 (more reduction) but capped at 0.3 <= 0.37
    assert hedge_order_size(0.37, band=0.1, step=0.1, to_band_edge=True) == pytest.approx(-0.3)
    # below the venue minimum and the whole residual is below it too -> no order
    assert hedge_order_size(0.15, band=0.1, min_size=0.2, step=0.01) == 0.0
    # wanted 0.05 to the band edge, raised to the minimum 0.2 because 0.2 <= 0.25
    assert hedge_order_size(0.25, band=0.2, min_size=0.2, step=0.01, to_band_edge=True) == pytest.approx(-0.2)


@pytest.mark.parametrize(("kw", "name"), [
    (dict(residual=float("nan"), band=0.1), "residual"),
    (dict(residual=1.0, band=-0.1), "band"),
    (dict(residual=1.0, band=0.1, step=float("inf")), "step"),
    (dict(residual=1.0, band=0.1, min_size=-1.0), "min_size"),
])
def test_bad_order_argument_raises_naming_it(kw, name):
    with pytest.raises(ValueError, match=name):
        hedge_order_size(kw.pop("residual"), **kw)


def test_bad_greeks_argument_raises_naming_it():
    with pytest.raises(ValueError, match="price"):
        lp_greeks(1.0, float("nan"), -10, 10)
    with pytest.raises(ValueError, match="tick_lower"):
        lp_greeks(1.0, 1.0, 10, 10)


def _correlated(beta: float, n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.01, n)
    y = 0.0002 + beta * x + rng.normal(0.0, 0.004, n)
    return y, x


@pytest.mark.parametrize("beta", [-0.5, 0.8, 1.3])
def test_rolling_beta_recovers_known_beta(beta):
    y, x = _correlated(beta, 20_000, 11)
    b = rolling_ols_beta(y, x, 1000)
    assert np.all(np.isnan(b[:999])) and np.all(np.isfinite(b[999:]))
    # slope standard error with 1000 points: 0.004 / (0.01 sqrt(1000)) ~ 0.013
    assert np.mean(b[999:]) == pytest.approx(beta, abs=0.01)
    assert np.max(np.abs(b[999:] - beta)) < 6 * 0.013
    # last window equals a direct least-squares fit
    slope = np.polyfit(x[-1000:], y[-1000:], 1)[0]
    assert b[-1] == pytest.approx(slope, rel=1e-9)


@pytest.mark.parametrize("beta", [-0.5, 0.8, 1.3])
def test_ewma_beta_recovers_known_beta(beta):
    y, x = _correlated(beta, 20_000, 12)
    b = ewma_beta(y, x, halflife=500)
    assert np.isnan(b[0]) and np.all(np.isfinite(b[1:]))
    assert np.mean(b[5000:]) == pytest.approx(beta, abs=0.01)
    assert abs(b[-1] - beta) < 0.06


def test_ewma_beta_tracks_a_change():
    y1, x1 = _correlated(0.5, 5000, 1)
    y2, x2 = _correlated(1.5, 5000, 2)
    b = ewma_beta(np.concatenate([y1, y2]), np.concatenate([x1, x2]), halflife=200)
    assert abs(b[4999] - 0.5) < 0.1 and abs(b[-1] - 1.5) < 0.1


def test_constant_instrument_gives_nan_beta():
    assert np.all(np.isnan(rolling_ols_beta(np.arange(10.0), np.ones(10), 5)))


def test_beta_bad_arguments_raise_naming_them():
    with pytest.raises(ValueError, match="x"):
        rolling_ols_beta(np.ones(5), np.array([1.0, np.nan, 1, 1, 1]), 3)
    with pytest.raises(ValueError, match="window"):
        rolling_ols_beta(np.ones(5), np.ones(5), 1)
    with pytest.raises(ValueError, match="alpha"):
        ewma_beta(np.ones(5), np.ones(5), alpha=1.5)


def test_cross_hedge_shorts_beta_times_exposure():
    assert cross_hedge_notional(1000.0, 0.9) == pytest.approx(-900.0)
