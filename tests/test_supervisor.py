"""Supervisor: restarts after kill -9 and silence, clean stop, parent-death signal, status output."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.process_helpers import config_from_text, free_ports, run_async, wait_until

from asymlp_runtime.commands.status import format_table, read_status, unhealthy
from asymlp_runtime.processes.supervisor import STATUS_FILE, Supervisor, restart_delay

pytestmark = pytest.mark.timeout(120)

_CHILD = Path(__file__).with_name("supervisor_child.py")


def _child_argv(name: str, config_path: os.PathLike[str]) -> list[str]:
    return [sys.executable, str(_CHILD), str(config_path)]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _write_children(tmp_path: Path, names: list[str]) -> tuple[list[str], int]:
    ports = free_ports(len(names) + 1)
    files = []
    for name, port in zip(names, ports, strict=False):
        text = f"""
[GLOBAL]
process_name = "{name}"
log_dir = "{tmp_path}/logs"
heartbeat_interval_s = 0.05
[PUBLISHERS]
control = "tcp://127.0.0.1:{port}"
"""
        (tmp_path / f"{name}.toml").write_text(text)
        files.append(f"{name}.toml")
    return files, ports[-1]


def _supervisor(tmp_path: Path, names: list[str], **kwargs) -> Supervisor:
    files, ctl = _write_children(tmp_path, names)
    config = config_from_text(
        f"""
[GLOBAL]
process_name = "supervisor"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.2
[PUBLISHERS]
control = "tcp://127.0.0.1:{ctl}"
[SUPERVISOR]
processes = {json.dumps(files)}
heartbeat_timeout_s = 1.0
restart_backoff_s = 0.25
max_restarts = 3
""",
        tmp_path,
    )
    return Supervisor(config, config_dir=tmp_path, run_dir=tmp_path / "run", child_argv=_child_argv,
                      configure_logging=False, stop_grace_s=5.0, **kwargs)


def test_restart_delay_doubles_and_is_capped():
    assert [restart_delay(n, 0.5) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert restart_delay(20, 0.5) == 30.0


def test_killed_child_is_restarted_within_two_seconds_and_stop_ends_all(tmp_path):
    async def main():
        sup = _supervisor(tmp_path, ["alpha", "beta"])
        task = asyncio.create_task(sup.run())
        try:
            assert await wait_until(lambda: len(sup.children) == 2 and all(
                c.status == "ok" for c in sup.children.values()), 30.0)
            alpha = sup.children["alpha"]
            await asyncio.sleep(6.0)  # > 100 heartbeats: the new process numbers its own from 1 again
            old_pid = alpha.pid
            os.kill(old_pid, signal.SIGKILL)
            t0 = time.monotonic()
            assert await wait_until(lambda: alpha.pid != old_pid and alpha.status == "ok", 20.0)
            # back (heartbeating, seen as ok) well before the old sequence numbers would be passed
            assert time.monotonic() - t0 < 5.0
            assert alpha.restarts == 1 and alpha.last_exit_code == -signal.SIGKILL
            # the supervisor started the new process within 2 s of the old one's death
            assert 0 < alpha.started_ns - alpha.last_exit_ns < 2_000_000_000
            assert sup.children["beta"].restarts == 0
            status = read_status(tmp_path / "run")
            assert status is not None and {p["name"] for p in status["processes"]} == {"alpha", "beta"}
            await asyncio.sleep(1.2)
            status = read_status(tmp_path / "run")
            assert unhealthy(status) == []
            assert "alpha" in format_table(status)
            pids = [c.pid for c in sup.children.values()]
        finally:
            sup.request_stop("test")
            assert await asyncio.wait_for(task, 30) == 0
        assert all(not _pid_alive(pid) for pid in pids)
        assert all(c.status == "stopped" for c in sup.children.values())
        final = json.loads((tmp_path / "run" / STATUS_FILE).read_text())
        assert unhealthy(final)  # the stack is stopped: not healthy any more

    run_async(main(), 90)


def test_silent_child_is_killed_and_restarted(tmp_path):
    async def main():
        sup = _supervisor(tmp_path, ["gamma"])
        task = asyncio.create_task(sup.run())
        try:
            assert await wait_until(lambda: sup.children and sup.children["gamma"].status == "ok", 30.0)
            gamma = sup.children["gamma"]
            old_pid = gamma.pid
            os.kill(old_pid, signal.SIGSTOP)  # alive but silent
            assert await wait_until(lambda: gamma.pid != old_pid and gamma.status == "ok", 20.0)
            assert gamma.restarts == 1
            assert not _pid_alive(old_pid)
        finally:
            sup.request_stop("test")
            await asyncio.wait_for(task, 30)

    run_async(main(), 60)


def test_children_get_sigterm_when_the_parent_is_killed(tmp_path):
    """The parent-death signal set in the child stops it when its parent dies with kill -9."""
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [sys.executable, "-c", (
            "import subprocess, sys, time\n"
            "from asymlp_runtime.processes.supervisor import set_parent_death_signal\n"
            f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "preexec_fn=set_parent_death_signal)\n"
            f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
            "time.sleep(60)\n"
        )],
    )
    try:
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child_pid = int(pid_file.read_text())
        assert _pid_alive(child_pid)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _pid_alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _pid_alive(child_pid)
    finally:
        parent.kill()


def test_commands_to_a_child_are_forwarded_and_shutdown_all_stops_the_stack(tmp_path):
    from asymlp_runtime import messages as msgs
    from asymlp_runtime.bus import RequestClient, Subscriber

    async def main():
        files, ctl = _write_children(tmp_path, ["delta"])
        cmd_port = free_ports(1)[0]
        config = config_from_text(
            f"""
[GLOBAL]
process_name = "supervisor"
log_dir = "{{tmp}}/logs"
heartbeat_interval_s = 0.2
[PUBLISHERS]
control = "tcp://127.0.0.1:{ctl}"
[SERVERS]
commands = "tcp://127.0.0.1:{cmd_port}"
[SUPERVISOR]
processes = {json.dumps(files)}
""",
            tmp_path,
        )
        sup = Supervisor(config, config_dir=tmp_path, run_dir=tmp_path / "run", child_argv=_child_argv,
                         configure_logging=False, stop_grace_s=5.0)
        task = asyncio.create_task(sup.run())
        sub = Subscriber(f"tcp://127.0.0.1:{ctl}", ("cmd.",), msgs.Control)
        client = RequestClient(f"tcp://127.0.0.1:{cmd_port}", msgs.ControlReplies, sender="operator",
                               timeout_s=2.0)
        try:
            assert await wait_until(lambda: sup.children and sup.children["delta"].status == "ok", 30.0)
            await asyncio.sleep(0.3)
            pull = msgs.Command(command_id="op-1", command="pull_liquidity", target="delta")
            ack = await client.request(pull)
            assert ack.accepted and "forwarded" in ack.detail
            got = await sub.recv(timeout_s=5.0)
            assert got is not None and got.topic == "cmd.delta" and got.message.command == "pull_liquidity"
            unknown = await client.request(msgs.Command(command_id="op-2", command="pause", target="nobody"))
            assert "unknown target" in unknown.detail
            ack = await client.request(msgs.Command(command_id="op-3", command="shutdown", target="all"))
            assert ack.accepted
            assert await asyncio.wait_for(task, 30) == 0
            assert sup.children["delta"].status == "stopped"
        finally:
            sup.request_stop("test")
            await client.close()
            sub.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)

    run_async(main(), 60)


@pytest.mark.slow
def test_kill_9_of_asymlp_run_takes_its_children_down(tmp_path):
    """``asymlp run`` on a one-process stack (the lp_manager on the simulated pool), then kill -9."""
    ports = free_ports(5)
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "lp_manager.toml").write_text(f"""
[GLOBAL]
process_name = "lp_manager"
heartbeat_interval_s = 0.2
journal_path = "data/lp.sqlite"
[PUBLISHERS]
lp = "tcp://127.0.0.1:{ports[0]}"
control = "tcp://127.0.0.1:{ports[1]}"
[LP]
pool = "sim"
fee_tier = 3000
""")
    (cfg / "supervisor.toml").write_text(f"""
[GLOBAL]
process_name = "supervisor"
[PUBLISHERS]
control = "tcp://127.0.0.1:{ports[2]}"
[SUPERVISOR]
processes = ["lp_manager.toml"]
""")
    env = dict(os.environ, ASYMLP_PAPER_DIR=str(tmp_path / "paper"))
    proc = subprocess.Popen([sys.executable, "-m", "asymlp_runtime.cli", "run", str(cfg), "--run-dir", "run"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        child_pid = None
        while time.monotonic() < deadline:
            status = read_status(tmp_path / "run") or {}
            procs = status.get("processes", [])
            if procs and procs[0]["status"] == "ok":
                child_pid = procs[0]["pid"]
                break
            time.sleep(0.1)
        assert child_pid, read_status(tmp_path / "run")
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 15
        while _pid_alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _pid_alive(child_pid)
    finally:
        proc.kill()
