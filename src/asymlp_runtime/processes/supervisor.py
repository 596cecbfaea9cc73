"""``supervisor``: starts the stack's processes, watches them, restarts them, reports their health.

Children
--------
Every file of ``SUPERVISOR.processes`` (paths relative to the supervisor's config directory) is
one child, started as ``python -m asymlp_runtime.cli process <process_name> <config>`` with the
supervisor's environment, in a session of its own (a Ctrl-C in the terminal reaches the
supervisor, which stops the children in order). On Linux each child gets a parent-death signal
(``PR_SET_PDEATHSIG`` = SIGTERM), so the children stop even when the supervisor is killed with
``kill -9``. A child's
stdout/stderr go to ``<run_dir>/<name>.out`` (its JSON log is ``<log_dir>/<name>.log`` as usual).

Watching
--------
The supervisor subscribes to the ``control`` publisher of every child (``hb.`` and ``health.``
topics). A child is restarted when

- its process exits (any exit code) while the supervisor is not stopping, or
- it is *silent*: no heartbeat for ``SUPERVISOR.heartbeat_timeout_s`` once it has sent one, or
  none within ``startup_grace_s`` of its start; it is then killed (SIGKILL) first.

Restarts back off exponentially: the ``n``-th consecutive restart waits
``restart_backoff_s * 2**(n-1)`` seconds (at most :data:`MAX_BACKOFF_S`); the count resets once a
child has been heartbeating for :data:`STABLE_AFTER_S`. After ``max_restarts`` consecutive
restarts the child is given up (status ``down``).

Reporting
---------
Every second the supervisor publishes one :class:`~asymlp_runtime.messages.Health` per child on
``health.<child>`` (its ``control`` publisher) and writes ``<run_dir>/status.json`` atomically::

    {"supervisor": {"pid": ..., "updated_ns": ..., "started_ns": ..., "stopping": false},
     "processes": [{"name": "trader", "status": "ok", "detail": "", "pid": 1234,
                    "restarts": 0, "last_heartbeat_ns": ..., "started_ns": ...,
                    "last_exit_code": null, "config": "config/trader.toml"}, ...]}

which ``asymlp status`` reads. Commands received on the ``commands`` server (or published to it)
whose target is a child, or ``all``, are forwarded on ``cmd.<target>``; ``shutdown`` addressed to
the supervisor (or ``all``) stops the whole stack.

Stopping
--------
On SIGTERM/SIGINT (or a ``shutdown`` command) every child gets SIGTERM, then ``stop_grace_s`` to
exit, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from asymlp_runtime import messages as m
from asymlp_runtime.bus import Delivery, Subscriber
from asymlp_runtime.config import ProcessConfig, load_config
from asymlp_runtime.processes.base import ProcessBase
from asymlp_runtime.processes.topics import command_topic, health_topic

__all__ = [
    "MAX_BACKOFF_S",
    "PROCESS_CLASS",
    "STABLE_AFTER_S",
    "STATUS_FILE",
    "ChildState",
    "Supervisor",
    "child_command",
    "restart_delay",
    "set_parent_death_signal",
]

MAX_BACKOFF_S: Final[float] = 30.0
"""Longest wait before a restart."""
STABLE_AFTER_S: Final[float] = 30.0
"""A child heartbeating for this long has its consecutive-restart count reset."""
STATUS_FILE: Final[str] = "status.json"
"""Name of the status snapshot in the run directory."""

_PR_SET_PDEATHSIG: Final[int] = 1


def set_parent_death_signal(signum: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux; no-op elsewhere).

    Runs in the child between ``fork`` and ``exec`` (``preexec_fn``); the setting survives exec.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except OSError:
        pass


def restart_delay(consecutive: int, initial_s: float) -> float:
    """Wait before the ``consecutive``-th restart in a row (1-based): ``initial * 2**(n-1)``, capped."""
    return min(initial_s * (2.0 ** max(consecutive - 1, 0)), MAX_BACKOFF_S)


def child_command(process_name: str, config_path: str | os.PathLike[str]) -> list[str]:
    """argv that starts one child: ``python -m asymlp_runtime.cli process NAME CONFIG``."""
    return [sys.executable, "-m", "asymlp_runtime.cli", "process", process_name, os.fspath(config_path)]


@dataclass
class ChildState:
    """What the supervisor knows about one child."""

    name: str
    config_path: Path
    control_endpoint: str | None
    heartbeat_interval_s: float
    proc: asyncio.subprocess.Process | None = None
    pid: int = 0
    status: str = "stopped"
    detail: str = ""
    restarts: int = 0
    consecutive: int = 0
    started_ns: int = 0
    started_mono: float = 0.0
    last_heartbeat_ns: int = 0
    last_heartbeat_mono: float = 0.0
    first_heartbeat_mono: float = 0.0
    last_exit_code: int | None = None
    last_exit_ns: int = 0
    child_health: str = ""
    child_detail: str = ""
    restart_at: float | None = None
    reset_mono: float = 0.0
    gave_up: bool = False
    waiter: asyncio.Task[Any] | None = field(default=None, repr=False)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready view (status file)."""
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "pid": self.pid or None,
            "restarts": self.restarts,
            "last_heartbeat_ns": self.last_heartbeat_ns or None,
            "started_ns": self.started_ns or None,
            "last_exit_code": self.last_exit_code,
            "last_exit_ns": self.last_exit_ns or None,
            "config": str(self.config_path),
        }


class Supervisor(ProcessBase):
    """The supervisor process (see the module docstring).

    Parameters
    ----------
    config : ProcessConfig
        Needs ``[SUPERVISOR]``; a ``control`` publisher for Health and forwarded commands.
    config_dir : path or None
        Directory the ``SUPERVISOR.processes`` paths are relative to (default: the working
        directory, then ``config/``).
    run_dir : path
        Where ``status.json`` and the children's stdout/stderr go.
    startup_grace_s : float or None
        Time a new child has for its first heartbeat (default ``max(3 * heartbeat_timeout_s, 20)``).
    stop_grace_s : float
        Time children have to exit after SIGTERM before SIGKILL.
    duration_s : float or None
        Stop the stack after this many seconds (``asymlp run --duration``).
    child_argv : callable or None
        ``(process_name, config_path) -> argv`` (tests); :func:`child_command` by default.
    **kwargs
        Passed to :class:`ProcessBase`.
    """

    kind = "supervisor"

    def __init__(
        self,
        config: ProcessConfig,
        *,
        config_dir: str | os.PathLike[str] | None = None,
        run_dir: str | os.PathLike[str] = "run",
        startup_grace_s: float | None = None,
        stop_grace_s: float = 8.0,
        duration_s: float | None = None,
        child_argv: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("stop_timeout_s", stop_grace_s + 5.0)
        super().__init__(config, **kwargs)
        if config.supervisor is None:
            raise ValueError(f"{config.process_name}: the supervisor needs a [SUPERVISOR] section")
        self.settings = config.supervisor
        self.config_dir = Path(config_dir) if config_dir is not None else None
        self.run_dir = Path(run_dir)
        self.startup_grace_s = (
            startup_grace_s
            if startup_grace_s is not None
            else max(3.0 * self.settings.heartbeat_timeout_s, 20.0)
        )
        self.stop_grace_s = stop_grace_s
        self.duration_s = duration_s
        self._child_argv = child_argv or child_command
        self.children: dict[str, ChildState] = {}
        self.stopping = False
        self._started_ns = time.time_ns()
        self._watch_sub: Subscriber | None = None

    # ------------------------------------------------------------------ configuration
    def _resolve(self, entry: str) -> Path:
        path = Path(entry)
        if path.is_absolute():
            return path
        candidates = [self.config_dir / path] if self.config_dir is not None else []
        candidates += [Path.cwd() / path, Path("config") / path]
        for candidate in candidates:
            if candidate.exists():
                return candidate
        return candidates[0]

    def load_children(self) -> None:
        """Read every child config (errors name the file) and prepare its state."""
        for entry in self.settings.processes:
            path = self._resolve(entry)
            child_cfg = load_config(path)
            name = child_cfg.process_name
            if name in self.children:
                raise ValueError(f"process name {name!r} appears twice in SUPERVISOR.processes")
            self.children[name] = ChildState(
                name=name,
                config_path=path,
                control_endpoint=child_cfg.publishers.get("control"),
                heartbeat_interval_s=child_cfg.global_.heartbeat_interval_s,
            )

    # ------------------------------------------------------------------ lifecycle
    async def on_start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.load_children()
        covered = {sub.endpoint for sub in self.config.subscribers.values()}
        endpoints = sorted(
            {c.control_endpoint for c in self.children.values() if c.control_endpoint} - covered
        )
        if endpoints:
            self._watch_sub = Subscriber(endpoints, ("hb.", "health."), m.Control, ctx=self.ctx)
            self.spawn(self._watch_loop(self._watch_sub), "supervisor.watch")
        for child in self.children.values():
            await self._start_child(child)
        self.spawn(self._monitor_loop(), "supervisor.monitor")
        if self.duration_s is not None:
            self.spawn(self._stop_after(self.duration_s), "supervisor.duration")

    async def _stop_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.request_stop(f"duration {seconds:g} s elapsed")

    async def on_stop(self) -> None:
        self.stopping = True
        await self.stop_children()
        self._write_status()
        if self._watch_sub is not None:
            self._watch_sub.close()

    # ------------------------------------------------------------------ children
    def _forget_sequences(self, child: ChildState) -> None:
        """Reset the sequence checks of the streams carrying ``child``'s heartbeats.

        A restarted child numbers its messages from 1 again; a subscriber that misses its first
        heartbeat (the SUB socket reconnects after the new process binds) would otherwise take
        the next ones for out-of-order repeats of the old process's and drop them until their
        numbers pass the old ones.
        """
        if child.control_endpoint is None:
            return
        child.reset_mono = time.monotonic()
        subs = list(self.subscribers.values())
        if self._watch_sub is not None:
            subs.append(self._watch_sub)
        for sub in subs:
            if child.control_endpoint in sub.endpoints:
                sub.checker.reset()

    async def _start_child(self, child: ChildState) -> None:
        self._forget_sequences(child)
        argv = self._child_argv(child.name, child.config_path)
        out_path = self.run_dir / f"{child.name}.out"
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        with out_path.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                preexec_fn=set_parent_death_signal,
                start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops the children
            )
        child.proc = proc
        child.pid = proc.pid
        child.status = "starting"
        child.detail = ""
        child.started_ns = time.time_ns()
        child.started_mono = time.monotonic()
        child.first_heartbeat_mono = 0.0
        child.child_health = ""
        child.restart_at = None
        child.waiter = self.spawn(self._wait_child(child, proc), f"wait.{child.name}")
        self.log.info("started %s", child.name, extra={"pid": proc.pid, "config": str(child.config_path)})

    async def _wait_child(self, child: ChildState, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if child.proc is not proc:
            return
        child.proc = None
        child.last_exit_code = code
        child.last_exit_ns = time.time_ns()
        if self.stopping:
            child.status = "stopped"
            return
        self.log.warning("%s exited", child.name, extra={"pid": proc.pid, "exit_code": code})
        self._schedule_restart(child, f"exited with code {code}")

    def _schedule_restart(self, child: ChildState, why: str) -> None:
        if self.stopping:
            return
        child.consecutive += 1
        if child.consecutive > self.settings.max_restarts:
            child.gave_up = True
            child.status = "down"
            child.detail = f"gave up after {self.settings.max_restarts} restarts ({why})"
            child.restart_at = None
            self.log.error("giving up on %s: %s", child.name, why)
            return
        delay = restart_delay(child.consecutive, self.settings.restart_backoff_s)
        child.status = "down"
        child.detail = f"{why}; restart in {delay:.2f} s"
        child.restart_at = time.monotonic() + delay

    async def _kill(self, child: ChildState, sig: int) -> None:
        proc = child.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    async def stop_children(self) -> None:
        """SIGTERM every child, wait ``stop_grace_s``, SIGKILL what is left."""
        running = [c for c in self.children.values() if c.proc is not None and c.proc.returncode is None]
        for child in running:
            await self._kill(child, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace_s
        for child in running:
            proc = child.proc
            if proc is None:
                continue
            remaining = max(0.0, deadline - time.monotonic())
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), remaining)
            except TimeoutError:
                self.log.warning("%s did not stop in time: SIGKILL", child.name)
                await self._kill(child, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(proc.wait(), 5.0)
        for child in self.children.values():
            child.status = "stopped"
            child.restart_at = None
            if child.waiter is not None and not child.waiter.done():
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(child.waiter), 1.0)

    # ------------------------------------------------------------------ watching
    async def _watch_loop(self, sub: Subscriber) -> None:
        while True:
            delivery = await sub.recv()
            if delivery is not None:
                self._observe(delivery.message)

    async def on_message(self, stream: str, delivery: Delivery) -> None:
        self._observe(delivery.message)

    def _observe(self, msg: Any) -> None:
        if isinstance(msg, m.Heartbeat):
            child = self.children.get(msg.process)
            if child is None or child.proc is None or (msg.pid and msg.pid != child.pid):
                return
            now = time.monotonic()
            child.last_heartbeat_ns = time.time_ns()
            child.last_heartbeat_mono = now
            if not child.first_heartbeat_mono:
                child.first_heartbeat_mono = now
        elif isinstance(msg, m.Health):
            child = self.children.get(msg.process)
            if child is None or child.proc is None or msg.sender != child.name:
                return
            child.child_health = msg.status
            child.child_detail = msg.detail

    def _evaluate(self, child: ChildState, now: float) -> None:
        """Update a running child's status; kill it when silent."""
        if child.proc is None or child.proc.returncode is not None:
            return
        timeout = self.settings.heartbeat_timeout_s
        if child.first_heartbeat_mono:
            silent = now - child.last_heartbeat_mono
            if silent > timeout:
                child.status = "down"
                child.detail = f"silent for {silent:.1f} s"
                self.log.warning("%s is silent: killing it", child.name, extra={"pid": child.pid})
                proc = child.proc
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                return
            status = child.child_health or "ok"
            if status == "stopped":
                status = "down"
            child.status = status if status in ("ok", "degraded", "down", "starting") else "degraded"
            child.detail = child.child_detail if status != "ok" else ""
            if child.consecutive and now - child.first_heartbeat_mono > STABLE_AFTER_S:
                child.consecutive = 0
        elif now - child.started_mono > self.startup_grace_s:
            child.status = "down"
            child.detail = f"no heartbeat {self.startup_grace_s:.0f} s after start"
            self.log.warning("%s never sent a heartbeat: killing it", child.name, extra={"pid": child.pid})
            with contextlib.suppress(ProcessLookupError):
                child.proc.kill()
        else:
            child.status = "starting"
            if now - child.reset_mono > 2.0 * child.heartbeat_interval_s:
                child.reset_mono = now  # still nothing: maybe a heartbeat was taken for a stale repeat
                self._forget_sequences(child)

    async def _monitor_loop(self) -> None:
        tick = 0.05
        last_report = 0.0
        while not self.stopping:
            now = time.monotonic()
            for child in self.children.values():
                if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                    child.restarts += 1
                    try:
                        await self._start_child(child)
                    except Exception as exc:
                        self.log.error("cannot start %s: %s", child.name, type(exc).__name__)
                        self._schedule_restart(child, f"start failed: {type(exc).__name__}")
                else:
                    self._evaluate(child, now)
            if now - last_report >= 1.0:
                last_report = now
                await self._report()
            await asyncio.sleep(tick)

    async def _report(self) -> None:
        for child in self.children.values():
            status: Any = (
                child.status if child.status in ("starting", "ok", "degraded", "down", "stopped") else "down"
            )
            await self.publish(
                "control",
                health_topic(child.name),
                m.Health(
                    process=child.name,
                    status=status,
                    detail=child.detail[:500],
                    last_heartbeat_ns=child.last_heartbeat_ns,
                ),
            )
        self._write_status()

    def status_snapshot(self) -> dict[str, Any]:
        """The status file's content."""
        return {
            "supervisor": {
                "name": self.process_name,
                "pid": os.getpid(),
                "started_ns": self._started_ns,
                "updated_ns": time.time_ns(),
                "stopping": self.stopping,
            },
            "processes": [c.snapshot() for c in self.children.values()],
        }

    def _write_status(self) -> None:
        path = self.run_dir / STATUS_FILE
        tmp = path.with_name(path.name + ".tmp")
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.status_snapshot(), indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            self.metrics.error("status_file", type(exc).__name__)

    # ------------------------------------------------------------------ commands
    async def on_command(self, command: m.Command) -> str:
        target = command.target
        if target in (self.process_name, "supervisor"):
            return await super().on_command(command)
        if target != "all" and target not in self.children:
            return f"unknown target {target!r}"
        await self.publish("control", command_topic(target), command)
        if target == "all" and command.command == "shutdown":
            self.request_stop(f"command {command.command_id}")
            return "stopping the stack"
        return f"forwarded to {target}"


PROCESS_CLASS = Supervisor
