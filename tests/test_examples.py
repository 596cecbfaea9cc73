"""The examples run and print what the README says they print."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def _run(name: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.slow
def test_exact_replay_example_matches_the_pool_state_machine():
    assert "-> identical" in _run("exact_replay.py")


@pytest.mark.slow
def test_lp_backtest_and_sweep_example_prints_both_models_and_a_ranking():
    out = _run("lp_backtest_and_sweep.py", "3")
    assert "AS: 3 days" in out and "GLFT: 3 days" in out and "sweep: 27 parameter sets" in out


@pytest.mark.slow
def test_glft_example_recovers_its_parameters():
    out = _run("glft_calibrate_and_quote.py")
    assert "k" in out and "sigma" in out


@pytest.mark.slow
def test_as_reproduction_example_prints_both_tables():
    out = _run("as_2008_reproduction.py")
    assert "largest |z| (published)" in out
