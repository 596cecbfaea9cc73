"""Backoff, retry, circuit breaker and rate limiter, driven by a manual clock (no real sleeping)."""

from __future__ import annotations

import asyncio
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asymlp_runtime.ops.resilience import (
    BackoffPolicy,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    ManualClock,
    RateLimiter,
    RetryExhaustedError,
    is_retryable,
    retry_async,
)
from asymlp_runtime.venues import errors as verr


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=20))


# ---------------------------------------------------------------------------------------------
# backoff
# ---------------------------------------------------------------------------------------------
@given(
    base=st.floats(0.001, 5.0),
    factor=st.floats(1.0, 20.0),
    mult=st.floats(1.0, 4.0),
    n=st.integers(0, 10_000),
    seed=st.integers(0, 2**32),
)
def test_backoff_delay_within_ceiling_and_cap(base, factor, mult, n, seed):
    policy = BackoffPolicy(base_delay_s=base, max_delay_s=base * factor, multiplier=mult, max_attempts=3)
    ceiling = policy.ceiling_s(n)
    assert 0.0 <= ceiling <= policy.max_delay_s * (1 + 1e-12)
    assert ceiling >= min(policy.max_delay_s, base) * (1 - 1e-12)
    d = policy.delay_s(n, random.Random(seed))
    assert 0.0 <= d <= ceiling


def test_backoff_ceiling_grows_exponentially_then_caps():
    policy = BackoffPolicy(base_delay_s=0.1, max_delay_s=1.0, multiplier=2.0)
    assert [round(policy.ceiling_s(i), 10) for i in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_backoff_full_jitter_is_uniform_on_ceiling():
    policy = BackoffPolicy(base_delay_s=1.0, max_delay_s=1.0)
    rng = random.Random(7)
    xs = [policy.delay_s(3, rng) for _ in range(20_000)]
    # uniform on [0, 1]: mean 1/2, variance 1/12, and each decile holds about a tenth
    assert abs(statistics.fmean(xs) - 0.5) < 0.01
    assert abs(statistics.pvariance(xs) - 1 / 12) < 0.003
    counts = [0] * 10
    for x in xs:
        counts[min(9, int(x * 10))] += 1
    chi2 = sum((c - 2000) ** 2 / 2000 for c in counts)
    assert chi2 < 27.9  # 99.9 % quantile of chi-square with 9 degrees of freedom


def test_backoff_same_seed_same_delays():
    policy = BackoffPolicy(max_attempts=8)
    assert policy.delays_s(random.Random(3)) == policy.delays_s(random.Random(3))
    assert policy.delays_s(random.Random(3)) != policy.delays_s(random.Random(4))


def test_backoff_invalid_settings_rejected():
    with pytest.raises(ValueError, match="max_attempts"):
        BackoffPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="base_delay_s"):
        BackoffPolicy(base_delay_s=2.0, max_delay_s=1.0)


# ---------------------------------------------------------------------------------------------
# retry
# ---------------------------------------------------------------------------------------------
class Flaky:
    def __init__(self, failures: list[BaseException], value: str = "ok") -> None:
        self.failures = list(failures)
        self.calls = 0
        self.value = value

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.value


def test_retry_retryable_errors_then_succeeds_with_bounded_waits():
    clock = ManualClock()
    fn = Flaky([verr.RequestTimeout("t"), verr.ExchangeUnavailable("503"), verr.RateLimited("429")])
    policy = BackoffPolicy(base_delay_s=0.5, max_delay_s=4.0, max_attempts=5)
    assert run(retry_async(fn, policy, rng=random.Random(1), sleep=clock.sleep)) == "ok"
    assert fn.calls == 4
    assert len(clock.sleeps) == 3
    assert all(0 <= d <= policy.ceiling_s(i) for i, d in enumerate(clock.sleeps))


@pytest.mark.parametrize(
    "exc",
    [
        verr.InsufficientFunds("Margin is insufficient."),
        verr.InvalidOrder("bad step"),
        verr.BadSymbol("nope"),
        verr.AuthenticationError("bad key"),
        verr.DuplicateOrderId("dup"),
        ValueError("bug"),
    ],
)
def test_retry_non_retryable_error_raised_after_one_call(exc):
    clock = ManualClock()
    fn = Flaky([exc])
    with pytest.raises(type(exc)):
        run(retry_async(fn, BackoffPolicy(max_attempts=5), sleep=clock.sleep))
    assert fn.calls == 1
    assert clock.sleeps == []


def test_retry_exhausted_after_max_attempts():
    clock = ManualClock()
    fn = Flaky([verr.NetworkError("down")] * 10)
    with pytest.raises(RetryExhaustedError) as info:
        run(retry_async(fn, BackoffPolicy(max_attempts=4), sleep=clock.sleep))
    assert fn.calls == 4
    assert info.value.attempts == 4
    assert isinstance(info.value.last, verr.NetworkError)


def test_retry_rate_limit_hint_lengthens_wait():
    clock = ManualClock()
    fn = Flaky([verr.RateLimited("429", retry_after_s=2.5)])
    policy = BackoffPolicy(base_delay_s=0.01, max_delay_s=10.0)
    run(retry_async(fn, policy, sleep=clock.sleep))
    assert clock.sleeps == [2.5]


def test_retry_custom_exception_tuple():
    clock = ManualClock()
    fn = Flaky([KeyError("x"), KeyError("y")])
    assert run(retry_async(fn, BackoffPolicy(), retry_on=(KeyError,), sleep=clock.sleep)) == "ok"
    assert fn.calls == 3


def test_is_retryable_classification():
    assert is_retryable(TimeoutError())
    assert is_retryable(ConnectionResetError())
    assert is_retryable(verr.RateLimited("x"))
    assert not is_retryable(verr.InsufficientFunds("x"))
    assert not is_retryable(verr.InvalidOrder("x"))
    assert not is_retryable(CircuitOpenError("v", "r", 1.0))
    assert not is_retryable(RuntimeError("x"))


# ---------------------------------------------------------------------------------------------
# circuit breaker
# ---------------------------------------------------------------------------------------------
def make_breaker(clock: ManualClock, **kw) -> CircuitBreaker:
    defaults = dict(failure_threshold=3, cooldown_s=10.0, window_s=60.0, min_calls_in_window=1000)
    defaults.update(kw)
    return CircuitBreaker("binance", clock=clock, **defaults)


async def fail() -> None:
    raise verr.ExchangeUnavailable("503")


async def ok() -> str:
    return "ok"


def test_breaker_opens_after_consecutive_failures_and_rejects():
    async def scenario():
        clock = ManualClock()
        b = make_breaker(clock)
        for _ in range(3):
            with pytest.raises(verr.ExchangeUnavailable):
                await b.call(fail)
        assert b.state is BreakerState.OPEN
        calls = []

        async def tracked():
            calls.append(1)
            return "x"

        with pytest.raises(CircuitOpenError) as info:
            await b.call(tracked)
        assert calls == []  # rejected without calling the venue
        assert "binance" in str(info.value) and "open" in str(info.value)
        assert info.value.retry_after_s == pytest.approx(10.0)
        snap = b.snapshot()
        assert snap.state is BreakerState.OPEN and snap.rejected_count == 1 and snap.opened_count == 1

    run(scenario())


def test_breaker_half_opens_after_cooldown_and_closes_on_success():
    async def scenario():
        clock = ManualClock()
        b = make_breaker(clock)
        for _ in range(3):
            with pytest.raises(verr.ExchangeUnavailable):
                await b.call(fail)
        clock.advance(9.9)
        assert b.state is BreakerState.OPEN
        clock.advance(0.2)
        assert b.state is BreakerState.HALF_OPEN
        assert await b.call(ok) == "ok"
        assert b.state is BreakerState.CLOSED
        assert b.snapshot().consecutive_failures == 0

    run(scenario())


def test_breaker_half_open_lets_one_probe_through():
    async def scenario():
        clock = ManualClock()
        b = make_breaker(clock, failure_threshold=1)
        with pytest.raises(verr.ExchangeUnavailable):
            await b.call(fail)
        clock.advance(10.0)
        gate = asyncio.Event()

        async def slow_probe():
            await gate.wait()
            return "probe"

        probe = asyncio.create_task(b.call(slow_probe))
        await asyncio.sleep(0)
        with pytest.raises(CircuitOpenError, match="probe"):
            await b.call(ok)
        gate.set()
        assert await probe == "probe"
        assert b.state is BreakerState.CLOSED

    run(scenario())


def test_breaker_failed_probe_reopens_for_another_cooldown():
    async def scenario():
        clock = ManualClock()
        b = make_breaker(clock)
        for _ in range(3):
            with pytest.raises(verr.ExchangeUnavailable):
                await b.call(fail)
        clock.advance(10.0)
        with pytest.raises(verr.ExchangeUnavailable):
            await b.call(fail)
        assert b.state is BreakerState.OPEN
        assert b.snapshot().opened_count == 2
        clock.advance(5.0)
        with pytest.raises(CircuitOpenError):
            await b.call(ok)

    run(scenario())


def test_breaker_opens_on_error_rate_without_consecutive_run():
    async def scenario():
        clock = ManualClock()
        b = make_breaker(clock, failure_threshold=100, error_rate_threshold=0.5, min_calls_in_window=10)
        for i in range(10):
            clock.advance(1.0)
            if i % 2:
                with pytest.raises(verr.ExchangeUnavailable):
                    await b.call(fail)
            else:
                await b.call(ok)
        assert b.state is BreakerState.OPEN
        assert "error rate 5/10" in b.snapshot().last_open_reason

    run(scenario())


def test_breaker_window_forgets_old_failures():
    async def scenario():
        clock = ManualClock()
        b = make_breaker(
            clock, failure_threshold=100, error_rate_threshold=0.5, min_calls_in_window=4, window_s=10
        )
        for _ in range(3):
            with pytest.raises(verr.ExchangeUnavailable):
                await b.call(fail)
        clock.advance(11.0)
        await b.call(ok)
        await b.call(ok)
        await b.call(ok)
        with pytest.raises(verr.ExchangeUnavailable):
            await b.call(fail)
        assert b.state is BreakerState.CLOSED  # 1 failure in 4 within the window

    run(scenario())


def test_breaker_ignores_rejections_that_say_nothing_about_health():
    async def scenario():
        clock = ManualClock()
        b = make_breaker(clock, failure_threshold=2)

        async def rejected():
            raise verr.InsufficientFunds("Margin is insufficient.")

        for _ in range(5):
            with pytest.raises(verr.InsufficientFunds):
                await b.call(rejected)
        assert b.state is BreakerState.CLOSED

    run(scenario())


def test_breaker_state_codes_for_metrics():
    assert [s.code for s in (BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN)] == [0, 1, 2]


# ---------------------------------------------------------------------------------------------
# rate limiter
# ---------------------------------------------------------------------------------------------
def test_rate_limiter_burst_then_paced_at_rate():
    async def scenario():
        clock = ManualClock()
        lim = RateLimiter(rate_per_s=5.0, burst=3.0, clock=clock, sleep=clock.sleep)
        stamps = []
        for _ in range(13):
            await lim.acquire()
            stamps.append(clock())
        assert stamps[:3] == [0.0, 0.0, 0.0]
        gaps = [b - a for a, b in zip(stamps[3:], stamps[4:], strict=False)]
        assert all(g == pytest.approx(0.2) for g in gaps)
        assert stamps[-1] == pytest.approx(2.0)  # 10 paced tokens at 5/s

    run(scenario())


def test_rate_limiter_refills_up_to_burst_only():
    clock = ManualClock()
    lim = RateLimiter(rate_per_s=10.0, burst=4.0, clock=clock, sleep=clock.sleep)
    assert all(lim.try_acquire() for _ in range(4))
    assert not lim.try_acquire()
    clock.advance(100.0)
    assert lim.tokens == pytest.approx(4.0)


def test_rate_limiter_concurrent_waiters_served_in_order():
    async def scenario():
        clock = ManualClock()
        lim = RateLimiter(rate_per_s=2.0, burst=1.0, clock=clock, sleep=clock.sleep)
        order = []

        async def worker(i):
            await lim.acquire()
            order.append((i, clock()))

        await asyncio.gather(*(worker(i) for i in range(5)))
        assert [i for i, _ in order] == [0, 1, 2, 3, 4]
        assert [t for _, t in order] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])

    run(scenario())


@given(
    rate=st.floats(0.5, 100.0),
    burst=st.integers(1, 20),
    n=st.integers(1, 60),
)
def test_rate_limiter_never_exceeds_rate_plus_burst(rate, burst, n):
    async def scenario():
        clock = ManualClock()
        lim = RateLimiter(rate_per_s=rate, burst=float(burst), clock=clock, sleep=clock.sleep)
        for _ in range(n):
            await lim.acquire()
        # n tokens were taken in clock() seconds: at most burst + rate * elapsed
        assert n <= burst + rate * clock() + 1e-6

    run(scenario())
