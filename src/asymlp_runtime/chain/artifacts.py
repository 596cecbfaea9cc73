"""Where the devnet's tools and contract artifacts live, and the compiled test token.

The local chain needs three things from the project's ``node_modules`` (installed by
``make install`` / ``npm ci`` from the pinned ``package.json``):

- the anvil binary (``@foundry-rs/anvil-linux-amd64/bin/anvil``),
- the Uniswap V3 artifacts (``@uniswap/v3-core``, ``@uniswap/v3-periphery``) and WETH9
  (``@uniswap/v2-periphery``), deployed unchanged,
- ``solc`` 0.7.6 (soljson, run by ``node``) to compile :file:`contracts/TestERC20.sol`.

The compiled token is cached under :func:`cache_dir` keyed by the SHA-256 of the source, the
compiler version and the settings, so only the first run pays for the compiler (~0.5 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NODE_MODULES_ENV = "ASYMLP_NODE_MODULES"
CACHE_DIR_ENV = "ASYMLP_CACHE_DIR"
INSTALL_HINT = "run `make install` (or `npm ci`) in the repository root"

ANVIL_RELATIVE_PATH = Path("@foundry-rs/anvil-linux-amd64/bin/anvil")
SOLC_RELATIVE_PATH = Path("solc")
SOLC_VERSION = "0.7.6"

# Artifact files of the contracts deployed unchanged, relative to node_modules.
ARTIFACT_PATHS: dict[str, Path] = {
    "WETH9": Path("@uniswap/v2-periphery/build/WETH9.json"),
    "UniswapV3Factory": Path(
        "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json"
    ),
    "UniswapV3Pool": Path("@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json"),
    "NonfungiblePositionManager": Path(
        "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/"
        "NonfungiblePositionManager.json"
    ),
    "SwapRouter": Path("@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json"),
    "QuoterV2": Path("@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json"),
}

TEST_ERC20_SOURCE = Path(__file__).with_name("contracts") / "TestERC20.sol"
SOLC_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
}

# Reads standard-JSON input on stdin, writes solc's standard-JSON output on stdout.
_SOLC_DRIVER_JS = """
const solc = require(process.argv[1]);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => { process.stdout.write(solc.compile(input)); });
"""


class DevnetSetupError(RuntimeError):
    """A tool or artifact the devnet needs is missing or broken; the message says how to fix it."""


@dataclass(frozen=True)
class Artifact:
    """A contract's ABI and creation bytecode (``0x``-prefixed hex)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def find_node_modules(start: Path | None = None) -> Path:
    """Locate the project's ``node_modules``.

    Order: the ``ASYMLP_NODE_MODULES`` environment variable; else the first ``node_modules``
    found walking up from ``start`` (default: the current directory), then from this file.

    Raises
    ------
    DevnetSetupError
        When none is found (names the places searched and the install command).
    """
    env = os.environ.get(NODE_MODULES_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DevnetSetupError(
                f"{NODE_MODULES_ENV}={env!r} is not a directory; point it at the project's "
                f"node_modules or unset it and {INSTALL_HINT}"
            )
        return path.resolve()
    searched: list[Path] = []
    for origin in (start or Path.cwd(), Path(__file__).resolve().parent):
        for directory in (origin.resolve(), *origin.resolve().parents):
            candidate = directory / "node_modules"
            if candidate.is_dir():
                return candidate
        searched.append(origin)
    raise DevnetSetupError(
        "node_modules not found walking up from "
        + " or ".join(str(p) for p in searched)
        + f" (and {NODE_MODULES_ENV} is not set); {INSTALL_HINT}"
    )


def _require_file(node_modules: Path, relative: Path, what: str) -> Path:
    path = node_modules / relative
    if not path.exists():
        raise DevnetSetupError(f"{what} missing: {path} does not exist; {INSTALL_HINT}")
    return path


def anvil_binary(node_modules: Path) -> Path:
    """Path of the anvil binary inside ``node_modules``; precise error when it is absent."""
    path = _require_file(node_modules, ANVIL_RELATIVE_PATH, "anvil binary")
    if not os.access(path, os.X_OK):
        raise DevnetSetupError(f"anvil binary {path} is not executable; {INSTALL_HINT}")
    return path


def load_artifact(node_modules: Path, name: str) -> Artifact:
    """Load one of :data:`ARTIFACT_PATHS` (hardhat or waffle JSON layout)."""
    path = _require_file(node_modules, ARTIFACT_PATHS[name], f"{name} artifact")
    data = json.loads(path.read_text())
    bytecode = data.get("bytecode")
    if isinstance(bytecode, dict):  # some layouts nest it
        bytecode = bytecode.get("object")
    if not bytecode:
        bytecode = data["evm"]["bytecode"]["object"]
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return Artifact(name=name, abi=data["abi"], bytecode=bytecode)


def cache_dir() -> Path:
    """The directory for compiled artifacts: ``$ASYMLP_CACHE_DIR``, else ``$XDG_CACHE_HOME/asymlp``,
    else ``~/.cache/asymlp``."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "asymlp"


def compile_solidity(
    node_modules: Path,
    source_path: Path,
    contract_name: str,
    *,
    cache: Path | None = None,
) -> Artifact:
    """Compile one contract with the npm ``solc`` (0.7.6) and cache ABI and bytecode.

    The cache file is ``<cache>/solc/<contract>-<sha256 of source+version+settings>.json``;
    a hit skips ``node`` entirely.
    """
    source = source_path.read_text()
    key_material = json.dumps(
        {"source": source, "solc": SOLC_VERSION, "settings": SOLC_SETTINGS}, sort_keys=True
    )
    digest = hashlib.sha256(key_material.encode()).hexdigest()[:32]
    cache_file = (cache or cache_dir()) / "solc" / f"{contract_name}-{digest}.json"
    if cache_file.exists():
        try:
            data = json.loads(cache_file.read_text())
            return Artifact(name=contract_name, abi=data["abi"], bytecode=data["bytecode"])
        except (OSError, ValueError, KeyError):
            pass  # a torn or foreign file: recompile and overwrite it

    solc_dir = _require_file(node_modules, SOLC_RELATIVE_PATH / "soljson.js", "solc (soljson.js)")
    node = shutil.which("node")
    if node is None:
        raise DevnetSetupError("`node` is not on PATH; install Node.js (>= 18) to compile contracts")
    standard_input = json.dumps(
        {
            "language": "Solidity",
            "sources": {source_path.name: {"content": source}},
            "settings": SOLC_SETTINGS,
        }
    )
    completed = subprocess.run(
        [node, "-e", _SOLC_DRIVER_JS, str(solc_dir.parent)],
        input=standard_input,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        raise DevnetSetupError(f"solc failed ({completed.returncode}): {completed.stderr.strip()}")
    output = json.loads(completed.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise DevnetSetupError(
            "solc errors in " + str(source_path) + ":\n" + "\n".join(e["formattedMessage"] for e in errors)
        )
    compiled = output["contracts"][source_path.name][contract_name]
    artifact = Artifact(
        name=contract_name, abi=compiled["abi"], bytecode="0x" + compiled["evm"]["bytecode"]["object"]
    )
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"abi": artifact.abi, "bytecode": artifact.bytecode}))
    os.replace(tmp, cache_file)  # atomic: concurrent runs never read a half-written file
    return artifact


def load_test_erc20(node_modules: Path, *, cache: Path | None = None) -> Artifact:
    """The project's :file:`TestERC20.sol`, compiled (or read from the cache)."""
    return compile_solidity(node_modules, TEST_ERC20_SOURCE, "TestERC20", cache=cache)
