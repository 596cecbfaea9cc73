"""``lp_manager``: runs the LP position on one pool with the strategy shared with the backtester.

Every ``LP.strategy.decision_interval_s`` (a *tick*) the manager

1. advances the simulated market when the backend is the simulated pool (noise and arbitrage
   swaps against the CeFi reference price: the paper reference path the quote server publishes,
   :func:`~asymlp_runtime.venues.paper.price.reference_mid`);
2. reads the pool and the account from the :class:`~asymlp_runtime.lp.backend.PoolBackend` and
   publishes an :class:`~asymlp_runtime.messages.InventoryDelta` on ``inventory.<pool>`` whenever
   the exact holdings changed;
3. calls :func:`asymlp_core.strategy.lp_decide` -- the decision the backtester calls -- with the
   pool price, sigma (EWMA of the reference quotes' log returns, per square root of second), the
   LP's holdings and the hedge position (the trader's :class:`~asymlp_runtime.messages.RiskState`);
   when it fires, re-ranges the position through the backend.

Inventory
---------
The inventory is everything the LP account holds in the pool's tokens: the position's principal
(what burning it would return now), its fees owed, and the idle balance outside the pool (dust
after a mint; everything after ``pull_liquidity``). ``delta0`` is its token0 amount -- the
exposure the trader hedges (for a V3 position in range, d value / d price equals the token0
amount).

Actions, journal and restart
----------------------------
An action is a list of steps, each one backend operation: ``open`` = ``[swap, open]``,
``rebalance`` = ``[close, swap, open]``, ``close`` (``pull_liquidity``) = ``[close]``. The swap
re-weights the idle tokens to the new range's ratio at the pool price. The journal gets an
:class:`~asymlp_runtime.journal.LpActionRecord` (the plan: kind, reason, target ticks, steps)
*before* the first step, an :class:`~asymlp_runtime.journal.LpStepRecord` after each step (exact
signed deltas of the account: ``+`` received, ``-`` paid; fees in ``note``) and an
:class:`~asymlp_runtime.journal.LpActionEndRecord` at the end; only then is the step's
:class:`~asymlp_runtime.messages.LpAction` published. A checkpoint holds the strategy state.

Operation ids are ``"<action_id>:<step>"`` and the backend runs each at most once, so after a
crash the manager finds every unfinished action in the journal and, step by step, either records
the result of a step that ran before the crash (:meth:`PoolBackend.op_result`) or runs it now:
the action *resumes*. An action older than :data:`RESUME_MAX_AGE_S` is *unwound* instead (the
position, if open, is closed and the action ends ``aborted``; the next tick decides afresh).

Commands
--------
``pull_liquidity`` closes the position and holds the tokens (no new range until ``resume``);
``shutdown`` stops; ``pause`` stops decisions (inventory is still published).

Published ``LpAction`` messages: one per step, ``action`` = ``close``/``open``/``collect`` for
those steps and ``rebalance`` for the re-weighting swap (amounts: absolute token amounts in and
out), ``position_id`` = the action id, ``reason`` = the trigger codes joined by ``+``
(``price_left_band``, ``inventory_threshold``, ``reservation_moved``, ``range_stale``, ``open``,
``operator``, ``recovery``).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from asymlp_core.rebalance.api import rebalance_params
from asymlp_core.strategy import (
    QUOTE_AS,
    QUOTE_GLFT,
    REASON_OPEN,
    LPStrategyParams,
    LPStrategyState,
    lp_decide,
)
from asymlp_runtime import messages as m
from asymlp_runtime.bus import Delivery
from asymlp_runtime.config import LpConfig, ProcessConfig
from asymlp_runtime.journal import CheckpointRecord, LpActionEndRecord, LpActionRecord, LpBarRecord, LpStepRecord
from asymlp_runtime.lp.backend import BackendError, LpPosition, OpResult, PoolBackend, PoolState
from asymlp_runtime.lp.flow import FlowSettings
from asymlp_runtime.lp.sim import SimPoolBackend, SimPoolSettings
from asymlp_runtime.processes.base import ProcessBase
from asymlp_runtime.processes.topics import RISK_TOPIC, inventory_topic, lp_action_topic

__all__ = [
    "PROCESS_CLASS",
    "RESUME_MAX_AGE_S",
    "LpManager",
    "make_backend",
    "reason_code",
    "strategy_params",
]

#: An unfinished action older than this (seconds) is unwound rather than resumed after a restart.
RESUME_MAX_AGE_S: Final[float] = 300.0

_REASON_NAMES: Final[tuple[tuple[int, str], ...]] = (
    (1, "price_left_band"),
    (2, "inventory_threshold"),
    (4, "reservation_moved"),
    (8, "range_stale"),
    (REASON_OPEN, "open"),
)
_STEP_MESSAGE_KIND: Final[dict[str, m.LpActionKind]] = {
    "close": "close",
    "open": "open",
    "collect": "collect",
    "swap": "rebalance",
}
_CHECKPOINT_NAME: Final[str] = "strategy"
_MIN_SWAP_FRACTION: Final[float] = 1e-3  # re-weighting swaps below this share of the value are skipped


def reason_code(reason: int) -> str:
    """The machine-readable code of a decision's reason bits (``"price_left_band+range_stale"``)."""
    names = [name for bit, name in _REASON_NAMES if reason & bit]
    return "+".join(names) if names else "none"


def strategy_params(lp: LpConfig, tick_spacing: int, raw_per_human: float) -> LPStrategyParams:
    """The :class:`LPStrategyParams` of an ``[LP]`` section (time unit: seconds)."""
    st, model = lp.strategy, lp.model
    rebalance = rebalance_params(
        band=st.band,
        band_rearm=st.band_rearm,
        inventory_target=0.5,
        inventory_threshold=st.inventory_threshold,
        inventory_rearm=st.inventory_rearm,
        reservation_tolerance_ticks=st.reservation_tolerance_ticks,
        reservation_rearm_ticks=st.reservation_rearm_ticks,
        max_age=st.max_age_s,
        min_interval=st.min_interval_s,
    )
    return LPStrategyParams(
        model=QUOTE_GLFT if model.kind == "glft" else QUOTE_AS,
        gamma=float(model.gamma),
        k=float(model.k if model.k is not None else 50.0),
        A=float(model.a if model.a is not None else 1.0),
        tau=float(model.horizon_s if model.horizon_s is not None else 3600.0),
        range_scale=float(st.range_scale),
        skew=float(st.skew),
        q_max=float(st.q_max),
        inventory_target=0.5,
        tick_spacing=int(tick_spacing),
        min_width_ticks=int(st.min_width_ticks),
        max_width_ticks=int(st.max_width_ticks),
        raw_per_human=float(raw_per_human),
        hedge=1 if st.hedged else 0,
        rebalance=rebalance,
    )


def _reference_path(lp: LpConfig) -> Callable[[int], float]:
    from asymlp_runtime.processes.paper import PaperSettings

    return PaperSettings.from_env().path(lp.reference_symbol)


def make_backend(config: ProcessConfig, *, clock_ns: Callable[[], int] = time.time_ns) -> PoolBackend:
    """The backend an ``[LP]`` section asks for (the simulated pool unless an RPC URL is given)."""
    lp = config.lp
    if lp is None:
        raise ValueError(f"{config.process_name}: the lp_manager needs an [LP] section")
    backend = lp.backend
    if backend == "auto":
        backend = "chain" if lp.rpc_url else "sim"
    if backend == "chain":  # devnet (anvil + contracts + flow) without an RPC URL, else that RPC
        from asymlp_runtime.lp.chain_backend import make_chain_backend

        return make_chain_backend(config, clock_ns=clock_ns)
    sim = lp.sim
    state_path = sim.state_path
    if state_path is None:
        journal = config.global_.journal_path
        base = Path(journal).parent if journal else Path("data")
        state_path = str(base / f"{config.process_name}_simpool.pickle")
    price = sim.initial_price
    if price is None and not Path(state_path).exists():
        price = _reference_path(lp)(clock_ns())
    price = float(price or 3000.0)
    settings = SimPoolSettings(
        pool_id=lp.pool,
        fee=lp.fee_tier,
        initial_price=price,
        background=tuple((float(w), float(v)) for w, v in sim.background),
        initial_idle0=sim.budget1 / 2.0 / price,
        initial_idle1=sim.budget1 / 2.0,
        seed=sim.seed,
        flow=FlowSettings(
            noise_rate_per_s=sim.noise_rate_per_s,
            noise_mean_value1=sim.noise_mean_value1,
            noise_size_sigma=sim.noise_size_sigma,
            arbitrage=sim.arbitrage,
        ),
    )
    return SimPoolBackend(settings, state_path=state_path, clock_ns=clock_ns)


class LpMetrics:
    """The LP's own Prometheus series, in the process's registry.

    ``asymlp_lp_gas_wei_total`` and ``asymlp_lp_gas_quote_total`` (gas of every operation, in wei
    and valued in quote at the last observed pool price: the pool's base token is taken to be the
    chain's gas token, as WETH is), ``asymlp_lp_fees_total`` (fees received by
    close and collect steps, whole tokens, by token), ``asymlp_lp_actions_total`` (by kind and
    outcome), ``asymlp_lp_position_liquidity`` and ``asymlp_lp_pool_price``.
    """

    def __init__(self, metrics: Any) -> None:
        from prometheus_client import Counter, Gauge

        r = metrics.registry
        self.process = metrics.process
        self.gas_wei = Counter("asymlp_lp_gas_wei", "Gas paid by LP operations (wei)", ["process", "pool"], registry=r)
        self.gas_quote = Counter(
            "asymlp_lp_gas_quote", "Gas paid by LP operations, in quote at the last pool price (base = gas token)",
            ["process", "pool"], registry=r,
        )  # fmt: skip
        self.fees = Counter(
            "asymlp_lp_fees", "Fees received by LP close/collect steps (whole tokens)", ["process", "pool", "token"],
            registry=r,
        )  # fmt: skip
        self.actions = Counter(
            "asymlp_lp_actions", "LP actions by kind and outcome", ["process", "pool", "kind", "outcome"], registry=r
        )
        self.liquidity = Gauge("asymlp_lp_position_liquidity", "Liquidity of the open position", ["process", "pool"],
                               registry=r)  # fmt: skip
        self.price = Gauge("asymlp_lp_pool_price", "Pool price (quote per base)", ["process", "pool"], registry=r)

    def step(self, pool: str, result: OpResult, decimals: tuple[int, int], symbols: tuple[str, str],
             price: float) -> None:  # fmt: skip
        """Count the gas and fees of one finished step."""
        if result.gas_cost_wei:
            self.gas_wei.labels(self.process, pool).inc(result.gas_cost_wei)
            self.gas_quote.labels(self.process, pool).inc(result.gas_cost_wei / 1e18 * price)
        for fee, d, sym in ((result.fees0, decimals[0], symbols[0]), (result.fees1, decimals[1], symbols[1])):
            if fee > 0:
                self.fees.labels(self.process, pool, sym).inc(fee / 10**d)


class LpManager(ProcessBase):
    """The ``lp_manager`` process (see the module docstring).

    Parameters
    ----------
    config : ProcessConfig
        Needs ``[LP]``, ``GLOBAL.journal_path`` and a publisher named ``lp``.
    backend : PoolBackend or None
        Injected backend (tests); by default :func:`make_backend`.
    reference : callable or None
        ``ts_ns -> price`` CeFi reference of the simulated flow; by default the paper reference
        path of ``LP.reference_symbol`` (``ASYMLP_PAPER_*`` settings).
    clock_ns : callable
        Wall clock.
    run_loop : bool
        Run the tick loop (tests drive :meth:`tick` themselves with ``False``).
    **kwargs
        Passed to :class:`ProcessBase`.
    """

    kind = "lp_manager"

    def __init__(
        self,
        config: ProcessConfig,
        *,
        backend: PoolBackend | None = None,
        reference: Callable[[int], float] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        run_loop: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        if config.lp is None:
            raise ValueError(f"{config.process_name}: the lp_manager needs an [LP] section")
        self.lp = config.lp
        self.backend: PoolBackend | None = backend
        self._reference = reference
        self._clock_ns = clock_ns
        self._run_loop = run_loop
        self.params: LPStrategyParams | None = None
        self.strategy_state = LPStrategyState(0, 0, 0, 0.0, 0.0, 0)
        self.hedge_position = 0.0
        self.reference_mid: float | None = None
        self.reference_ts_ns = 0
        self._ref_prev: tuple[int, float] | None = None
        self.sigma = float(self.lp.strategy.sigma0)
        self._sigma_from_model = self.lp.model.sigma is not None
        self.pulled = False
        self.last_inventory: tuple[int, int] | None = None
        self.actions_done = 0
        self.actions_failed = 0
        self._action_counter = 0
        self._checkpoint_seq = 0
        self._lock = asyncio.Lock()
        self._needs_recovery = False
        self.published_actions: list[m.LpAction] = []  # the last few, for tests and inspection
        self.published_inventory: list[m.InventoryDelta] = []
        self.lp_metrics = LpMetrics(self.metrics)
        self._last_bar_ts_ns = 0
        self._last_bar_key: tuple[int, ...] | None = None
        self._last_price = 0.0

    # ------------------------------------------------------------------ lifecycle
    @property
    def pool_id(self) -> str:
        """Pool name used in topics."""
        return self.backend.pool_id if self.backend is not None else self.lp.pool

    async def on_start(self) -> None:
        if self.journal is None:
            raise RuntimeError("lp_manager needs GLOBAL.journal_path (LP actions are journaled)")
        if self.backend is None:
            self.backend = make_backend(self.config, clock_ns=self._clock_ns)
        if self._reference is None and isinstance(self.backend, SimPoolBackend):
            self._reference = _reference_path(self.lp)
        b = self.backend
        raw_per_human = 10.0 ** (b.token1.decimals - b.token0.decimals)
        self.params = strategy_params(self.lp, b.tick_spacing, raw_per_human)
        await self.recover()
        await self.publish_inventory(force=True)
        if self._run_loop:
            self.spawn(self._tick_loop(), "lp.tick")

    async def on_stop(self) -> None:
        if self.backend is not None:
            await self.backend.close_backend()

    async def _tick_loop(self) -> None:
        interval = self.lp.strategy.decision_interval_s
        while True:
            try:
                if self._needs_recovery:  # an action was interrupted by an error: resume or unwind it
                    async with self._lock:
                        await self.recover()
                    self._needs_recovery = False
                await self.tick()
                self.clear_condition("backend")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed tick is retried at the next one
                self._needs_recovery = True
                self.metrics.error("tick", type(exc).__name__)
                self.set_condition("backend", "degraded", type(exc).__name__)
                self.log.error("tick failed: %s", type(exc).__name__, exc_info=exc)
            await asyncio.sleep(interval)

    # ------------------------------------------------------------------ inputs
    async def on_message(self, stream: str, delivery: Delivery) -> None:
        msg = delivery.message
        if isinstance(msg, m.Quote):
            if not self.lp.reference_topic or delivery.topic == self.lp.reference_topic:
                self.on_reference(msg.mid, msg.ts_exchange_ns or msg.ts_sent_ns or self._clock_ns())
        elif isinstance(msg, m.RiskState):
            if delivery.topic == RISK_TOPIC or delivery.topic.startswith("risk."):
                self.hedge_position = float(msg.hedge_position)

    def on_reference(self, mid: float, ts_ns: int) -> None:
        """A reference price: updates the EWMA of the variance rate (per second)."""
        if not (mid > 0 and math.isfinite(mid)):
            return
        self.reference_mid = mid
        self.reference_ts_ns = self._clock_ns()
        prev = self._ref_prev
        if prev is not None and ts_ns > prev[0]:
            dt = (ts_ns - prev[0]) / 1e9
            r = math.log(mid / prev[1])
            weight = 1.0 - math.exp(-dt * math.log(2.0) / self.lp.strategy.sigma_halflife_s)
            var = self.sigma * self.sigma
            var += weight * (r * r / dt - var)
            self.sigma = math.sqrt(max(var, 1e-16))
        if prev is None or ts_ns > prev[0]:
            self._ref_prev = (ts_ns, mid)

    def check_health(self) -> None:
        age_limit = 5.0
        sub = self.config.subscribers.get("market_data")
        if sub is not None and sub.max_age_s is not None:
            age_limit = max(age_limit, 2.0 * sub.max_age_s)
        if self.reference_ts_ns and (self._clock_ns() - self.reference_ts_ns) / 1e9 > age_limit:
            self.set_condition("reference", "degraded", "no reference quote")
        else:
            self.clear_condition("reference")

    async def on_command(self, command: m.Command) -> str:
        if command.command == "pull_liquidity":
            await self.pull_liquidity(reason="operator")
            return "liquidity pulled"
        if command.command == "resume":
            self.pulled = False
            await self._checkpoint()
        return await super().on_command(command)

    # ------------------------------------------------------------------ tick
    async def tick(self) -> None:
        """One step: market (simulation), inventory, decision."""
        backend = self._backend()
        now = self._clock_ns()
        if isinstance(backend, SimPoolBackend):
            ref = self._reference(now) if self._reference is not None else self.reference_mid
            backend.advance_market(now, ref)
        await self.publish_inventory()
        if self.paused or self.pulled:
            return
        await self.decide(now)

    def _backend(self) -> PoolBackend:
        if self.backend is None:
            raise RuntimeError("backend not started")
        return self.backend

    async def decide(self, now_ns: int) -> int:
        """Call the strategy once; act on a non-zero reason. Returns the reason bits."""
        async with self._lock:
            if self.pulled:
                return 0
            return await self._decide_locked(now_ns)

    async def _decide_locked(self, now_ns: int) -> int:
        backend = self._backend()
        assert self.params is not None
        pool = await backend.pool_state()
        pos = await backend.position()
        await self._record_bar(pool, pos, now_ns)
        self.lp_metrics.liquidity.labels(self.process_name, self.pool_id).set(pos.liquidity)
        d0, d1 = backend.token0.decimals, backend.token1.decimals
        lp0 = pos.total0 / 10**d0
        lp1 = pos.total1 / 10**d1
        price = pool.price
        params = self.params
        if self.lp.model.q_max is not None:
            value = lp0 * price + lp1
            if value > 0:
                params = params._replace(q_max=max(self.lp.model.q_max * price / value, 1e-6))
        sigma = self.sigma
        if self._sigma_from_model and price > 0:
            sigma = float(self.lp.model.sigma) / price
        state = self.strategy_state
        if not pos.is_open and state.is_open:
            state = state._replace(is_open=0)
        new_state, reason, reservation = lp_decide(
            state, now_ns / 1e9, price, sigma, lp0, lp1, self.hedge_position, params
        )
        reason = int(reason)
        if reason == 0:
            self.strategy_state = new_state
            return 0
        kind = "rebalance" if pos.is_open else "open"
        steps = ["close", "swap", "open"] if pos.is_open else ["swap", "open"]
        lower, upper = int(new_state.tick_lower), int(new_state.tick_upper)
        if pos.is_open and (lower, upper) == (pos.tick_lower, pos.tick_upper):
            self.strategy_state = new_state  # same range: nothing to do
            return reason
        ok = await self._run_action(kind, reason_code(reason), steps, lower, upper, new_state)
        if ok:
            self.strategy_state = new_state
        else:
            self.strategy_state = new_state._replace(is_open=0)
        await self._checkpoint()
        return reason

    async def _record_bar(self, pool: PoolState, pos: LpPosition, ts_ns: int | None = None, *,
                          force: bool = False) -> None:  # fmt: skip
        """Journal what was observed of the pool (the path a run is replayed on, see
        :mod:`asymlp_runtime.lp.run_report`): one record per distinct timestamp, and none when
        nothing changed since the previous one (a decision within the same block)."""
        journal = self.journal
        if journal is None:
            return
        self._last_price = pool.price
        self.lp_metrics.price.labels(self.process_name, self.pool_id).set(pool.price)
        owed = (pos.fees0, pos.fees1) if pos.is_open else (0, 0)
        key = (pool.block_number, pool.sqrt_price_x96, pool.liquidity, pool.fee_growth0_x128, pool.fee_growth1_x128,
               pos.liquidity, *owed)  # fmt: skip
        if not force and key == self._last_bar_key:
            return  # nothing changed since the last observation (same block): no new point
        self._last_bar_key = key
        # strictly after the previous bar and any step already journaled (a step maps to the next bar)
        ts = max(self._clock_ns() if ts_ns is None else ts_ns, self._last_bar_ts_ns + 1)
        self._last_bar_ts_ns = ts
        await journal.append(
            LpBarRecord(
                pool=self.pool_id,
                price=pool.price,
                tick=pool.tick,
                liquidity=pool.liquidity,
                fee_growth0=pool.fee_growth0_x128,
                fee_growth1=pool.fee_growth1_x128,
                owed0=owed[0],
                owed1=owed[1],
                block_number=pool.block_number,
                ts_ns=ts,
            )
        )

    async def pull_liquidity(self, *, reason: str = "operator") -> bool:
        """Close the position and hold the tokens until ``resume``."""
        self.pulled = True
        async with self._lock:
            await self._checkpoint()
            pos = await self._backend().position()
            ok = True
            if pos.is_open:
                ok = await self._run_action("close", reason, ["close"], pos.tick_lower, pos.tick_upper, None)
            self.strategy_state = self.strategy_state._replace(is_open=0)
            await self._checkpoint()
        return ok

    # ------------------------------------------------------------------ actions
    def _new_action_id(self) -> str:
        self._action_counter += 1
        return f"{self.process_name}-{self._clock_ns()}-{self._action_counter}"

    async def _run_action(
        self,
        kind: str,
        reason: str,
        steps: list[str],
        tick_lower: int,
        tick_upper: int,
        state: LPStrategyState | None,
    ) -> bool:
        """Journal and run one action, all its steps (the caller holds the lock); True when completed."""
        journal = self.journal
        assert journal is not None
        action_id = self._new_action_id()
        plan = {
            "kind": kind,
            "reason": reason,
            "tick_lower": tick_lower,
            "tick_upper": tick_upper,
            "steps": steps,
            "state": list(state) if state is not None else None,
        }
        await journal.append(
            LpActionRecord(
                action_id=action_id,
                kind=kind,
                pool=self.pool_id,
                n_steps=len(steps),
                params=json.dumps(plan, sort_keys=True),
                ts_ns=self._clock_ns(),
            )
        )
        return await self._run_steps(action_id, plan, 0, recovered=False)

    async def _run_steps(self, action_id: str, plan: dict[str, Any], first: int, *, recovered: bool) -> bool:
        journal = self.journal
        assert journal is not None
        steps: list[str] = plan["steps"]
        for index in range(first, len(steps)):
            try:
                result = await self._run_step(action_id, index, steps[index], plan)
            except BackendError as exc:
                self.actions_failed += 1
                await journal.append(
                    LpStepRecord(
                        action_id=action_id,
                        step=index,
                        kind=steps[index],
                        status="failed",
                        note=exc.reason[:200],
                        ts_ns=self._clock_ns(),
                    )
                )
                await journal.append(
                    LpActionEndRecord(
                        action_id=action_id,
                        outcome="failed",
                        note=f"step {index}: {exc.reason}"[:200],
                        ts_ns=self._clock_ns(),
                    )
                )
                self.lp_metrics.actions.labels(self.process_name, self.pool_id, plan.get("kind", "?"), "failed").inc()
                self.log.warning("LP action %s failed at step %d: %s", action_id, index, exc.reason)
                await self.publish_inventory()
                return False
            await self._record_step(
                action_id, index, steps[index], result, plan, note="recovered" if recovered else ""
            )
        await journal.append(
            LpActionEndRecord(
                action_id=action_id,
                outcome="completed",
                note="resumed" if recovered else "",
                ts_ns=self._clock_ns(),
            )
        )
        self.actions_done += 1
        self.lp_metrics.actions.labels(self.process_name, self.pool_id, plan.get("kind", "?"), "completed").inc()
        return True

    async def _run_step(self, action_id: str, index: int, step: str, plan: dict[str, Any]) -> OpResult | None:
        backend = self._backend()
        op_id = f"{action_id}:{index}"
        done = await backend.op_result(op_id)
        if done is not None:
            return done
        if step == "close":
            return await backend.close(op_id=op_id)
        if step == "collect":
            return await backend.collect(op_id=op_id)
        if step == "open":
            pos = await backend.position()
            return await backend.open(
                plan["tick_lower"], plan["tick_upper"], pos.idle0, pos.idle1, op_id=op_id
            )
        if step == "swap":
            order = await self._reweight_swap(plan["tick_lower"], plan["tick_upper"])
            if order is None:
                return None
            zero_for_one, amount = order
            return await backend.swap(zero_for_one, amount, op_id=op_id)
        raise BackendError(op_id, f"unknown step {step!r}")

    async def _reweight_swap(self, tick_lower: int, tick_upper: int) -> tuple[bool, int] | None:
        """The exact-input swap that brings the idle tokens to the range's ratio (or ``None``)."""
        backend = self._backend()
        pool = await backend.pool_state()
        pos = await backend.position()
        s = pool.sqrt_price_x96 / float(1 << 96)
        sa = math.sqrt(1.0001**tick_lower)
        sb = math.sqrt(1.0001**tick_upper)
        sc = min(max(s, sa), sb)
        ux = 1.0 / sc - 1.0 / sb  # raw token0 per unit of liquidity
        uy = sc - sa  # raw token1 per unit of liquidity
        p_raw = s * s
        value = pos.idle0 * p_raw + pos.idle1
        if value <= 0:
            return None
        unit = ux * p_raw + uy
        if unit <= 0:
            return None
        target0 = value * ux / unit
        excess0 = pos.idle0 - target0
        fee = backend.fee / 1_000_000
        if abs(excess0) * p_raw < _MIN_SWAP_FRACTION * value:
            return None
        if excess0 > 0:
            amount = min(int(excess0), pos.idle0)
            return (True, amount) if amount > 0 else None
        amount = min(int(-excess0 * p_raw / (1.0 - fee)), pos.idle1)
        return (False, amount) if amount > 0 else None

    async def _record_step(
        self,
        action_id: str,
        index: int,
        step: str,
        result: OpResult | None,
        plan: dict[str, Any],
        *,
        note: str = "",
    ) -> None:
        journal = self.journal
        assert journal is not None
        reason = str(plan.get("reason", ""))
        if result is None:  # nothing to do (e.g. the swap was too small)
            await journal.append(
                LpStepRecord(
                    action_id=action_id,
                    step=index,
                    kind=step,
                    status="done",
                    amount0=0,
                    amount1=0,
                    note=json.dumps({"skipped": True, "note": note}),
                    ts_ns=self._clock_ns(),
                )
            )
            return
        # signed deltas of the account: + received, - paid
        if step == "open":
            d0, d1 = -result.amount0, -result.amount1
        elif step == "swap":
            d0, d1 = -result.amount0, -result.amount1
        else:  # close, collect: principal (close) plus fees
            extra0 = result.fees0 if step == "close" else 0
            extra1 = result.fees1 if step == "close" else 0
            d0, d1 = result.amount0 + extra0, result.amount1 + extra1
        detail = {"fees0": str(result.fees0), "fees1": str(result.fees1), "block": result.block_number}
        if note:
            detail["note"] = note
        step_ts = max(self._clock_ns(), self._last_bar_ts_ns + 1)  # after the bar it acted on
        await journal.append(
            LpStepRecord(
                action_id=action_id,
                step=index,
                kind=step,
                status="done",
                tick_lower=result.tick_lower,
                tick_upper=result.tick_upper,
                liquidity=result.liquidity,
                amount0=d0,
                amount1=d1,
                tx_hash=result.tx_hash,
                note=json.dumps(detail, sort_keys=True),
                ts_ns=step_ts,
            )
        )
        backend = self._backend()
        self.lp_metrics.step(self.pool_id, result, (backend.token0.decimals, backend.token1.decimals),
                             (backend.token0.symbol, backend.token1.symbol), self._last_price)  # fmt: skip
        lower, upper = result.tick_lower, result.tick_upper
        if step == "swap":  # the re-weighting swap is reported with the range it prepares
            lower, upper = int(plan.get("tick_lower", 0)), int(plan.get("tick_upper", 0))
        if lower < upper:
            msg = m.LpAction(
                action=_STEP_MESSAGE_KIND.get(step, "rebalance"),
                pool_id=self.pool_id,
                tick_lower=lower,
                tick_upper=upper,
                liquidity=m.uint_to_wire(result.liquidity, 128),
                amount0_raw=m.uint_to_wire(abs(d0)),
                amount1_raw=m.uint_to_wire(abs(d1)),
                reason=reason or "none",
                tx_hash=result.tx_hash or None,
                position_id=action_id,
                block_number=result.block_number,
            )
            sent = await self.publish("lp", lp_action_topic(self.pool_id), msg)
            self._keep(self.published_actions, sent or msg)
        await self.publish_inventory()
        await self._observe_after_step(result.block_number, step_ts, at_block=not note)

    async def _observe_after_step(self, block: int, step_ts: int, *, at_block: bool) -> None:
        """Journal the pool as a step left it (the path's point at the action), best effort.

        Read at the step's block where the backend keeps it, so a flow swap landing right after
        the step does not move the point; at the latest block for a recovered step (a reloaded or
        pruned node may not keep an older one) or when the read at the block fails. An
        observation that cannot be made at all is skipped with a warning: it never interrupts an
        action (the step is already journaled and published).
        """
        backend = self._backend()
        for pinned in ((True, False) if at_block and block else (False,)):
            try:
                pool = await backend.pool_state(block=block if pinned else None)
                pos = await backend.position()
                await self._record_bar(pool, pos, max(self._clock_ns(), step_ts + 1), force=True)
                return
            except Exception as exc:  # noqa: BLE001 - an observation must not break an action
                self.log.warning("pool observation after a step failed (%s, block %s): %s",
                                 "at its block" if pinned else "latest", block, type(exc).__name__)  # fmt: skip
                self.metrics.error("observe", type(exc).__name__)

    @staticmethod
    def _keep(buffer: list[Any], item: Any, limit: int = 1000) -> None:
        buffer.append(item)
        if len(buffer) > limit:
            del buffer[: len(buffer) - limit]

    # ------------------------------------------------------------------ inventory
    async def publish_inventory(self, *, force: bool = False) -> m.InventoryDelta | None:
        """Publish the exact holdings when they changed since the last message (or ``force``)."""
        backend = self._backend()
        pos: LpPosition = await backend.position()
        pool: PoolState = await backend.pool_state()
        key = (pos.total0, pos.total1)
        if not force and key == self.last_inventory:
            return None
        d0, d1 = backend.token0.decimals, backend.token1.decimals
        amount0 = pos.total0 / 10**d0
        msg = m.InventoryDelta(
            pool_id=self.pool_id,
            block_number=pool.block_number,
            amount0_raw=m.uint_to_wire(pos.total0),
            amount1_raw=m.uint_to_wire(pos.total1),
            amount0=amount0,
            amount1=pos.total1 / 10**d1,
            delta0=amount0,
            price=pool.price,
            tick=pool.tick,
            ts_exchange_ns=pool.ts_ns,
            ts_recv_ns=self._clock_ns(),
        )
        sent = await self.publish("lp", inventory_topic(self.pool_id), msg)
        self.last_inventory = key
        self._keep(self.published_inventory, sent or msg)
        return sent or msg

    # ------------------------------------------------------------------ journal state
    async def _checkpoint(self) -> None:
        journal = self.journal
        if journal is None:
            return
        self._checkpoint_seq += 1
        payload = json.dumps({"state": list(self.strategy_state), "pulled": self.pulled})
        await journal.append(
            CheckpointRecord(
                process=self.process_name,
                name=_CHECKPOINT_NAME,
                seq=self._checkpoint_seq,
                payload=payload,
                ts_ns=self._clock_ns(),
            )
        )

    async def recover(self) -> None:
        """Restore the strategy state and finish (resume or unwind) unfinished actions."""
        journal = self.journal
        assert journal is not None
        # observations and steps keep a strict time order across restarts (a clock behind the
        # journal would otherwise collide with earlier bars)
        last = await asyncio.to_thread(
            lambda: max(journal.journal.last_ts_ns(LpBarRecord), journal.journal.last_ts_ns(LpStepRecord))
        )
        self._last_bar_ts_ns = max(self._last_bar_ts_ns, last)
        state = await journal.rebuild_state()
        checkpoint = state.checkpoints.get((self.process_name, _CHECKPOINT_NAME))
        if checkpoint is not None:
            self._checkpoint_seq = checkpoint.seq
            data = json.loads(checkpoint.payload)
            self.pulled = bool(data.get("pulled", False))
            st = data.get("state")
            if st:
                self.strategy_state = LPStrategyState(
                    int(st[0]), int(st[1]), int(st[2]), float(st[3]), float(st[4]), int(st[5])
                )
        self._action_counter = state.last_row_ids.get("lp_actions", 0)
        now = self._clock_ns()
        for progress in sorted(state.lp_actions_in_progress.values(), key=lambda p: p.action.ts_ns):
            action = progress.action
            if action.pool != self.pool_id:
                continue
            plan = json.loads(action.params)
            age_s = (now - action.ts_ns) / 1e9
            if age_s <= RESUME_MAX_AGE_S:
                self.log.info("resuming LP action %s at step %d", action.action_id, progress.next_step)
                ok = await self._run_steps(action.action_id, plan, progress.next_step, recovered=True)
                st = plan.get("state")
                if ok and st:
                    self.strategy_state = LPStrategyState(
                        int(st[0]), int(st[1]), int(st[2]), float(st[3]), float(st[4]), int(st[5])
                    )
            else:
                await self._unwind(action.action_id, plan, progress.next_step)
        pos = await self._backend().position()
        if not pos.is_open:
            self.strategy_state = self.strategy_state._replace(is_open=0)
        elif (pos.tick_lower, pos.tick_upper) != (
            self.strategy_state.tick_lower,
            self.strategy_state.tick_upper,
        ):
            pool = await self._backend().pool_state()
            self.strategy_state = LPStrategyState(
                1,
                pos.tick_lower,
                pos.tick_upper,
                now / 1e9,
                float(pool.tick),
                int(self.params.rebalance.enabled),
            )
        await self._checkpoint()

    async def _unwind(self, action_id: str, plan: dict[str, Any], next_step: int) -> None:
        """Record what ran before the crash, close any open position and end the action ``aborted``."""
        journal = self.journal
        assert journal is not None
        backend = self._backend()
        steps: list[str] = plan["steps"]
        for index in range(next_step, len(steps)):
            done = await backend.op_result(f"{action_id}:{index}")
            if done is None:
                break
            await self._record_step(action_id, index, steps[index], done, plan, note="recovered")
            next_step = index + 1
        pos = await backend.position()
        if pos.is_open:
            op_id = f"{action_id}:unwind"
            result = await backend.close(op_id=op_id)
            await self._record_step(
                action_id, len(steps), "close", result, {"reason": "recovery"}, note="unwind"
            )
        await journal.append(
            LpActionEndRecord(
                action_id=action_id, outcome="aborted", note="unwound after restart", ts_ns=self._clock_ns()
            )
        )


PROCESS_CLASS = LpManager
