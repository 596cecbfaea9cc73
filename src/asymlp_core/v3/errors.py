"""The exception raised where a Uniswap V3 contract reverts."""

from __future__ import annotations


class V3Error(Exception):
    """A revert of the Uniswap V3 contracts, reproduced.

    Attributes
    ----------
    reason:
        The contract's revert string ('T', 'R', 'SPL', 'LOK', 'TLU', 'TLM', 'TUM', 'LS',
        'LA', 'AS', 'LO', 'NP', 'AI', ...), or ``''`` where the contract reverts with a bare
        ``require`` (overflow guards in FullMath, SqrtPriceMath, SafeCast, LowGasSafeMath).
    detail:
        A human-readable description of the failed check (not part of the contract).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"revert {reason!r}: {detail}" if detail else f"revert {reason!r}")
