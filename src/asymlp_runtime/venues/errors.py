"""Venue errors, independent of any exchange library.

Every adapter maps its library's or its exchange's errors onto these classes, so the processes
above see one vocabulary. Each class says whether a retry can help (``retryable``); the backoff
and circuit breaker in :mod:`asymlp_runtime.ops.resilience` read that flag.

Messages never contain credentials: adapters build them from the exchange's error code and
message only, and :func:`redact` scrubs any known secret that slipped into a library's text.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AuthenticationError",
    "BadSymbol",
    "DuplicateOrderId",
    "ExchangeUnavailable",
    "InsufficientFunds",
    "InvalidOrder",
    "NetworkError",
    "OrderNotFound",
    "RateLimited",
    "RequestTimeout",
    "VenueError",
    "redact",
]


class VenueError(Exception):
    """Base of all venue errors.

    Parameters
    ----------
    message : str
        Human-readable text (no credentials).
    venue : str
        Venue name.
    code : str
        The exchange's own error code, '' when there is none.
    """

    retryable: bool = False

    def __init__(self, message: str, *, venue: str = "", code: str = "") -> None:
        super().__init__(f"[{venue}] {message}" if venue else message)
        self.venue = venue
        self.code = code


class NetworkError(VenueError):
    """The request may not have reached the venue, or its answer was lost: retryable.

    For order placement the outcome is unknown: the order may exist. Callers look it up by
    client order id before placing it again.
    """

    retryable = True


class RequestTimeout(NetworkError):
    """No answer within the deadline (outcome unknown)."""


class ExchangeUnavailable(NetworkError):
    """5xx, maintenance or overload."""


class RateLimited(VenueError):
    """The venue throttled us (HTTP 429/418 or an equivalent code): retryable after a wait."""

    retryable = True

    def __init__(
        self, message: str, *, venue: str = "", code: str = "", retry_after_s: float | None = None
    ) -> None:
        super().__init__(message, venue=venue, code=code)
        self.retry_after_s = retry_after_s


class InsufficientFunds(VenueError):
    """Not enough margin or balance; retrying cannot help."""


class InvalidOrder(VenueError):
    """The order breaks a market rule (size, step, tick, post-only would cross, ...)."""


class BadSymbol(VenueError):
    """Unknown or untradable instrument."""


class AuthenticationError(VenueError):
    """Missing, wrong or unauthorised credentials."""


class OrderNotFound(VenueError):
    """No order with that id."""


class DuplicateOrderId(InvalidOrder):
    """An order with this client order id already exists; look it up instead of placing another."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-trivial secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
