"""The devnet harness: loopback only, no process left behind, reproducible, precise setup errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_utils import keccak

from asymlp_runtime.chain.anvil import AnvilNode
from asymlp_runtime.chain.artifacts import (
    TEST_ERC20_SOURCE,
    DevnetSetupError,
    anvil_binary,
    compile_solidity,
    find_node_modules,
    load_test_erc20,
)
from asymlp_runtime.chain.devnet import Devnet, position_key

LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp prints it (little-endian)
TCP_LISTEN = "0A"


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address hex, port) of every TCP socket of ``pid`` in LISTEN state, IPv4 and IPv6."""
    inodes = _socket_inodes(pid)
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode in inodes and state == TCP_LISTEN:
                address, port = local.split(":")
                found.append((address, int(port, 16)))
    return found


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for a reaper (it has exited either way)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.mark.chain
def test_node_listens_on_loopback_only() -> None:
    with AnvilNode() as node:
        listening = _listening_addresses(node.pid)
        assert listening, "anvil has no listening socket"
        assert all(address == LOOPBACK_HEX for address, _ in listening), listening
        assert (LOOPBACK_HEX, node.port) in listening
        assert node.rpc_url == f"http://127.0.0.1:{node.port}"


@pytest.mark.chain
def test_node_process_gone_after_context_exit() -> None:
    with AnvilNode() as node:
        pid = node.pid
        assert not _gone(pid)
    assert _gone(pid)
    assert not node.running
    node.close()  # idempotent


@pytest.mark.chain
def test_devnet_context_exit_stops_node_and_keeps_log() -> None:
    with Devnet.start() as net:
        pid = net.node.pid
        log_path = net.node.log_path
        assert net.slot0(3000).sqrt_price_x96 == net.initial_sqrt_price_x96
    assert _gone(pid)
    assert b"Listening on 127.0.0.1:" in log_path.read_bytes()


@pytest.mark.chain
def test_node_stops_when_parent_is_killed() -> None:
    """``kill -9`` of the Python parent: the parent-death signal still stops anvil."""
    script = (
        "import sys, time\n"
        "from asymlp_runtime.chain.anvil import AnvilNode\n"
        "node = AnvilNode()\n"
        "print(node.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        anvil_pid = int(parent.stdout.readline())
        assert not _gone(anvil_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(anvil_pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _gone(anvil_pid)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


@pytest.mark.chain
def test_two_devnets_produce_identical_chains() -> None:
    """Fixed mnemonic, genesis timestamp and one-second block interval: the same deployment
    gives the same addresses, timestamps and block hashes."""
    heads = []
    for _ in range(2):
        with Devnet.start() as net:
            block = net.rpc.request("eth_getBlockByNumber", ["latest", False])
            heads.append(
                (
                    net.npm.address,
                    tuple(p.address for p in net.pools.values()),
                    block["number"],
                    block["timestamp"],
                    block["hash"],
                )
            )
    assert heads[0] == heads[1]


@pytest.mark.chain
def test_test_tokens_have_configured_metadata() -> None:
    with Devnet.start() as net:
        cfg = net.config
        for token, spec in ((net.base, cfg.base), (net.quote, cfg.quote)):
            assert net.call(token, "decimals") == (spec.decimals,)
            assert net.call(token, "symbol") == (spec.symbol,)
            assert net.call(token, "name") == (spec.name,)
            assert net.balance_of(token, net.accounts[1]) == cfg.fund_amount
        assert {net.token0.address, net.token1.address} == {net.base.address, net.quote.address}
        assert int(net.token0.address, 16) < int(net.token1.address, 16)
        assert set(net.pools) == {500, 3000, 10000}


def test_missing_anvil_error_names_path_and_install_command(tmp_path: Path) -> None:
    with pytest.raises(DevnetSetupError) as excinfo:
        anvil_binary(tmp_path)
    message = str(excinfo.value)
    assert str(tmp_path / "@foundry-rs/anvil-linux-amd64/bin/anvil") in message
    assert "make install" in message and "npm ci" in message


def test_node_modules_env_pointing_nowhere_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("ASYMLP_NODE_MODULES", str(missing))
    with pytest.raises(DevnetSetupError, match="ASYMLP_NODE_MODULES"):
        find_node_modules()


def test_node_modules_found_by_walking_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASYMLP_NODE_MODULES", raising=False)
    (tmp_path / "node_modules").mkdir()
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_node_modules(nested) == tmp_path / "node_modules"


@pytest.mark.chain
def test_compiled_token_cached_by_source_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    node_modules = find_node_modules(Path(__file__).parent)
    first = load_test_erc20(node_modules, cache=tmp_path)
    cached = list((tmp_path / "solc").glob("TestERC20-*.json"))
    assert len(cached) == 1
    monkeypatch.setenv("PATH", "")  # a cache hit must not need node
    assert load_test_erc20(node_modules, cache=tmp_path) == first
    changed = tmp_path / "TestERC20.sol"
    changed.write_text(TEST_ERC20_SOURCE.read_text() + "\n// changed\n")
    with pytest.raises(DevnetSetupError, match="node"):
        compile_solidity(node_modules, changed, "TestERC20", cache=tmp_path)  # new hash: compiles


def test_position_key_packs_int24_twos_complement() -> None:
    owner = "0xC36442b4a4522E871399CD717aBDD847Ab11FE88"
    packed = bytes.fromhex(owner[2:]) + b"\xff\xff\xff" + b"\x00\x00\x01"  # int24 -1, int24 1
    assert position_key(owner, -1, 1) == keccak(packed)
    assert position_key(owner.lower(), -1, 1) == position_key(owner, -1, 1)
