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
"""

from __future__ import annotations

import atexit
import ctypes
import os
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .artifacts import anvil_binary, find_node_modules
from .rpc import JsonRpcClient, RpcError

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


def _parent_death_preexec(parent_pid: int) -> None:
    """Runs in the child between fork and exec: ask for SIGTERM when the parent dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class AnvilNode:
    """A running anvil process. Use as a context manager or call :meth:`close`."""

    def __init__(self, config: AnvilConfig | None = None, *, node_modules: Path | None = None) -> None:
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
        self._start()

    # -- lifecycle -----------------------------------------------------------------------------
    def _start(self) -> None:
        cfg = self.config
        args = [
            str(self.binary),
            "--host", LOOPBACK_HOST,
            "--port", "0",
            "--mnemonic", cfg.mnemonic,
            "--accounts", str(cfg.accounts),
            "--balance", str(cfg.balance_ether),
            "--chain-id", str(cfg.chain_id),
            "--timestamp", str(cfg.genesis_timestamp),
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
            )
        finally:
            log.close()
        atexit.register(self.close)
        try:
            self._wait_until_ready(started)
        except BaseException:
            self.close()
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
        rpc = JsonRpcClient(self.rpc_url)
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

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the node (SIGTERM, then SIGKILL after ``timeout_s``) and reap it. Idempotent."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        atexit.unregister(self.close)

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
