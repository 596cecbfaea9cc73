"""The pool side of the LP: a small backend protocol, the simulated pool and its swap flow."""

from asymlp_runtime.lp.backend import (
    BackendError,
    LpPosition,
    OpKind,
    OpResult,
    PoolBackend,
    PoolState,
    TokenInfo,
    human_price,
)
from asymlp_runtime.lp.flow import FlowSettings, FlowStats, SwapFlowGenerator
from asymlp_runtime.lp.sim import SimPoolBackend, SimPoolSettings, sim_tx_hash, sqrt_price_x96_from_human

__all__ = [
    "BackendError",
    "FlowSettings",
    "FlowStats",
    "LpPosition",
    "OpKind",
    "OpResult",
    "PoolBackend",
    "PoolState",
    "SimPoolBackend",
    "SimPoolSettings",
    "SwapFlowGenerator",
    "TokenInfo",
    "human_price",
    "sim_tx_hash",
    "sqrt_price_x96_from_human",
]
