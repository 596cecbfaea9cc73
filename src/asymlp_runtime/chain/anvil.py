"""An anvil node as a child process: loopback only, reproducible, and never left behind.

- Bound to ``127.0.0.1`` on a port chosen by the kernel (``--port 0``; the real port is read
  from anvil's ``Listening on`` line), so parallel runs never collide.
- Fixed mnemonic, chain id and genesis timestamp; block timestamps then advance by exactly one
  second per block (``anvil_setBlockTimestampInterval``), so two runs of the same operations
  produce the same chain.
- Stopped by :meth:`AnvilNode.close` (also the context manager's exit and an ``atexit`` hook),
  and by the kernel when the parent dies, even by ``kill -9``: the child sets
  ``PR_SET_PDEATHSIG`` before ``exec``. Caveat of that mechanism: the signal fires when the
  *thread* that started the node exits, so start nodes from a long-lived thread (the main one).
- anvil's output goes to a log file, never to the terminal.

Persistent state (``AnvilConfig.state_path``)
--------------------------------------------
With a ``state_path`` the node runs with ``--state PATH --state-interval N``: it loads the file
when it exists and writes the whole chain back to it every ``state_interval_s`` seconds and on
exit. What anvil 1.7.1 does, checked by experiment on this machine:

- SIGTERM (what :meth:`AnvilNode.close` sends, and what ``PR_SET_PDEATHSIG`` delivers when the
  parent is killed, even by ``kill -9``) writes a complete dump before exiting: 65 ms for the
  project's devnet after 1,500 swaps (1,650 blocks, a 21 MB file; about 13 kB per swap block,
  traces included). SIGKILL of anvil itself writes nothing: the file is then the last periodic
  dump, at most ``state_interval_s`` seconds old. Periodic dumps run on a fixed timer from the
  start (the first one after one interval) whether or not blocks were mined; each rewrites the
  whole file (about 4 % of a core at one dump per second of that 21 MB chain), hence the
  default of 5 s: the parent's death, the usual case, is covered by the exit dump anyway.
- A reloaded node keeps the block number, every block and its timestamp, transactions and
  receipts (``eth_getTransactionReceipt`` of an old hash works), contract code and storage,
  balances and nonces (the dev accounts are *not* reset to ``--balance``). It does not keep the
  state at blocks before the reloaded head: ``eth_call`` at an older block number fails with
  ``BlockOutOfRangeError`` (``--preserve-historical-states`` would keep them at about 3.5 times
  the file size, so it is not used: the only read at a past block, the LP manager's observation
  of the pool at the block of a step it just made, is skipped for steps recovered after a
  restart and falls back to the latest block when it fails).
- Time is *not* restored: the next block is stamped from ``--timestamp`` again (time goes
  backwards) or, without it, from the wall clock. The node therefore calls ``anvil_setTime``
  with the loaded head's timestamp before ``anvil_setBlockTimestampInterval``, so the next block
  is exactly one interval after the head, as if the node had never stopped.
- The file is rewritten in place (same inode, not a temporary file and a rename), so a SIGKILL
  of anvil in the middle of a dump can leave it truncated; anvil then refuses to start
  (``failed to parse json file``), and this module raises :class:`AnvilStateError` naming it.
- ``--transaction-block-keeper N`` (``AnvilConfig.transaction_block_keeper``) keeps the
  transactions and receipts of the last ``N`` blocks only: the file then grows by about 1.7 kB
  per swap block instead of 13 kB (3.5 MB after 1,225 swap blocks with ``N = 100``), and a
  receipt older than ``N`` blocks reads as ``null``.
- Two nodes on one file would overwrite each other, and a node restarted while its predecessor
  is still writing its exit dump could read half a file. The node holds an exclusive
  ``flock`` on ``<state_path>.lock`` that the anvil child inherits: a new node waits (up to
  ``state_lock_timeout_s``) until the previous anvil has finished its dump and exited.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .artifacts import anvil_binary, find_node_modules
from .endpoint import RpcEndpoint
from .rpc import RpcError

# The well-known development mnemonic (anvil's and hardhat's default): account 0 is
# 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266.
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_GENESIS_TIMESTAMP = 1_700_000_000  # 2023-11-14T22:13:20Z
DEFAULT_CHAIN_ID = 31337
LOOPBACK_HOST = "127.0.0.1"

_PR_SET_PDEATHSIG = 1
_LISTENING = re.compile(rb"Listening on ([0-9.]+):(\d+)")


@dataclass(frozen=True, kw_only=True)
class AnvilConfig:
    """How to start the node. Defaults give a reproducible chain."""

    mnemonic: str = DEFAULT_MNEMONIC
    genesis_timestamp: int = DEFAULT_GENESIS_TIMESTAMP
    block_timestamp_interval: int = 1
    chain_id: int = DEFAULT_CHAIN_ID
    accounts: int = 10
    balance_ether: int = 10_000
    startup_timeout_s: float = 20.0
    log_path: Path | None = None  # default: a fresh file in the temp directory
    #: Persistent chain (see the module docstring): loaded at start when the file exists,
    #: written every ``state_interval_s`` seconds (whole seconds: anvil takes an integer) and on
    #: exit. ``None``: the chain lives in memory only.
    state_path: Path | None = None
    state_interval_s: int = 5
    #: How long a new node waits for the previous owner of ``state_path`` to exit.
    state_lock_timeout_s: float = 60.0
    #: Keep the transactions of only this many recent blocks (``--transaction-block-keeper``);
    #: ``None`` keeps all.
    transaction_block_keeper: int | None = None
    #: How long :meth:`AnvilNode.close` waits after SIGTERM before SIGKILL (with a state file,
    #: the exit dump happens in that time).
    stop_timeout_s: float = 30.0


class AnvilStateError(RuntimeError):
    """The state file cannot be used (corrupt, locked by another node); the message names it."""


class StateLock:
    """An exclusive ``flock`` on ``<state_path>.lock``; :class:`AnvilNode` passes the descriptor
    to anvil, so the lock is held until the anvil process exits, whoever started it.

    Use :meth:`acquire`; hand the lock to :class:`AnvilNode` (``state_lock=``) to inspect files
    beside the state before the node starts, under the same lock.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd: int | None = fd

    @classmethod
    def acquire(cls, state_path: Path, timeout_s: float) -> StateLock:
        """Wait up to ``timeout_s`` for the previous holder (a node writing its exit dump)."""
        state_path = Path(state_path)
        state_path.parent.mkdir(parents=True, exist_ok=True)
        path = state_path.with_name(state_path.name + ".lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return cls(path, fd)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
                    os.close(fd)
                    raise AnvilStateError(
                        f"{state_path}: still in use by another anvil node (pid {holder or '?'}, "
                        f"lock {path}) after {timeout_s:.0f}s"
                    ) from None
                time.sleep(0.02)

    def record_holder(self, pid: int) -> None:
        """Write the holder's pid into the lock file (for the error message of a waiter)."""
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{pid}\n".encode(), 0)

    def release(self) -> None:
        """Close this process's descriptor (idempotent); a child holding a copy keeps the lock."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _parent_death_preexec(parent_pid: int) -> None:
    """Runs in the child between fork and exec: ask for SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class AnvilNode:
    """A running anvil process. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        config: AnvilConfig | None = None,
        *,
        node_modules: Path | None = None,
        state_lock: StateLock | None = None,
    ) -> None:
        self.config = config or AnvilConfig()
        self.node_modules = node_modules or find_node_modules()
        self.binary = anvil_binary(self.node_modules)
        if self.config.log_path is None:
            fd, name = tempfile.mkstemp(prefix="asymlp-anvil-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        else:
            self.log_path = Path(self.config.log_path)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.host = LOOPBACK_HOST
        self.port: int = 0
        self.rpc_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0
        self.state_path = Path(self.config.state_path) if self.config.state_path is not None else None
        #: Whether the chain was loaded from ``state_path`` (else it starts at genesis).
        self.loaded_state = False
        self._lock = state_lock
        self._start()

    # -- lifecycle -----------------------------------------------------------------------------
    def _release_state_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()  # the lock lives on in anvil's inherited copy until it exits
            self._lock = None

    def _start(self) -> None:
        cfg = self.config
        state_args: list[str] = []
        if self.state_path is not None:
            if self._lock is None:
                self._lock = StateLock.acquire(self.state_path, cfg.state_lock_timeout_s)
            if self.state_path.exists():
                if self.state_path.stat().st_size == 0:
                    self._release_state_lock()
                    raise AnvilStateError(f"{self.state_path}: empty anvil state file")
                self.loaded_state = True
            state_args = ["--state", str(self.state_path), "--state-interval", str(int(cfg.state_interval_s))]
        if cfg.transaction_block_keeper is not None:
            state_args += ["--transaction-block-keeper", str(int(cfg.transaction_block_keeper))]
        args = [
            str(self.binary),
            "--host", LOOPBACK_HOST,
            "--port", "0",
            "--mnemonic", cfg.mnemonic,
            "--accounts", str(cfg.accounts),
            "--balance", str(cfg.balance_ether),
            "--chain-id", str(cfg.chain_id),
            "--timestamp", str(cfg.genesis_timestamp),
            *state_args,
        ]  # fmt: skip
        started = time.perf_counter()
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child owns it from here on
        parent_pid = os.getpid()
        try:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=lambda: _parent_death_preexec(parent_pid),
                close_fds=True,
                pass_fds=(self._lock.fd,) if self._lock is not None and self._lock.fd is not None else (),
            )
        except BaseException:
            self._release_state_lock()
            raise
        finally:
            log.close()
        if self._lock is not None:
            self._lock.record_holder(self._process.pid)
        atexit.register(self.close)
        try:
            self._wait_until_ready(started)
        except BaseException as exc:
            self.close()
            if self.loaded_state and isinstance(exc, RuntimeError) and "during startup" in str(exc):
                raise AnvilStateError(f"{self.state_path}: anvil could not load this state file: {exc}") from exc
            raise
        self.startup_seconds = time.perf_counter() - started

    def _wait_until_ready(self, started: float) -> None:
        deadline = started + self.config.startup_timeout_s
        assert self._process is not None
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"anvil exited with code {self._process.returncode} during startup; "
                    f"see {self.log_path}:\n{self._log_tail()}"
                )
            match = _LISTENING.search(self.log_path.read_bytes())
            if match:
                if match.group(1).decode() != LOOPBACK_HOST:
                    raise RuntimeError(f"anvil listens on {match.group(1)!r}, not loopback")
                self.port = int(match.group(2))
                self.rpc_url = f"http://{LOOPBACK_HOST}:{self.port}"
                break
            if time.perf_counter() > deadline:
                raise TimeoutError(f"anvil did not start within {self.config.startup_timeout_s}s")
            time.sleep(0.005)
        rpc = RpcEndpoint(self.rpc_url)
        try:
            while True:
                try:
                    chain_id = int(rpc.request("eth_chainId", []), 16)
                    break
                except (OSError, RpcError):
                    if time.perf_counter() > deadline:
                        raise
                    time.sleep(0.005)
            if chain_id != self.config.chain_id:
                raise RuntimeError(f"anvil reports chain id {chain_id}, not {self.config.chain_id}")
            if self.loaded_state:
                # The loaded head's time; without this the next block would be stamped from
                # --timestamp again (backwards) or from the wall clock.
                head = rpc.request("eth_getBlockByNumber", ["latest", False])
                rpc.request("anvil_setTime", [int(head["timestamp"], 16)])
            if self.config.block_timestamp_interval:
                rpc.request("anvil_setBlockTimestampInterval", [self.config.block_timestamp_interval])
        finally:
            rpc.close()

    def _log_tail(self, limit: int = 2000) -> str:
        try:
            return self.log_path.read_bytes()[-limit:].decode(errors="replace")
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def close(self, timeout_s: float | None = None) -> None:
        """Stop the node (SIGTERM: with a state file anvil writes it then; SIGKILL after
        ``timeout_s``, by default ``config.stop_timeout_s``) and reap it. Idempotent."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.config.stop_timeout_s if timeout_s is None else timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._release_state_lock()
        atexit.unregister(self.close)

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
