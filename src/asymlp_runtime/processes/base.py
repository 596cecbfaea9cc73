"""The skeleton every runtime process shares: sockets, logs, metrics, heartbeats, health, commands, stop.

Contract
--------
A process is a subclass of :class:`ProcessBase` built from one loaded
:class:`~asymlp_runtime.config.ProcessConfig`. ``await process.run()`` does, in order:

1. **setup** -- JSON logs to ``<GLOBAL.log_dir>/<process_name>.log`` (level from the config, every
   :class:`~asymlp_runtime.config.Secret` registered for redaction), :class:`ProcessMetrics` served
   on ``127.0.0.1:<GLOBAL.metrics_port>`` (0 = off), the journal (:class:`AsyncJournal`) when
   ``GLOBAL.journal_path`` is set, then the sockets of the config:

   - ``[PUBLISHERS]`` name -> :class:`~asymlp_runtime.bus.Publisher` in :attr:`publishers`;
   - ``[SUBSCRIBERS.<name>]`` -> :class:`~asymlp_runtime.bus.Subscriber` in :attr:`subscribers`,
     decoding the union :func:`stream_type` gives for the name (``market_data`` -> MarketData,
     ``reports`` -> Reports, ``account`` -> Account, ``lp`` -> LpStream, ``risk`` -> RiskStream,
     ``supervisor``/``control*``/``*commands`` -> Control; anything else -> every message type);
   - ``[SERVERS]`` name -> :class:`~asymlp_runtime.bus.RequestServer` (``orders`` takes
     OrderChannel, ``commands`` takes Command) whose handler is :meth:`handle_request`;
   - ``[CLIENTS.<name>]`` -> :class:`~asymlp_runtime.bus.RequestClient` (``orders*`` expects
     Reports, ``commands*`` CommandAck).

   The process then waits ``publish_grace_s`` (0.5 s) before anything is published: a restarted
   publisher whose first messages a reconnecting subscriber misses would restart its sequence
   numbers below the subscriber's last one, and the bus drops such messages as out of order
   until the numbers catch up (ZMQ subscribers reconnect every 100 ms).

2. :meth:`on_start` -- the subclass opens its venue, rebuilds its state from the journal and
   reconciles. It may call :meth:`spawn` for background tasks. An exception here ends the run
   with exit code 1 (after the stop sequence).
3. **running** -- request servers serve, one task per subscriber hands every accepted message to
   :meth:`on_message` (``Command`` messages addressed to ``"all"`` or to this process go to
   :meth:`on_command` instead), and the heartbeat task publishes every
   ``GLOBAL.heartbeat_interval_s`` a :class:`~asymlp_runtime.messages.Heartbeat` on
   ``hb.<process_name>`` and a :class:`~asymlp_runtime.messages.Health` on
   ``health.<process_name>`` through the publisher named ``control`` (no ``control`` publisher:
   no heartbeat). An exception in a handler is logged and counted
   (``asymlp_errors_total{component="handler"}``); it never stops the process. Malformed,
   out-of-order and unknown-version frames are counted by the bus and mirrored into
   ``asymlp_bus_events_total`` at each heartbeat. :attr:`started` is set.
4. **stop** -- on :meth:`request_stop` (a ``shutdown`` command, SIGTERM/SIGINT when
   ``install_signals``, or the subclass): :meth:`on_stop` (cancel open orders, final snapshot;
   bounded by ``stop_timeout_s``), a last ``Health(status="stopped")``, then background tasks are
   cancelled, servers/clients/subscribers/publishers closed (linger 0), the journal flushed and
   closed, the metrics endpoint and the log handlers closed. A second SIGTERM/SIGINT exits at once
   (``os._exit(130)``).

Health
------
Conditions are named flags set by the subclass with :meth:`set_condition` (``"feed"``,
``"breaker"``, ``"stale_quotes"``...) each with a status and a detail. :meth:`health` returns the
worst of them (``ok`` < ``degraded`` < ``down``; ``down`` means failed) plus ``starting`` before
the process runs and ``stopped`` after. :meth:`check_health` is called before each heartbeat so a
subclass can refresh time-based conditions (stale data).

Commands
--------
``shutdown`` stops the process; ``pause``/``resume`` set :attr:`paused`; ``flatten`` and
``pull_liquidity`` are for the subclass (:meth:`on_command`). Commands sent over a ``commands``
request server are answered with a :class:`~asymlp_runtime.messages.CommandAck`.

Registry
--------
:data:`PROCESS_MODULES` maps the process kinds (``quote_server``, ``trading_engine``,
``position_server``, ``trader``, ``lp_manager``, ``supervisor``) to modules
``asymlp_runtime.processes.<kind>``, imported on demand; each module names its class in
``PROCESS_CLASS``. Any class with ``__init__(config)`` and ``async run() -> int`` qualifies.
:func:`run_process` loads a config and runs one process until it stops
(``asymlp process NAME CONFIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, ClassVar, Final, Union

import zmq.asyncio

from asymlp_runtime import messages as m
from asymlp_runtime.bus import Delivery, Publisher, RequestClient, RequestServer, Subscriber
from asymlp_runtime.config import ProcessConfig, load_config
from asymlp_runtime.journal import AsyncJournal
from asymlp_runtime.ops.metrics import ProcessMetrics
from asymlp_runtime.processes.topics import health_topic, heartbeat_topic

__all__ = [
    "PROCESS_KINDS",
    "PROCESS_MODULES",
    "ANY_MESSAGE",
    "HEALTH_RANK",
    "ProcessBase",
    "client_reply_type",
    "process_class",
    "process_kind",
    "run_process",
    "server_request_type",
    "stream_type",
]

_log = logging.getLogger("asymlp.process")

PROCESS_KINDS: Final[tuple[str, ...]] = (
    "quote_server",
    "trading_engine",
    "position_server",
    "trader",
    "lp_manager",
    "supervisor",
)
PROCESS_MODULES: Final[dict[str, str]] = {k: f"asymlp_runtime.processes.{k}" for k in PROCESS_KINDS}
"""Process kind -> module defining ``PROCESS_CLASS`` (imported lazily)."""

ANY_MESSAGE: Final = Union[m.ALL_MESSAGE_TYPES]  # noqa: UP007 - a runtime union of the tuple
"""Union of every message type (fallback decoder of a stream with an unknown name)."""

HEALTH_RANK: Final[dict[str, int]] = {"ok": 0, "starting": 1, "degraded": 2, "down": 3, "stopped": 4}
"""Severity order of :data:`~asymlp_runtime.messages.HealthStatus` (higher is worse)."""

_STREAM_TYPES: Final[dict[str, Any]] = {
    "market_data": m.MarketData,
    "reports": m.Reports,
    "account": m.Account,
    "lp": m.LpStream,
    "risk": m.RiskStream,
    "supervisor": m.Control,
}


def stream_type(name: str) -> Any:
    """The message union a subscriber or publisher called ``name`` carries (see the module docstring)."""
    if name in _STREAM_TYPES:
        return _STREAM_TYPES[name]
    if name.startswith("control") or name.endswith("commands") or name.startswith("supervisor"):
        return m.Control
    for prefix, union in _STREAM_TYPES.items():
        if name.startswith(prefix + "_"):
            return union
    return ANY_MESSAGE


def server_request_type(name: str) -> Any:
    """Request union of a ``[SERVERS]`` entry: ``orders*`` -> OrderChannel, else Command."""
    return m.OrderChannel if name.startswith("orders") else m.ControlRequests


def client_reply_type(name: str) -> Any:
    """Reply union of a ``[CLIENTS]`` entry: ``orders*`` -> Reports, else CommandAck."""
    return m.Reports if name.startswith("orders") else m.ControlReplies


class ProcessBase:
    """Base of every runtime process (see the module docstring for the contract).

    Parameters
    ----------
    config : ProcessConfig
        The loaded config.
    ctx : zmq.asyncio.Context or None
        ZMQ context (the process-wide instance by default).
    configure_logging : bool
        Install the JSON log handlers (tests running several processes in one interpreter may
        turn it off).
    install_signals : bool
        Install SIGTERM/SIGINT handlers in :meth:`run` (only in the main thread of a real process).
    stop_timeout_s : float
        Bound on :meth:`on_stop`.
    publish_grace_s : float
        Wait after binding the publishers before :meth:`on_start` (slow-joiner grace, see the
        module docstring).
    """

    #: process kind (registry key), set by subclasses
    kind: ClassVar[str] = ""

    def __init__(
        self,
        config: ProcessConfig,
        *,
        ctx: zmq.asyncio.Context | None = None,
        configure_logging: bool = True,
        install_signals: bool = False,
        stop_timeout_s: float = 10.0,
        publish_grace_s: float = 0.5,
    ) -> None:
        self.config = config
        self.process_name = config.global_.process_name
        self.log = logging.getLogger(f"asymlp.{self.process_name}")
        self.metrics = ProcessMetrics(self.process_name)
        self.ctx = ctx
        self.publishers: dict[str, Publisher] = {}
        self.subscribers: dict[str, Subscriber] = {}
        self.servers: dict[str, RequestServer] = {}
        self.clients: dict[str, RequestClient] = {}
        self.journal: AsyncJournal | None = None
        self.paused = False
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.stop_reason = ""
        self.exit_code = 0
        self._configure_logging = configure_logging
        self._install_signals = install_signals
        self._stop_timeout_s = stop_timeout_s
        self.publish_grace_s = publish_grace_s
        self._stop_event = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._conditions: dict[str, tuple[str, str]] = {}
        self._state = "starting"
        self._t0 = time.monotonic()
        self._log_handle: Any = None
        self._signals_seen = 0
        self.metrics_port = 0

    # ------------------------------------------------------------------ hooks (override)
    async def on_start(self) -> None:
        """Open venues, rebuild state, reconcile; may :meth:`spawn` tasks."""

    async def on_stop(self) -> None:
        """Cancel open orders, write a final snapshot (sockets and journal are still open)."""

    async def on_message(self, stream: str, delivery: Delivery) -> None:
        """One accepted message from subscriber ``stream``."""

    async def on_command(self, command: m.Command) -> str:
        """Act on a command addressed to this process; returns a short detail for the ack.

        The base handles ``shutdown``, ``pause`` and ``resume``; subclasses call ``super()`` for
        those and handle ``flatten`` / ``pull_liquidity`` themselves.
        """
        if command.command == "shutdown":
            self.request_stop(f"command {command.command_id}")
            return "stopping"
        if command.command == "pause":
            self.paused = True
            return "paused"
        if command.command == "resume":
            self.paused = False
            return "resumed"
        return f"{command.command} ignored by {self.kind or self.process_name}"

    async def handle_request(self, server: str, request: Any) -> Any:
        """Reply to a request on server ``server`` (the base answers Commands)."""
        if isinstance(request, m.Command):
            detail = await self.on_command(request)
            return m.CommandAck(request_id=request.command_id, accepted=True, detail=detail)
        return m.reject_for(request, f"no handler for {type(request).__name__}")

    def check_health(self) -> None:
        """Refresh time-based conditions (called before every heartbeat)."""

    # ------------------------------------------------------------------ health
    def set_condition(self, name: str, status: str, detail: str = "") -> None:
        """Set (or with ``status="ok"`` clear) a named health condition."""
        if status == "ok":
            self._conditions.pop(name, None)
        else:
            if status not in HEALTH_RANK:
                raise ValueError(f"unknown health status {status!r}")
            self._conditions[name] = (status, detail)

    def clear_condition(self, name: str) -> None:
        """Remove a condition."""
        self._conditions.pop(name, None)

    def health(self) -> dict[str, Any]:
        """``{"status": ..., "detail": ..., "conditions": {name: (status, detail)}}``."""
        if self._state in ("starting", "stopped"):
            status, detail = self._state, ""
        else:
            status, detail = "ok", ""
            for name, (st, det) in sorted(self._conditions.items()):
                if HEALTH_RANK[st] > HEALTH_RANK[status]:
                    status = st
                detail = f"{detail}; {name}: {det}" if detail else f"{name}: {det}"
        return {"status": status, "detail": detail, "conditions": dict(self._conditions)}

    # ------------------------------------------------------------------ helpers
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run ``coro`` as a background task, cancelled at stop; an exception is logged, counted."""
        task = asyncio.get_running_loop().create_task(coro, name=name or None)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.metrics.error("task", type(exc).__name__)
            self.log.error("background task %s failed: %s", task.get_name(), type(exc).__name__, exc_info=exc)

    async def publish(self, publisher: str, topic: str, message: m.Message) -> m.Message | None:
        """Publish on a named publisher; returns ``None`` (and counts) when it is missing or fails."""
        pub = self.publishers.get(publisher)
        if pub is None:
            return None
        try:
            sent = await pub.publish(topic, message)
        except Exception as exc:  # a bad message must not stop the process
            self.metrics.error(f"publish.{publisher}", type(exc).__name__)
            self.log.warning("publish on %s failed: %s", topic, type(exc).__name__)
            return None
        self.metrics.message_sent(publisher, type(message).__name__)
        return sent

    def request_stop(self, reason: str = "") -> None:
        """Ask the process to stop (idempotent)."""
        if not self._stop_event.is_set():
            self.stop_reason = reason
            self.log.info("stop requested: %s", reason)
            self._stop_event.set()

    @property
    def uptime_s(self) -> float:
        """Seconds since construction."""
        return time.monotonic() - self._t0

    # ------------------------------------------------------------------ run
    def _open_sockets(self) -> None:
        cfg, name, ctx = self.config, self.process_name, self.ctx
        for key, endpoint in cfg.publishers.items():
            self.publishers[key] = Publisher(endpoint, sender=name, ctx=ctx)
        for key, endpoint in cfg.servers.items():
            self.servers[key] = RequestServer(
                endpoint,
                server_request_type(key),
                lambda request, _key=key: self.handle_request(_key, request),
                sender=name,
                ctx=ctx,
            )
        for key, client in cfg.clients.items():
            self.clients[key] = RequestClient.from_config(
                client, client_reply_type(key), sender=name, ctx=ctx
            )
        for key, sub in cfg.subscribers.items():
            self.subscribers[key] = Subscriber.from_config(sub, stream_type(key), ctx=ctx)

    async def _subscriber_loop(self, name: str, sub: Subscriber) -> None:
        metrics = self.metrics
        while True:
            delivery = await sub.recv()
            if delivery is None:
                continue
            msg = delivery.message
            metrics.message_received(name, type(msg).__name__, msg.ts_sent_ns)
            try:
                if isinstance(msg, m.Command):
                    if msg.target in ("all", self.process_name, self.kind):
                        await self.on_command(msg)
                    continue
                await self.on_message(name, delivery)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                metrics.error("handler", type(exc).__name__)
                self.log.error("handler for %s failed: %s", name, type(exc).__name__, exc_info=exc)

    def _health_message(self) -> m.Health:
        h = self.health()
        return m.Health(process=self.process_name, status=h["status"], detail=h["detail"][:500])

    async def _heartbeat_loop(self) -> None:
        interval = self.config.global_.heartbeat_interval_s
        while True:
            await self.beat()
            await asyncio.sleep(interval)

    async def beat(self) -> None:
        """Publish one heartbeat and one health message now; sync bus counters into metrics."""
        try:
            self.check_health()
        except Exception as exc:
            self.metrics.error("health", type(exc).__name__)
        for key, sub in self.subscribers.items():
            self.metrics.sync_bus_counters(key, sub.counters)
        for key, srv in self.servers.items():
            self.metrics.sync_bus_counters(f"server.{key}", srv.counters)
        for key, cli in self.clients.items():
            self.metrics.sync_bus_counters(f"client.{key}", cli.counters)
        await self.publish(
            "control",
            heartbeat_topic(self.process_name),
            m.Heartbeat(process=self.process_name, pid=os.getpid(), uptime_s=self.uptime_s),
        )
        self.metrics.heartbeat()
        await self.publish("control", health_topic(self.process_name), self._health_message())

    def _on_signal(self, signum: int) -> None:
        self._signals_seen += 1
        if self._signals_seen > 1:
            os._exit(130)
        self.request_stop(f"signal {signal.Signals(signum).name}")

    async def run(self) -> int:
        """Run until stopped; returns the exit code (0 after a clean stop, 1 when start failed)."""
        g = self.config.global_
        if self._configure_logging:
            from asymlp_runtime.ops.logging import configure_logging_from_config

            self._log_handle = configure_logging_from_config(self.config)
        loop = asyncio.get_running_loop()
        if self._install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            self.metrics_port = self.metrics.serve(g.metrics_port)
            if g.journal_path:
                self.journal = AsyncJournal.open(g.journal_path)
            self._open_sockets()
            if self.publishers and self.publish_grace_s > 0:
                await asyncio.sleep(self.publish_grace_s)  # let subscribers (re)connect first
            await self.on_start()
            for srv in self.servers.values():
                srv.start()
            for key, sub in self.subscribers.items():
                self.spawn(self._subscriber_loop(key, sub), f"sub.{key}")
            self._state = "running"
            if "control" in self.publishers:
                self.spawn(self._heartbeat_loop(), "heartbeat")
            self.log.info("started", extra={"kind": self.kind, "metrics_port": self.metrics_port})
            self.started.set()
            await self._stop_event.wait()
        except Exception as exc:
            self.exit_code = 1
            self.metrics.error("start", type(exc).__name__)
            self.log.error("process failed: %s", type(exc).__name__, exc_info=exc)
        await self._shutdown()
        if self._install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return self.exit_code

    async def _shutdown(self) -> None:
        try:
            await asyncio.wait_for(self.on_stop(), self._stop_timeout_s)
        except Exception as exc:
            self.metrics.error("stop", type(exc).__name__)
            self.log.error("on_stop failed: %s", type(exc).__name__, exc_info=exc)
        self._state = "stopped"
        with contextlib.suppress(Exception):
            await self.publish("control", health_topic(self.process_name), self._health_message())
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for srv in self.servers.values():
            await srv.close()
        for cli in self.clients.values():
            await cli.close()
        for sub in self.subscribers.values():
            sub.close()
        for pub in self.publishers.values():
            pub.close()
        if self.journal is not None:
            with contextlib.suppress(Exception):
                await self.journal.close()
        self.metrics.close()
        self.log.info("stopped", extra={"reason": self.stop_reason})
        if self._log_handle is not None:
            self._log_handle.close()
        self.stopped.set()


# ---------------------------------------------------------------------- registry and entry point
def process_class(kind: str) -> type:
    """The class of a process kind, importing ``asymlp_runtime.processes.<kind>`` on demand.

    Raises
    ------
    KeyError
        Unknown kind (the message lists the known ones).
    """
    if kind not in PROCESS_MODULES:
        raise KeyError(f"unknown process kind {kind!r}; known: {', '.join(PROCESS_KINDS)}")
    module = importlib.import_module(PROCESS_MODULES[kind])
    cls = getattr(module, "PROCESS_CLASS", None)
    if cls is None:
        raise KeyError(f"{PROCESS_MODULES[kind]} defines no PROCESS_CLASS")
    return cls


def process_kind(process_name: str) -> str:
    """The kind of a process name: the longest kind that equals it or prefixes it with ``_``
    (``trading_engine_binance`` -> ``trading_engine``)."""
    for kind in sorted(PROCESS_KINDS, key=len, reverse=True):
        if process_name == kind or process_name.startswith(kind + "_"):
            return kind
    raise KeyError(f"cannot tell the kind of process {process_name!r}; known: {', '.join(PROCESS_KINDS)}")


def run_process(name: str | None, config_path: str | os.PathLike[str], **kwargs: Any) -> int:
    """Load ``config_path`` and run one process in a fresh event loop until it stops.

    Parameters
    ----------
    name : str or None
        Process kind (``quote_server``) or full process name (``quote_server_binance``);
        ``None`` takes it from ``GLOBAL.process_name``.
    config_path : path-like
        The process's TOML config.
    **kwargs
        Passed to the class (``install_signals`` defaults to True here).

    Returns
    -------
    int
        Exit code of the process.
    """
    config = load_config(Path(config_path))
    kind = process_kind(name or config.process_name)
    cls = process_class(kind)
    if isinstance(cls, type) and issubclass(cls, ProcessBase):
        kwargs.setdefault("install_signals", True)

    async def main() -> int:
        return await cls(config, **kwargs).run()

    return asyncio.run(main())
