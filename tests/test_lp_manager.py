"""lp_manager on the simulated exact pool: streams equal the exact pool, restarts lose nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.process_helpers import config_from_text, free_ports, run_async, wait_until

from asymlp_core.v3 import MAX_SQRT_RATIO, MIN_SQRT_RATIO, get_amounts_for_liquidity, get_sqrt_ratio_at_tick
from asymlp_runtime import messages as m
from asymlp_runtime.bus import Publisher, Subscriber
from asymlp_runtime.journal import Journal, LpActionEndRecord, LpActionRecord, LpStepRecord, rebuild_state
from asymlp_runtime.lp import FlowSettings, SimPoolBackend, SimPoolSettings
from asymlp_runtime.lp.backend import BackendError, OpResult
from asymlp_runtime.processes.lp_manager import RESUME_MAX_AGE_S, LpManager, reason_code

pytestmark = pytest.mark.timeout(120)

_MAX_UINT128 = (1 << 128) - 1
_T0 = 1_800_000_000 * 10**9


class FakeClock:
    """A wall clock the test moves."""

    def __init__(self, start_ns: int = _T0) -> None:
        self.now = start_ns

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1e9)


class Reference:
    """A CeFi reference price the test sets."""

    def __init__(self, price: float) -> None:
        self.price = price

    def __call__(self, ts_ns: int) -> float:
        return self.price


def _config(tmp_path: Path, lp_port: int, ctl_port: int, cmd_port: int):
    return config_from_text(
        f"""
[GLOBAL]
process_name = "lp_manager"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.2
journal_path = "{{tmp}}/lp.sqlite"
[PUBLISHERS]
lp = "tcp://127.0.0.1:{lp_port}"
control = "tcp://127.0.0.1:{ctl_port}"
[SUBSCRIBERS.supervisor]
endpoint = "tcp://127.0.0.1:{cmd_port}"
topics = ["cmd.all", "cmd.lp_manager"]
[LP]
pool = "sim"
fee_tier = 3000
[LP.strategy]
min_interval_s = 0.0
decision_interval_s = 0.05
""",
        tmp_path,
    )


def _backend(tmp_path: Path, clock: FakeClock, *, noise: float = 4.0) -> SimPoolBackend:
    settings = SimPoolSettings(pool_id="sim", initial_price=3000.0, seed=11,
                               flow=FlowSettings(noise_rate_per_s=noise, noise_mean_value1=20_000.0))
    return SimPoolBackend(settings, state_path=tmp_path / "simpool.pickle", clock_ns=clock)


class _Harness:
    """One LpManager run in the background, with a subscriber on its lp stream."""

    def __init__(self, tmp_path: Path, clock: FakeClock, reference: Reference, backend=None,
                 ports: list[int] | None = None, run_loop: bool = False) -> None:
        self.ports = ports or free_ports(3)
        self.config = _config(tmp_path, *self.ports)
        self.backend = backend or _backend(tmp_path, clock)
        self.manager = LpManager(self.config, backend=self.backend, reference=reference, clock_ns=clock,
                                 run_loop=run_loop, configure_logging=False)
        self.received: list[m.Message] = []

    async def __aenter__(self) -> _Harness:
        self.sub = Subscriber(f"tcp://127.0.0.1:{self.ports[0]}", ("inventory.", "lp_action."), m.LpStream)
        self.task = asyncio.create_task(self.manager.run())
        await asyncio.wait_for(self.manager.started.wait(), 30)
        self.reader = asyncio.create_task(self._read())
        await asyncio.sleep(0.3)  # let the SUB connect (slow joiner)
        return self

    async def _read(self) -> None:
        while True:
            delivery = await self.sub.recv()
            if delivery is not None:
                self.received.append(delivery.message)

    async def __aexit__(self, *exc: object) -> None:
        self.manager.request_stop("test")
        await asyncio.wait_for(self.task, 20)
        self.reader.cancel()
        self.sub.close()


def _inventory_from_pool(backend: SimPoolBackend) -> tuple[int, int]:
    """Holdings computed independently: burn + collect on a copy of the exact pool, plus idle."""
    lo, hi = backend.range
    if lo == hi:
        return backend.idle0, backend.idle1
    pool = backend.pool.copy()
    liquidity = pool.position("lp", lo, hi).liquidity
    pool.burn("lp", lo, hi, liquidity)
    got0, got1 = pool.collect("lp", lo, hi, _MAX_UINT128, _MAX_UINT128)
    return got0 + backend.idle0, got1 + backend.idle1


def _steps_by_action(journal: Journal) -> dict[str, list[LpStepRecord]]:
    out: dict[str, list[LpStepRecord]] = {}
    for step in journal.read(LpStepRecord):
        out.setdefault(step.action_id, []).append(step)
    return out


def test_reason_code_names_every_trigger():
    assert reason_code(1 | 8) == "price_left_band+range_stale"
    assert reason_code(16) == "open"
    assert reason_code(0) == "none"


def test_open_and_rebalance_publish_amounts_equal_to_exact_pool(tmp_path):
    clock, reference = FakeClock(), Reference(3000.0)

    async def main():
        async with _Harness(tmp_path, clock, reference) as h:
            lm, backend = h.manager, h.backend
            # open: replay the same swap and mint on an independent copy of the exact pool
            before = backend.pool.copy()
            idle0, idle1 = backend.idle0, backend.idle1
            await lm.tick()
            assert lm.strategy_state.is_open == 1
            ops = list(backend.ops.values())
            assert [op.kind for op in ops][-1] == "open"
            replay = before
            for op in ops:
                if op.kind == "swap":
                    zero_for_one = op.amount0 > 0
                    amount_in = op.amount0 if zero_for_one else op.amount1
                    limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
                    assert replay.swap(zero_for_one, amount_in, limit) == (op.amount0, op.amount1)
                    idle0, idle1 = idle0 - op.amount0, idle1 - op.amount1
                else:
                    paid = replay.mint("lp", op.tick_lower, op.tick_upper, op.liquidity)
                    assert paid == (op.amount0, op.amount1)
                    idle0, idle1 = idle0 - paid[0], idle1 - paid[1]
            assert (backend.idle0, backend.idle1) == (idle0, idle1)
            assert replay.sqrt_price_x96 == backend.pool.sqrt_price_x96

            # flow moves the inventory; every InventoryDelta equals the exact holdings at its time
            for _ in range(20):
                clock.advance(0.25)
                await lm.tick()
                expected = _inventory_from_pool(backend)
                last = lm.published_inventory[-1]
                assert (last.amount0_int, last.amount1_int) == expected

            # the reference jumps 4 %: the arbitrageur moves the pool out of the band -> rebalance
            reference.price = 3000.0 * 1.04
            n_actions = lm.actions_done
            for _ in range(20):
                clock.advance(0.25)
                await lm.tick()
                if lm.actions_done > n_actions:
                    break
            assert lm.actions_done > n_actions
            closed = lambda: any(isinstance(x, m.LpAction) and x.action == "close" for x in h.received)  # noqa: E731
            await wait_until(closed, 3.0)
            inventories = [x for x in h.received if isinstance(x, m.InventoryDelta)]
            actions = [x for x in h.received if isinstance(x, m.LpAction)]
            assert len({(x.amount0_raw, x.amount1_raw) for x in inventories}) > 3  # the inventory moved
            assert {a.action for a in actions} >= {"open", "close"}

        # journal == backend results == published messages, step by step
        with Journal(tmp_path / "lp.sqlite") as journal:
            steps = _steps_by_action(journal)
            assert not rebuild_state(journal).lp_actions_in_progress
            ends = {e.action_id: e.outcome for e in journal.read(LpActionEndRecord)}
        assert set(ends.values()) == {"completed"}
        for action_id, records in steps.items():
            assert [s.step for s in records] == list(range(len(records)))
            for s in records:
                if s.kind == "swap" and json.loads(s.note).get("skipped"):
                    continue
                op = backend.ops[f"{action_id}:{s.step}"]
                sign = 1 if s.kind in ("close", "collect") else -1
                fees = (op.fees0, op.fees1) if s.kind == "close" else (0, 0)
                expected = (sign * (op.amount0 + fees[0]), sign * (op.amount1 + fees[1]))
                assert (s.amount0, s.amount1) == expected
                published = [a for a in actions if a.position_id == action_id and a.tx_hash == op.tx_hash]
                assert len(published) == 1
                assert int(published[0].amount0_raw) == abs(s.amount0)
                assert int(published[0].amount1_raw) == abs(s.amount1)
                if s.kind == "open":
                    assert published[0].liquidity_int == op.liquidity
                    sa, sb = get_sqrt_ratio_at_tick(op.tick_lower), get_sqrt_ratio_at_tick(op.tick_upper)
                    assert op.liquidity > 0 and sa < sb

    run_async(main(), 90)


class _Crash(Exception):
    """Stands for the process dying in the middle of an action."""


class _CrashingBackend(SimPoolBackend):
    """Dies at one step of the next action: before the pool runs it, or after (result not returned)."""

    crash_kind: str = ""
    crash_after: bool = False

    async def _maybe(self, kind: str, call):
        if kind == self.crash_kind and not self.crash_after:
            self.crash_kind = ""
            raise _Crash(kind)
        result = await call()
        if kind == self.crash_kind and self.crash_after:
            self.crash_kind = ""
            raise _Crash(kind)
        return result

    async def open(self, *a, **kw) -> OpResult:
        return await self._maybe("open", lambda: SimPoolBackend.open(self, *a, **kw))

    async def close(self, **kw) -> OpResult:
        return await self._maybe("close", lambda: SimPoolBackend.close(self, **kw))

    async def swap(self, *a, **kw) -> OpResult:
        return await self._maybe("swap", lambda: SimPoolBackend.swap(self, *a, **kw))


def _settings() -> SimPoolSettings:
    return SimPoolSettings(pool_id="sim", initial_price=3000.0, seed=11,
                           flow=FlowSettings(noise_rate_per_s=4.0, noise_mean_value1=20_000.0))


@pytest.mark.parametrize(
    ("crash_kind", "crash_after", "restart_delay_s", "outcome"),
    [
        ("swap", False, 1.0, "completed"),  # died before the swap ran: resumed
        ("swap", True, 1.0, "completed"),  # the swap ran, its record was never written: found, resumed
        ("open", True, 1.0, "completed"),  # died after the mint
        ("open", False, RESUME_MAX_AGE_S + 60.0, "aborted"),  # too old to resume: unwound
    ],
)
def test_restart_mid_rebalance_resumes_or_unwinds_without_loss(tmp_path, crash_kind, crash_after,
                                                               restart_delay_s, outcome):
    clock, reference = FakeClock(), Reference(3000.0)
    ports = free_ports(3)
    state_path = tmp_path / "simpool.pickle"

    async def first_life() -> tuple[str, int, int]:
        backend = _CrashingBackend(_settings(), state_path=state_path, clock_ns=clock)
        async with _Harness(tmp_path, clock, reference, backend=backend, ports=ports) as h:
            await h.manager.tick()  # opens
            assert backend.range != (0, 0)
            for _ in range(8):
                clock.advance(0.25)
                await h.manager.tick()
            reference.price = 3000.0 * 1.05
            clock.advance(0.25)
            backend.advance_market(clock(), reference.price)
            idle_before = (backend.idle0, backend.idle1)
            holdings_before = _inventory_from_pool(backend)
            backend.crash_kind, backend.crash_after = crash_kind, crash_after
            with pytest.raises(_Crash):
                await h.manager.decide(clock())
            # the process dies here: no end record, the world (pool file) is as the crash left it
        with Journal(tmp_path / "lp.sqlite") as journal:
            (progress,) = rebuild_state(journal).lp_actions_in_progress.values()
            assert progress.action.kind == "rebalance"
        return progress.action.action_id, idle_before, holdings_before

    action_id, idle_before, holdings_before = run_async(first_life(), 60)
    clock.advance(restart_delay_s)

    async def second_life():
        backend = SimPoolBackend(_settings(), state_path=state_path, clock_ns=clock)
        async with _Harness(tmp_path, clock, reference, backend=backend, ports=ports) as h:
            await wait_until(lambda: any(isinstance(x, m.InventoryDelta) for x in h.received), 2.0)
            return backend, h.manager

    backend, manager = run_async(second_life(), 60)
    with Journal(tmp_path / "lp.sqlite") as journal:
        state = rebuild_state(journal)
        assert not state.lp_actions_in_progress
        ends = [e for e in journal.read(LpActionEndRecord) if e.action_id == action_id]
        assert [e.outcome for e in ends] == [outcome]
        steps = [s for s in journal.read(LpStepRecord) if s.action_id == action_id]
        (action,) = [a for a in journal.read(LpActionRecord) if a.action_id == action_id]
    # every step recorded exactly once, and every recorded step ran exactly once in the pool
    assert len({s.step for s in steps}) == len(steps)
    executed = sorted(k for k in backend.ops if k.startswith(action_id + ":"))
    recorded = sorted(f"{action_id}:{s.step}" if s.step < action.n_steps else f"{action_id}:unwind"
                      for s in steps if not json.loads(s.note).get("skipped"))
    assert executed == recorded
    # nothing lost: idle now = idle before + the signed deltas the journal recorded
    d0 = sum(s.amount0 or 0 for s in steps)
    d1 = sum(s.amount1 or 0 for s in steps)
    assert (backend.idle0, backend.idle1) == (idle_before[0] + d0, idle_before[1] + d1)
    # and one position at most, the one the journal says
    positions = {k: v for k, v in backend.pool.positions().items() if k[0] == "lp" and v.liquidity > 0}
    if outcome == "completed":
        plan = json.loads(action.params)
        assert list(positions) == [("lp", plan["tick_lower"], plan["tick_upper"])]
        assert backend.range == (plan["tick_lower"], plan["tick_upper"])
        opened = [s for s in steps if s.kind == "open"]
        assert positions[("lp", plan["tick_lower"], plan["tick_upper"])].liquidity == opened[0].liquidity
    else:
        assert positions == {} and backend.range == (0, 0)
        assert manager.strategy_state.is_open == 0
    # holdings moved only by the re-weighting swap (and the pool's rounding of the mint, <= 1 unit)
    after = _inventory_from_pool(backend)
    swap = [s for s in steps if s.kind == "swap"]
    s0 = sum(s.amount0 or 0 for s in swap)
    s1 = sum(s.amount1 or 0 for s in swap)
    assert 0 <= holdings_before[0] + s0 - after[0] <= 2
    assert 0 <= holdings_before[1] + s1 - after[1] <= 2


def test_pull_liquidity_command_closes_and_holds_until_resume(tmp_path):
    clock, reference = FakeClock(), Reference(3000.0)

    async def main():
        ports = free_ports(3)
        cmd_pub = Publisher(f"tcp://127.0.0.1:{ports[2]}", sender="supervisor")
        try:
            async with _Harness(tmp_path, clock, reference, ports=ports) as h:
                lm, backend = h.manager, h.backend
                await lm.tick()
                assert backend.range != (0, 0)
                await asyncio.sleep(0.3)
                await cmd_pub.publish("cmd.lp_manager", m.Command(command_id="c1", command="pull_liquidity"))
                assert await wait_until(lambda: lm.pulled and backend.range == (0, 0), 5.0)
                for _ in range(5):
                    clock.advance(1.0)
                    await lm.tick()
                assert backend.range == (0, 0)  # held
                pos = await backend.position()
                last = lm.published_inventory[-1]
                assert (last.amount0_int, last.amount1_int) == (pos.idle0, pos.idle1)
                await cmd_pub.publish("cmd.all", m.Command(command_id="c2", command="resume"))
                assert await wait_until(lambda: not lm.pulled, 5.0)
                clock.advance(1.0)
                await lm.tick()
                assert backend.range != (0, 0)
                closes = [a for a in lm.published_actions if a.action == "close"]
                assert closes and closes[-1].reason == "operator"
        finally:
            cmd_pub.close()

    run_async(main(), 60)


def test_sim_backend_rejects_a_second_open_collects_fees_owed_and_runs_each_op_once(tmp_path):
    clock = FakeClock()

    async def main():
        backend = _backend(tmp_path, clock)
        state = await backend.pool_state()
        lo = (state.tick // 60 - 5) * 60
        hi = lo + 600
        first = await backend.open(lo, hi, backend.idle0, backend.idle1, op_id="a:0")
        again = await backend.open(lo, hi, backend.idle0, backend.idle1, op_id="a:0")
        assert again == first
        with pytest.raises(BackendError):
            await backend.open(lo, hi, backend.idle0, backend.idle1, op_id="b:0")
        for _ in range(40):  # flow earns fees; collect pays exactly what position() said was owed
            clock.advance(0.25)
            backend.advance_market(clock(), 3000.0)
        owed = await backend.position()
        assert owed.fees0 + owed.fees1 > 0
        collected = await backend.collect(op_id="a:1")
        assert (collected.fees0, collected.fees1) == (owed.fees0, owed.fees1)
        assert (backend.idle0, backend.idle1) == (owed.idle0 + owed.fees0, owed.idle1 + owed.fees1)
        reloaded = SimPoolBackend(_settings(), state_path=backend.state_path, clock_ns=clock)
        assert await reloaded.op_result("a:0") == first
        assert reloaded.range == (lo, hi)
        a0, a1 = get_amounts_for_liquidity(reloaded.pool.sqrt_price_x96, get_sqrt_ratio_at_tick(lo),
                                           get_sqrt_ratio_at_tick(hi), first.liquidity)
        pos = await reloaded.position()
        assert abs(pos.amount0 - a0) <= 1 and abs(pos.amount1 - a1) <= 1

    run_async(main(), 30)


def test_action_interrupted_by_an_error_is_resumed_by_the_running_loop(tmp_path):
    clock, reference = FakeClock(), Reference(3000.0)

    async def main():
        backend = _CrashingBackend(_settings(), state_path=tmp_path / "simpool.pickle", clock_ns=clock)
        async with _Harness(tmp_path, clock, reference, backend=backend, run_loop=True) as h:
            lm = h.manager
            assert await wait_until(lambda: backend.range != (0, 0), 10.0)
            backend.crash_kind, backend.crash_after = "open", True  # the mint runs, then the step errors
            reference.price = 3000.0 * 1.05
            for _ in range(400):
                clock.advance(0.25)
                await asyncio.sleep(0.06)
                if backend.crash_kind == "" and lm.actions_done >= 2 and not lm._needs_recovery:
                    break
            assert backend.crash_kind == ""  # the error happened
            assert await wait_until(lambda: not lm._needs_recovery, 5.0)
        with Journal(tmp_path / "lp.sqlite") as journal:
            assert not rebuild_state(journal).lp_actions_in_progress
            ends = journal.read(LpActionEndRecord)
        assert [e.outcome for e in ends].count("completed") == len(ends)
        assert any(e.note == "resumed" for e in ends)
        opens = [k for k, op in backend.ops.items() if op.kind == "open"]
        assert len(opens) == len(set(opens)) and backend.range != (0, 0)

    run_async(main(), 60)


def test_flow_is_seeded_and_arbitrage_keeps_the_pool_within_the_fee_of_the_reference():
    def run(seed: int) -> tuple[list[int], SimPoolBackend]:
        settings = SimPoolSettings(pool_id="sim", initial_price=3000.0, seed=seed,
                                   flow=FlowSettings(noise_rate_per_s=8.0, noise_mean_value1=50_000.0))
        backend = SimPoolBackend(settings)
        prices, t = [], _T0
        ref = 3000.0
        for i in range(400):
            t += 250_000_000
            ref *= 1.0 + (0.002 if (i // 50) % 2 == 0 else -0.002)
            backend.advance_market(t, ref)
            prices.append(backend.pool.sqrt_price_x96)
            p = backend.price_now()
            assert ref * (1 - 0.003) * (1 - 1e-9) <= p <= ref * (1 + 0.003) * (1 + 1e-9)
        return prices, backend

    a, backend = run(5)
    b, _ = run(5)
    c, _ = run(6)
    assert a == b and a != c
    stats = backend.flow.stats
    assert stats.noise_swaps > 100 and stats.arb_swaps > 50 and stats.failed_swaps == 0


def test_backtester_replay_of_a_run_gives_the_runs_pnl_decomposition(tmp_path):
    """The manager journals the pool path it observed; the backtester's accounting on that path
    with the run's position changes gives the live report's parts (fees from the pool's fee growth
    through the backtester's fee model)."""
    import random

    from asymlp_runtime.journal import LpBarRecord
    from asymlp_runtime.lp.run_report import run_report

    clock, reference = FakeClock(), Reference(3000.0)
    rng = random.Random(5)

    async def main():
        async with _Harness(tmp_path, clock, reference) as h:
            lm = h.manager
            for _ in range(400):
                clock.advance(0.25)
                reference.price *= 1.0 + rng.gauss(0.0, 0.002)
                await lm.tick()
            return h.backend.price_now(), lm.actions_done, lm.metrics.render().decode(), h.backend.token0.symbol

    end_price, actions, metrics, symbol0 = run_async(main(), 90)
    assert actions >= 3
    with Journal(tmp_path / "lp.sqlite") as journal:
        bars = journal.read(LpBarRecord)
    assert len(bars) >= 200 and len({b.fee_growth0 for b in bars}) > 10  # unchanged ticks add no bar
    report = run_report(tmp_path / "lp.sqlite", end_price=end_price, pool="sim", fee=0.003)
    live, replay = report["decomposition"], report["backtest"]["decomposition"]
    assert report["rebalances"] >= 2
    assert live["fees"] > 0
    # fees: the backtester's model (volume x share x time in range) vs the exact fees collected/owed
    assert replay["fees"] == pytest.approx(live["fees"], rel=0.01)
    for part in ("hodl", "il", "swap_cost"):  # the same prices, positions and formulas
        assert replay[part] == pytest.approx(live[part], rel=1e-6, abs=1e-6), part
    assert replay["gas"] == live["gas"] == 0.0
    # the metrics count the same fees and actions as the journal
    from prometheus_client.parser import text_string_to_metric_families

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(metrics) for s in fam.samples}  # fmt: skip
    fees_metric = {dict(k)["token"]: v for (name, k), v in samples.items() if name == "asymlp_lp_fees_total"}
    collected0 = int(report["fees_raw"][0]) - bars[-1].owed0  # collected by close steps, owed excluded
    assert collected0 > 0 and fees_metric[symbol0] == pytest.approx(collected0 / 1e18, rel=1e-12)
    done = sum(v for (name, k), v in samples.items() if name == "asymlp_lp_actions_total"
               and dict(k)["outcome"] == "completed")  # fmt: skip
    assert done == actions


class _BlindBackend(SimPoolBackend):
    """A node that cannot serve reads at a given block (pruned, or behind a load balancer); with
    ``blind`` it cannot serve any pool read while an action's steps are recorded."""

    blind = False
    pinned_reads = 0

    async def pool_state(self, block=None):
        if block is not None:
            self.pinned_reads += 1
            raise ConnectionError("block not available")
        if self.blind:
            raise ConnectionError("node unreachable")
        return await SimPoolBackend.pool_state(self)


@pytest.mark.parametrize("blind", [False, True])
def test_a_failed_pool_observation_after_a_step_never_breaks_the_action(tmp_path, blind):
    from asymlp_runtime.journal import LpBarRecord

    clock, reference = FakeClock(), Reference(3000.0)
    backend = _BlindBackend(_settings(), state_path=tmp_path / "simpool.pickle", clock_ns=clock)

    async def main():
        async with _Harness(tmp_path, clock, reference, backend=backend) as h:
            lm = h.manager
            if blind:  # the observations after the steps fail; the decision's own reads work
                original = lm._observe_after_step

                async def observe(*a, **kw):
                    backend.blind = True
                    try:
                        await original(*a, **kw)
                    finally:
                        backend.blind = False

                lm._observe_after_step = observe
            await lm.tick()
            return lm.actions_done, lm.strategy_state.is_open

    done, is_open = run_async(main(), 60)
    assert done == 1 and is_open == 1
    with Journal(tmp_path / "lp.sqlite") as journal:
        ends = [e.outcome for e in journal.read(LpActionEndRecord)]
        steps = [s for s in journal.read(LpStepRecord) if s.status == "done"]
        bars = journal.read(LpBarRecord)
    assert ends == ["completed"] and [s.kind for s in steps] == ["swap", "open"]
    if blind:
        assert len(bars) == 1  # only the decision's own observation
    else:
        assert backend.pinned_reads == 2 and len(bars) == 3  # decision + one per step, read at the latest block


def test_observations_after_a_restart_with_a_clock_behind_the_journal_are_all_kept(tmp_path):
    from asymlp_runtime.journal import LpBarRecord

    clock, reference = FakeClock(), Reference(3000.0)

    async def run(n: int) -> None:
        async with _Harness(tmp_path, clock, reference) as h:
            for _ in range(n):
                clock.advance(0.25)
                await h.manager.tick()

    run_async(run(20), 60)
    with Journal(tmp_path / "lp.sqlite") as journal:
        first = journal.read(LpBarRecord)
    clock.now = _T0  # the restarted process's clock is behind what was journaled
    run_async(run(20), 60)
    with Journal(tmp_path / "lp.sqlite") as journal:
        both = journal.read(LpBarRecord)
    later = both[len(first):]
    assert len(later) >= 2
    assert min(b.ts_ns for b in later) > max(b.ts_ns for b in first)  # none older, none collided
