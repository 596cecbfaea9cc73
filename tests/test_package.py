"""Package-level contracts: core purity, the CLI's demo."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import asymlp_core

FORBIDDEN = {"asymlp_runtime", "zmq", "ccxt", "web3", "logging", "socket", "requests", "aiohttp"}


def test_core_imports_no_side_effecting_package():
    root = pathlib.Path(asymlp_core.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in FORBIDDEN:
                    offenders.append(f"{path.relative_to(root)} imports {name}")
    assert offenders == []


def test_core_import_loads_no_runtime_module():
    code = (
        "import sys, asymlp_core, asymlp_core.v3;"
        "bad=[m for m in sys.modules if m.split('.')[0] in "
        "('asymlp_runtime','zmq','ccxt','web3')]; print(bad); assert not bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_demo_deposits_within_budget_and_earns_fees(capsys):
    from asymlp_runtime.cli import main

    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "fees owed" in out
    from asymlp_runtime.demo import run_demo

    result = run_demo(price=3000.0, budget_usd=10_000.0, width_pct=5.0)
    paid0, paid1 = result["paid"]
    value = paid0 / 1e18 * 3000.0 + paid1 / 1e6
    assert 9_990 < value <= 10_000.0 + 1e-6
    fee0, fee1 = result["fees_owed"]
    assert fee0 > 0 and fee1 > 0
