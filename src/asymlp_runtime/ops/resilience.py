"""Backoff with full jitter, per-venue circuit breakers, token-bucket rate limits and a retry loop.

Everything here takes its time from an injectable monotonic clock (seconds, float) and, where it
waits, from an injectable ``sleep`` coroutine, so tests drive time by hand (:class:`ManualClock`)
and never sleep for real.

Which errors are worth retrying is decided by :func:`is_retryable`: an exception that carries a
boolean ``retryable`` attribute (the venue errors in :mod:`asymlp_runtime.venues.errors` do) is
taken at its word; otherwise timeouts and connection errors are retryable and everything else is
not. Rejections that a retry cannot fix (insufficient funds, invalid order, bad symbol, bad keys)
are therefore never retried, and they do not count against a venue's circuit breaker either.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "BackoffPolicy",
    "BreakerSnapshot",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "ManualClock",
    "RateLimiter",
    "RetryExhaustedError",
    "is_retryable",
    "retry_async",
]

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


# --------------------------------------------------------------------------------------------
# clock
# --------------------------------------------------------------------------------------------
class ManualClock:
    """A monotonic clock that only moves when told to; its :meth:`sleep` advances it.

    Parameters
    ----------
    start_s : float
        Initial reading, seconds.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = float(start_s)
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self._now

    def advance(self, dt_s: float) -> None:
        """Move the clock forward by ``dt_s`` seconds (negative values are refused)."""
        if dt_s < 0:
            raise ValueError(f"a monotonic clock cannot go back (dt_s={dt_s})")
        self._now += dt_s

    async def sleep(self, dt_s: float) -> None:
        """Record the requested wait, advance the clock by it, and yield to the event loop once."""
        self.sleeps.append(dt_s)
        self.advance(max(0.0, dt_s))
        await asyncio.sleep(0)


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------
def is_retryable(exc: BaseException) -> bool:
    """Whether retrying the call that raised ``exc`` can help.

    An exception's own boolean ``retryable`` attribute wins; otherwise timeouts and connection
    errors are retryable, anything else is not.
    """
    flag = getattr(exc, "retryable", None)
    if isinstance(flag, bool):
        return flag
    return isinstance(exc, TimeoutError | asyncio.TimeoutError | ConnectionError)


# --------------------------------------------------------------------------------------------
# backoff
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class BackoffPolicy:
    """Exponential backoff with full jitter.

    The wait before retry number ``n`` (``n = 0`` is the wait after the first failure) is drawn
    uniformly from ``[0, min(max_delay_s, base_delay_s * multiplier**n)]`` ("full jitter"), so
    clients that failed together do not retry together.

    Parameters
    ----------
    base_delay_s : float
        Ceiling of the first wait, seconds.
    max_delay_s : float
        Cap on every wait, seconds.
    multiplier : float
        Growth of the ceiling per retry.
    max_attempts : int
        Total calls allowed, the first one included (1 means no retry).
    """

    base_delay_s: float = 0.1
    max_delay_s: float = 10.0
    multiplier: float = 2.0
    max_attempts: int = 5

    def __post_init__(self) -> None:
        if not (self.base_delay_s >= 0 and self.max_delay_s >= self.base_delay_s):
            raise ValueError(
                f"BackoffPolicy needs 0 <= base_delay_s <= max_delay_s, got {self.base_delay_s}, "
                f"{self.max_delay_s}"
            )
        if self.multiplier < 1:
            raise ValueError(f"BackoffPolicy.multiplier must be >= 1, got {self.multiplier}")
        if self.max_attempts < 1:
            raise ValueError(f"BackoffPolicy.max_attempts must be >= 1, got {self.max_attempts}")

    def ceiling_s(self, retry_index: int) -> float:
        """Upper bound of the wait before retry ``retry_index`` (0-based), seconds."""
        if retry_index < 0:
            raise ValueError(f"retry_index must be >= 0, got {retry_index}")
        if self.base_delay_s == 0.0:
            return 0.0
        # multiplier**n overflows a float for large n; the cap is reached long before that.
        if self.multiplier > 1 and retry_index * math.log(self.multiplier) >= math.log(
            self.max_delay_s / self.base_delay_s
        ):
            return self.max_delay_s
        return min(self.max_delay_s, self.base_delay_s * self.multiplier**retry_index)

    def delay_s(self, retry_index: int, rng: random.Random) -> float:
        """A full-jitter wait before retry ``retry_index``: uniform on ``[0, ceiling_s(retry_index)]``."""
        return rng.uniform(0.0, self.ceiling_s(retry_index))

    def delays_s(self, rng: random.Random) -> list[float]:
        """The ``max_attempts - 1`` waits of one full retry sequence."""
        return [self.delay_s(i, rng) for i in range(self.max_attempts - 1)]


class RetryExhaustedError(Exception):
    """Every allowed attempt failed with a retryable error; ``__cause__`` is the last one."""

    retryable = False

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts; last error: {type(last).__name__}: {last}")
        self.attempts = attempts
        self.last = last


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    policy: BackoffPolicy,
    *,
    retry_on: Callable[[BaseException], bool] | tuple[type[BaseException], ...] = is_retryable,
    rng: random.Random | None = None,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call ``fn()`` until it succeeds, retrying only retryable errors with jittered backoff.

    Parameters
    ----------
    fn : callable returning an awaitable
        The operation; it is called afresh for every attempt.
    policy : BackoffPolicy
        Attempts and waits.
    retry_on : predicate or tuple of exception types
        Which errors to retry; default :func:`is_retryable`. Any other error propagates at once.
    rng : random.Random, optional
        Source of the jitter (seed it for reproducible waits).
    sleep : coroutine function
        How to wait; tests pass :meth:`ManualClock.sleep`.
    on_retry : callable, optional
        Called as ``on_retry(attempt, exc, delay_s)`` before each wait (for logs and metrics).

    Returns
    -------
    The value of the first successful call.

    Raises
    ------
    RetryExhaustedError
        When all ``policy.max_attempts`` attempts failed with retryable errors.
    Exception
        The first non-retryable error, unchanged.
    """
    rng = rng if rng is not None else random.Random()
    if isinstance(retry_on, tuple):
        types = retry_on

        def should_retry(exc: BaseException) -> bool:
            return isinstance(exc, types)
    else:
        should_retry = retry_on
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not should_retry(exc):
                raise
            if attempt >= policy.max_attempts:
                raise RetryExhaustedError(attempt, exc) from exc
            delay = policy.delay_s(attempt - 1, rng)
            hinted = getattr(exc, "retry_after_s", None)
            if isinstance(hinted, int | float) and hinted > delay:
                delay = min(float(hinted), policy.max_delay_s)
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            await sleep(delay)


# --------------------------------------------------------------------------------------------
# circuit breaker
# --------------------------------------------------------------------------------------------
class BreakerState(enum.StrEnum):
    """Circuit breaker states; the integer codes (:attr:`code`) are for a metrics gauge."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    @property
    def code(self) -> int:
        """0 closed, 1 half-open, 2 open."""
        return {"closed": 0, "half_open": 1, "open": 2}[self.value]


class CircuitOpenError(Exception):
    """Raised without calling the venue while its circuit breaker is open."""

    retryable = False

    def __init__(self, name: str, reason: str, retry_after_s: float) -> None:
        super().__init__(
            f"circuit breaker '{name}' is open ({reason}); calls are rejected for another "
            f"{retry_after_s:.3f} s"
        )
        self.name = name
        self.reason = reason
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """What a health check or a metrics exporter reads from a :class:`CircuitBreaker`."""

    name: str
    state: BreakerState
    consecutive_failures: int
    window_calls: int
    window_failures: int
    opened_count: int
    rejected_count: int
    last_open_reason: str


class CircuitBreaker:
    """A circuit breaker for one venue.

    Closed: calls pass; it opens after ``failure_threshold`` consecutive failures, or when at
    least ``min_calls_in_window`` calls within the last ``window_s`` seconds failed at a rate of
    ``error_rate_threshold`` or more. Open: calls are rejected at once with
    :class:`CircuitOpenError`. After ``cooldown_s`` it turns half-open and lets exactly one probe
    call through; the probe's success closes it (and clears the counts), its failure opens it
    again for another cooldown.

    Only failures for which ``counts_as_failure(exc)`` holds are counted (default
    :func:`is_retryable`: a rejected order says nothing about the venue's health).

    Parameters
    ----------
    name : str
        Venue name, used in errors and snapshots.
    failure_threshold : int
        Consecutive failures that open the circuit.
    error_rate_threshold : float
        Failure fraction in the window that opens the circuit (``> 1`` disables the rule).
    window_s : float
        Length of the sliding window, seconds.
    min_calls_in_window : int
        Calls needed in the window before the rate rule applies.
    cooldown_s : float
        Time spent open before a probe is allowed, seconds.
    clock : callable
        Monotonic clock in seconds (default :func:`time.monotonic`).
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        error_rate_threshold: float = 0.5,
        window_s: float = 60.0,
        min_calls_in_window: int = 20,
        cooldown_s: float = 30.0,
        clock: Clock = time.monotonic,
        counts_as_failure: Callable[[BaseException], bool] = is_retryable,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold}")
        if cooldown_s < 0 or window_s <= 0:
            raise ValueError(f"need cooldown_s >= 0 and window_s > 0, got {cooldown_s}, {window_s}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.error_rate_threshold = error_rate_threshold
        self.window_s = window_s
        self.min_calls_in_window = min_calls_in_window
        self.cooldown_s = cooldown_s
        self.counts_as_failure = counts_as_failure
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._consecutive = 0
        self._window: deque[tuple[float, bool]] = deque()
        self._probe_in_flight = False
        self._opened_count = 0
        self._rejected_count = 0
        self._reason = ""

    # -- state -------------------------------------------------------------------------------
    @property
    def state(self) -> BreakerState:
        """Current state; an open breaker whose cooldown has passed reads as half-open."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown_s:
            self._state = BreakerState.HALF_OPEN
            self._probe_in_flight = False
        return self._state

    def snapshot(self) -> BreakerSnapshot:
        """Counters and state for health and metrics."""
        self._prune(self._clock())
        return BreakerSnapshot(
            name=self.name,
            state=self.state,
            consecutive_failures=self._consecutive,
            window_calls=len(self._window),
            window_failures=sum(1 for _, ok in self._window if not ok),
            opened_count=self._opened_count,
            rejected_count=self._rejected_count,
            last_open_reason=self._reason,
        )

    def _prune(self, now: float) -> None:
        while self._window and now - self._window[0][0] > self.window_s:
            self._window.popleft()

    def _open(self, reason: str) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._opened_count += 1
        self._probe_in_flight = False
        self._reason = reason

    # -- protocol ----------------------------------------------------------------------------
    def before_call(self) -> None:
        """Admit a call or raise :class:`CircuitOpenError`; half-open admits one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return
        self._rejected_count += 1
        if state is BreakerState.HALF_OPEN:
            raise CircuitOpenError(self.name, "half-open, a probe call is in flight", 0.0)
        remaining = max(0.0, self.cooldown_s - (self._clock() - self._opened_at))
        raise CircuitOpenError(self.name, self._reason, remaining)

    def record_success(self) -> None:
        """Report a successful call."""
        now = self._clock()
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.CLOSED
            self._window.clear()
            self._probe_in_flight = False
        self._consecutive = 0
        self._window.append((now, True))
        self._prune(now)

    def record_failure(self, exc: BaseException | None = None) -> None:
        """Report a failed call.

        A failure that does not count (``counts_as_failure(exc)`` is false, e.g. a rejected order)
        means the venue answered: it leaves the counts alone and, for a half-open probe, counts as
        the venue being back.
        """
        if exc is not None and not self.counts_as_failure(exc):
            if self._state is BreakerState.HALF_OPEN:
                # the venue answered: it is reachable, so the probe succeeded
                self.record_success()
            return
        now = self._clock()
        if self._state is BreakerState.HALF_OPEN:
            self._consecutive += 1
            self._open(f"half-open probe failed: {type(exc).__name__ if exc else 'failure'}")
            return
        self._consecutive += 1
        self._window.append((now, False))
        self._prune(now)
        if self._state is not BreakerState.CLOSED:
            return
        if self._consecutive >= self.failure_threshold:
            self._open(f"{self._consecutive} consecutive failures")
            return
        n = len(self._window)
        if n >= self.min_calls_in_window:
            failures = sum(1 for _, ok in self._window if not ok)
            if failures / n >= self.error_rate_threshold:
                self._open(f"error rate {failures}/{n} over the last {self.window_s:g} s")

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``fn()`` under the breaker: admit or reject, then record the outcome."""
        self.before_call()
        try:
            result = await fn()
        except asyncio.CancelledError:
            if self._state is BreakerState.HALF_OPEN:
                self._probe_in_flight = False
            raise
        except Exception as exc:
            self.record_failure(exc)
            raise
        self.record_success()
        return result


# --------------------------------------------------------------------------------------------
# rate limiter
# --------------------------------------------------------------------------------------------
class RateLimiter:
    """A client-side token bucket: ``rate_per_s`` tokens per second, at most ``burst`` banked.

    :meth:`acquire` waits (through the injected ``sleep``) until enough tokens are available;
    waiters are served first come, first served.

    Parameters
    ----------
    rate_per_s : float
        Refill rate, tokens per second.
    burst : float
        Bucket size; the bucket starts full.
    clock : callable
        Monotonic clock in seconds.
    sleep : coroutine function
        How to wait (default :func:`asyncio.sleep`).
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst <= 0:
            raise ValueError(f"rate_per_s and burst must be > 0, got {rate_per_s}, {burst}")
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock: asyncio.Lock | None = None
        self.waited_s = 0.0

    def _refill(self) -> None:
        now = self._clock()
        if now > self._last:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate_per_s)
        self._last = now

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        self._refill()
        return self._tokens

    def try_acquire(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if available now; never waits."""
        self._check_cost(cost)
        self._refill()
        if self._tokens >= cost - 1e-12:
            self._tokens -= cost
            return True
        return False

    def _check_cost(self, cost: float) -> None:
        if cost <= 0 or cost > self.burst:
            raise ValueError(f"cost must be in (0, burst={self.burst}], got {cost}")

    async def acquire(self, cost: float = 1.0) -> float:
        """Wait until ``cost`` tokens are available and take them.

        Returns
        -------
        float
            Seconds waited (by the limiter's clock).
        """
        self._check_cost(cost)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            start = self._clock()
            while True:
                self._refill()
                if self._tokens >= cost - 1e-12:
                    self._tokens -= cost
                    waited = self._clock() - start
                    self.waited_s += waited
                    return waited
                await self._sleep((cost - self._tokens) / self.rate_per_s)
