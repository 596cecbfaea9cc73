"""The local devnet: anvil plus the real Uniswap V3 contracts, and typed helpers to drive them.

``Devnet.start()`` starts an :class:`~asymlp_runtime.chain.anvil.AnvilNode`, deploys WETH9,
UniswapV3Factory, NonfungiblePositionManager, SwapRouter and QuoterV2 from the npm artifacts
(bytecode unchanged), two test tokens with realistic decimals (18 and 6 by default), and one pool
per fee tier at a chosen initial price. Every funded account has both tokens and has approved
the position manager and the router for the maximum once, so each later operation is one
transaction (automine: each transaction is its own block).

Units: token amounts are raw integer units (wei-like); prices are Q64.96 ``sqrt_price_x96``
integers; fee growth is Q128.128; fee tiers are in pips (hundredths of a basis point).

Persistence
-----------
With ``DevnetConfig.state_dir`` the chain survives the process that started it (a restart after
``kill -9`` included). The directory holds

- ``anvil_state.json``: anvil's own dump of the whole chain (see :mod:`asymlp_runtime.chain.anvil`
  for what anvil keeps and what the node restores: head time, one second per block after it);
- ``devnet.json``: what this module deployed (addresses of WETH9, the factory, the position
  manager, the router, the quoter, both tokens and the pools; the initial sqrt price), the
  configuration those addresses depend on (chain id, mnemonic digest, token specs, fee tiers,
  funded accounts and amount) and the caller's ``extra`` record. It is written atomically
  (temporary file, ``fsync``, ``os.replace``) once everything, the ``setup`` callback of
  :meth:`Devnet.start` included, is on chain, so its presence means "a complete world".

:meth:`Devnet.start` then, under the state file's lock (a previous node still writing its exit
dump is waited for):

- neither file: a fresh chain; ``devnet.json`` written after ``setup``;
- ``anvil_state.json`` without ``devnet.json`` (a first start that never completed, so nothing
  can refer to it): the file is deleted with a logged warning and the chain starts fresh;
- both: anvil loads the state and the handles are re-attached to the recorded addresses, with
  no deployment and no ``setup``; every recorded address must hold code and the factory must
  return the recorded pools;
- anything else is refused with :class:`DevnetStateError` naming the file: ``devnet.json``
  unreadable or of another format, recorded for a different configuration (the differing keys
  are named), not matching the loaded chain, or ``devnet.json`` without ``anvil_state.json``
  (the chain it describes is gone). The chain is never silently replaced, because a journal
  may refer to it; delete the directory to start afresh. A truncated ``anvil_state.json``
  (anvil killed during a dump) is refused the same way
  (:class:`~asymlp_runtime.chain.anvil.AnvilStateError`).

Example
-------
>>> with Devnet.start() as net:                                   # doctest: +SKIP
...     minted = net.mint(3000, -600, 600, 10**18, 3000 * 10**6)
...     swapped = net.swap_exact_input_single(3000, True, 10**16)
...     state = net.pool_state(3000, ticks=[-600, 600])
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from .abi import ContractAbi, DecodedEvent
from .anvil import AnvilConfig, AnvilNode, AnvilStateError, StateLock
from .artifacts import Artifact, find_node_modules, load_artifact, load_test_erc20
from .endpoint import RpcEndpoint
from .rpc import RpcError, decode_revert_reason

# Tick spacing of each fee tier enabled by UniswapV3Factory's constructor.
FEE_TICK_SPACING: dict[int, int] = {500: 10, 3000: 60, 10000: 200}
# TickMath bounds: sqrt(1.0001^-887272) * 2^96 and sqrt(1.0001^887272) * 2^96.
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
UINT128_MAX = 2**128 - 1
UINT256_MAX = 2**256 - 1
FAR_DEADLINE = 2**64  # periphery `deadline` in seconds: never expires on the devnet
ZERO_ADDRESS = "0x" + "00" * 20

#: Files of a devnet's state directory, and the format tag of the record.
STATE_FILE = "anvil_state.json"
RECORD_FILE = "devnet.json"
RECORD_FORMAT = "asymlp-devnet/1"
_CONTRACTS = ("weth9", "factory", "npm", "router", "quoter", "base", "quote")

log = logging.getLogger("asymlp.chain.devnet")


class DevnetStateError(AnvilStateError):
    """A devnet state directory that cannot be re-attached; the message names the file."""


class ChainRevert(RuntimeError):
    """A transaction or call reverted; ``reason`` is the revert string ('' for a bare revert)."""

    def __init__(self, reason: str, *, receipt: dict[str, Any] | None = None) -> None:
        super().__init__(f"reverted: {reason!r}")
        self.reason = reason
        self.receipt = receipt


# ---------------------------------------------------------------------------------------------
# configuration and results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TokenSpec:
    name: str
    symbol: str
    decimals: int


@dataclass(frozen=True, kw_only=True)
class DevnetConfig:
    """What to deploy. ``initial_price`` is the human price of one ``base`` token in ``quote``
    tokens (e.g. 3000 USDC per WETH); the pools start at the sqrt price nearest below it."""

    anvil: AnvilConfig = field(default_factory=AnvilConfig)
    base: TokenSpec = TokenSpec(name="Wrapped Ether (devnet)", symbol="dWETH", decimals=18)
    quote: TokenSpec = TokenSpec(name="USD Coin (devnet)", symbol="dUSDC", decimals=6)
    initial_price: Fraction | int | str = 3000
    fee_tiers: tuple[int, ...] = (500, 3000, 10000)
    funded_accounts: int = 3
    fund_amount: int = 10**40  # raw units of each token per funded account
    tx_gas: int = 15_000_000  # explicit gas: no estimate round trip; under the 2^24 tx cap
    cache_dir: Path | None = None
    #: Persist the chain here (``anvil_state.json`` + ``devnet.json``; see the module docstring).
    #: ``None``: the chain lives and dies with the node.
    state_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class PoolHandle:
    fee: int
    tick_spacing: int
    address: str
    contract: Contract


@dataclass(frozen=True, slots=True)
class Slot0:
    sqrt_price_x96: int
    tick: int
    observation_index: int
    observation_cardinality: int
    observation_cardinality_next: int
    fee_protocol: int
    unlocked: bool


@dataclass(frozen=True, slots=True)
class TickInfo:
    liquidity_gross: int
    liquidity_net: int
    fee_growth_outside0_x128: int
    fee_growth_outside1_x128: int
    tick_cumulative_outside: int
    seconds_per_liquidity_outside_x128: int
    seconds_outside: int
    initialized: bool


@dataclass(frozen=True, slots=True)
class PositionInfo:
    liquidity: int
    fee_growth_inside0_last_x128: int
    fee_growth_inside1_last_x128: int
    tokens_owed0: int
    tokens_owed1: int


@dataclass(frozen=True, slots=True)
class NpmPosition:
    """``NonfungiblePositionManager.positions(tokenId)``."""

    nonce: int
    operator: str
    token0: str
    token1: str
    fee: int
    tick_lower: int
    tick_upper: int
    liquidity: int
    fee_growth_inside0_last_x128: int
    fee_growth_inside1_last_x128: int
    tokens_owed0: int
    tokens_owed1: int


@dataclass(frozen=True, slots=True)
class PoolState:
    """One consistent read of a pool (one batched round trip at the latest block)."""

    slot0: Slot0
    liquidity: int
    fee_growth_global0_x128: int
    fee_growth_global1_x128: int
    balance0: int  # token0.balanceOf(pool)
    balance1: int
    ticks: dict[int, TickInfo]
    positions: dict[tuple[str, int, int], PositionInfo]
    tick_bitmap: dict[int, int]  # word position -> word


@dataclass(frozen=True, slots=True)
class TxResult:
    tx_hash: str
    block_number: int
    gas_used: int
    events: list[DecodedEvent]  # the pool's and the periphery's decoded logs, in order


@dataclass(frozen=True, slots=True)
class MintResult:
    token_id: int
    liquidity: int
    amount0: int
    amount1: int
    tx: TxResult


@dataclass(frozen=True, slots=True)
class LiquidityResult:
    """increaseLiquidity (``liquidity`` added) or decreaseLiquidity (``liquidity`` removed);
    amounts are what the pool took (increase) or credited as owed (decrease)."""

    liquidity: int
    amount0: int
    amount1: int
    tx: TxResult


@dataclass(frozen=True, slots=True)
class CollectResult:
    """``amount0/1``: what the pool transferred (its ``Collect`` event); ``requested0/1``: what
    the position manager asked for and debited (its own ``Collect`` event), which can exceed
    the transfer by a few wei of rounding."""

    amount0: int
    amount1: int
    requested0: int
    requested1: int
    tx: TxResult


@dataclass(frozen=True, slots=True)
class SwapResult:
    """The pool's ``Swap`` event: signed deltas from the pool's side (positive = paid in)."""

    amount0: int
    amount1: int
    sqrt_price_x96: int
    liquidity: int
    tick: int
    tx: TxResult


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def position_key(owner: str, tick_lower: int, tick_upper: int) -> bytes:
    """``keccak256(abi.encodePacked(owner, tickLower, tickUpper))`` (int24 as 3-byte two's
    complement), the key of ``UniswapV3Pool.positions``."""
    return keccak(
        bytes.fromhex(owner[2:])
        + (tick_lower % (1 << 24)).to_bytes(3, "big")
        + (tick_upper % (1 << 24)).to_bytes(3, "big")
    )


def sqrt_price_x96_from_price(price_token1_per_token0: Fraction) -> int:
    """floor(sqrt(price) * 2^96) for a raw price (token1 units per token0 unit), exactly."""
    price = Fraction(price_token1_per_token0)
    return math.isqrt(price.numerator * (1 << 192) // price.denominator)


def _hex(value: int) -> str:
    return hex(value)


def _tuple(dataclass_type: type, values: Sequence[Any]) -> Any:
    return dataclass_type(*values)


def config_fingerprint(config: DevnetConfig) -> dict[str, Any]:
    """What the deployed addresses and the funded accounts depend on (JSON-ready). The initial
    price, the genesis time and the gas limit are not in it: a reloaded chain has its own."""
    return {
        "chain_id": config.anvil.chain_id,
        "mnemonic_sha256": hashlib.sha256(config.anvil.mnemonic.encode()).hexdigest(),
        "accounts": config.anvil.accounts,
        "base": [config.base.name, config.base.symbol, config.base.decimals],
        "quote": [config.quote.name, config.quote.symbol, config.quote.decimals],
        "fee_tiers": sorted(config.fee_tiers),
        "funded_accounts": config.funded_accounts,
        "fund_amount": str(config.fund_amount),
    }


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` atomically: a temporary file beside it, ``fsync``,
    ``os.replace``; a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_state_record(state_dir: Path, config: DevnetConfig) -> dict[str, Any] | None:
    """The ``devnet.json`` of ``state_dir`` checked against ``config`` (``None``: start fresh;
    an orphan ``anvil_state.json`` is deleted with a warning). Call under the state lock.

    Raises
    ------
    DevnetStateError
        See the module docstring; the message names the file.
    """
    state_dir = Path(state_dir)
    record_path, state_path = state_dir / RECORD_FILE, state_dir / STATE_FILE
    fresh_hint = f"delete {state_dir} to start a fresh chain"
    if not record_path.exists():
        if state_path.exists():
            log.warning(
                "devnet state without a devnet record (a first start that never completed): "
                "starting a fresh chain",
                extra={"state": str(state_path), "record": str(record_path)},
            )
            state_path.unlink()
        return None
    try:
        record = json.loads(record_path.read_text())
        if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
            found = record.get("format") if isinstance(record, dict) else type(record).__name__
            raise ValueError(f"format {found!r}, expected {RECORD_FORMAT!r}")
        addresses = record["addresses"]
        for name in _CONTRACTS:
            to_checksum_address(addresses[name])
        pools = {int(fee): to_checksum_address(a) for fee, a in record["pools"].items()}
        int(record["initial_sqrt_price_x96"])
        fingerprint = record["fingerprint"]
        if not isinstance(record.get("extra", {}), dict):
            raise ValueError("'extra' is not an object")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise DevnetStateError(f"{record_path}: unreadable devnet record ({detail}); {fresh_hint}") from None
    expected = config_fingerprint(config)
    differ = sorted(k for k in expected.keys() | fingerprint.keys() if expected.get(k) != fingerprint.get(k))
    if differ:
        parts = ", ".join(f"{k}: recorded {fingerprint.get(k)!r}, configured {expected.get(k)!r}" for k in differ)
        raise DevnetStateError(f"{record_path}: recorded for another devnet configuration ({parts}); {fresh_hint}")
    missing = [fee for fee in config.fee_tiers if fee not in pools]
    if missing:
        raise DevnetStateError(f"{record_path}: no pool recorded for fee tiers {missing}; {fresh_hint}")
    if not state_path.exists():
        raise DevnetStateError(
            f"{state_path}: missing, but {record_path} records a chain there (a journal may refer "
            f"to it); {fresh_hint}"
        )
    return record


# ---------------------------------------------------------------------------------------------
# the devnet
# ---------------------------------------------------------------------------------------------
class Devnet:
    """A running anvil with Uniswap V3 deployed. Create with :meth:`start`; close when done.

    Attributes
    ----------
    w3 : Web3 connected to the node (for anything the helpers do not cover).
    accounts : the node's unlocked accounts; ``accounts[0]`` deployed everything.
    weth9, factory, npm, router, quoter : web3 contract handles.
    token0, token1 : the two test tokens sorted by address, as in the pools.
    base, quote : the same tokens by role (``config.base`` / ``config.quote``).
    pools : fee tier -> :class:`PoolHandle`.
    timings : seconds spent in ``anvil_start``, ``artifacts`` (incl. compile) and ``deploy``.
    """

    def __init__(self, node: AnvilNode, config: DevnetConfig) -> None:
        self.node = node
        self.config = config
        #: Whether this devnet was re-attached to a persisted chain (no deployment, no setup).
        self.reloaded = False
        #: The caller's record (``setup``'s return value), persisted in ``devnet.json``.
        self.extra: dict[str, Any] = {}
        self.state_dir = Path(config.state_dir) if config.state_dir is not None else None
        self.rpc = RpcEndpoint(node.rpc_url)
        self.w3 = Web3(Web3.HTTPProvider(node.rpc_url, request_kwargs={"timeout": 60}))
        self.accounts: list[str] = [to_checksum_address(a) for a in self.rpc.request("eth_accounts", [])]
        self.deployer = self.accounts[0]
        self.timings: dict[str, float] = {"anvil_start": node.startup_seconds}
        self.pools: dict[int, PoolHandle] = {}
        self._abis: dict[str, ContractAbi] = {}
        self._by_address: dict[str, ContractAbi] = {}

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        config: DevnetConfig | None = None,
        *,
        node_modules: Path | None = None,
        setup: Callable[[Devnet], Mapping[str, Any]] | None = None,
    ) -> Devnet:
        """Start anvil, deploy everything, fund and approve the accounts, run ``setup``.

        With ``config.state_dir`` holding a complete persisted world, anvil loads it instead and
        the handles are re-attached (``reloaded`` is True, ``setup`` is not run, ``extra`` is
        what the first ``setup`` returned); see the module docstring.

        Parameters
        ----------
        setup : callable, optional
            ``setup(net) -> extra``: further transactions that belong to the world (seeding);
            its JSON-ready return value is stored in ``devnet.json`` as ``extra``.
        """
        config = config or DevnetConfig()
        node_modules = node_modules or find_node_modules()
        anvil_config = config.anvil
        record: dict[str, Any] | None = None
        lock: StateLock | None = None
        if config.state_dir is not None:
            state_path = Path(config.state_dir) / STATE_FILE
            anvil_config = replace(anvil_config, state_path=state_path)
            lock = StateLock.acquire(state_path, anvil_config.state_lock_timeout_s)
            try:
                record = read_state_record(Path(config.state_dir), config)
            except BaseException:
                lock.release()
                raise
        try:
            node = AnvilNode(anvil_config, node_modules=node_modules, state_lock=lock)
        except BaseException:
            if lock is not None:
                lock.release()  # idempotent: the node may have released it already
            raise
        try:
            net = cls(node, config)
            if record is not None:
                net._attach(node_modules, record)
            else:
                net._deploy_all(node_modules)
                net.extra = dict(setup(net)) if setup is not None else {}
                if net.state_dir is not None:
                    write_json_atomic(net.state_dir / RECORD_FILE, net._record())
        except BaseException:
            node.close()
            raise
        return net

    @property
    def record_path(self) -> Path | None:
        """``devnet.json`` of the state directory (``None`` without persistence)."""
        return self.state_dir / RECORD_FILE if self.state_dir is not None else None

    def _record(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "fingerprint": config_fingerprint(self.config),
            "addresses": {name: getattr(self, name).address for name in _CONTRACTS},
            "pools": {str(fee): pool.address for fee, pool in sorted(self.pools.items())},
            "initial_sqrt_price_x96": str(self.initial_sqrt_price_x96),
            "deployed_block": int(self.rpc.request("eth_blockNumber", []), 16),
            "extra": self.extra,
        }

    def _load_artifacts(self, node_modules: Path) -> dict[str, Artifact]:
        arts = {name: load_artifact(node_modules, name) for name in (
            "WETH9", "UniswapV3Factory", "UniswapV3Pool", "NonfungiblePositionManager",
            "SwapRouter", "QuoterV2",
        )}  # fmt: skip
        arts["TestERC20"] = load_test_erc20(node_modules, cache=self.config.cache_dir)
        self._pool_abi = self._artifact_abi(arts["UniswapV3Pool"])
        self._pool_artifact = arts["UniswapV3Pool"]
        self._erc20_abi = self._artifact_abi(arts["TestERC20"])
        return arts

    def _handle(self, artifact: Artifact, address: str) -> Contract:
        address = to_checksum_address(address)
        self._by_address[address.lower()] = self._artifact_abi(artifact)
        return self.w3.eth.contract(address=address, abi=artifact.abi)

    def _order_tokens(self) -> None:
        if int(self.base.address, 16) < int(self.quote.address, 16):
            self.token0, self.token1 = self.base, self.quote
        else:
            self.token0, self.token1 = self.quote, self.base

    def _add_pool(self, fee: int, address: str) -> None:
        address = to_checksum_address(address)
        self._by_address[address.lower()] = self._pool_abi
        self.pools[fee] = PoolHandle(
            fee=fee,
            tick_spacing=FEE_TICK_SPACING[fee],
            address=address,
            contract=self.w3.eth.contract(address=address, abi=self._pool_artifact.abi),
        )

    def _attach(self, node_modules: Path, record: dict[str, Any]) -> None:
        """Handles on a reloaded chain at the recorded addresses, checked against the chain."""
        t0 = time.perf_counter()
        arts = self._load_artifacts(node_modules)
        self.timings["artifacts"] = time.perf_counter() - t0
        a = record["addresses"]
        self.weth9 = self._handle(arts["WETH9"], a["weth9"])
        self.factory = self._handle(arts["UniswapV3Factory"], a["factory"])
        self.npm = self._handle(arts["NonfungiblePositionManager"], a["npm"])
        self.router = self._handle(arts["SwapRouter"], a["router"])
        self.quoter = self._handle(arts["QuoterV2"], a["quoter"])
        self.base = self._handle(arts["TestERC20"], a["base"])
        self.quote = self._handle(arts["TestERC20"], a["quote"])
        self._order_tokens()
        self.initial_sqrt_price_x96 = int(record["initial_sqrt_price_x96"])
        recorded_pools = {int(fee): address for fee, address in record["pools"].items()}
        for fee in self.config.fee_tiers:
            self._add_pool(fee, recorded_pools[fee])
        self.extra = dict(record.get("extra", {}))

        names = [*_CONTRACTS, *(f"pool {fee}" for fee in self.config.fee_tiers)]
        addresses = [getattr(self, n).address for n in _CONTRACTS] + [p.address for p in self.pools.values()]
        factory_abi = self._abi_of(self.factory.address)
        head = int(self.rpc.request("eth_blockNumber", []), 16)
        if head < int(record.get("deployed_block", 0)):
            raise DevnetStateError(
                f"{self.record_path}: the chain loaded from {self.node.state_path} ends at block {head}, before the "
                f"recorded setup ended (block {record['deployed_block']}): a dump taken during the setup; "
                f"delete {self.state_dir}"
            )
        calls: list[tuple[str, list[Any]]] = [("eth_getCode", [address, "latest"]) for address in addresses]
        calls += [
            self._eth_call_params(
                self.factory.address,
                factory_abi.encode_call("getPool", self.token0.address, self.token1.address, fee),
            )
            for fee in self.config.fee_tiers
        ]
        replies = self.rpc.batch(calls)
        where = f"{self.record_path}: does not match the chain loaded from {self.node.state_path}"
        for name, address, code in zip(names, addresses, replies, strict=False):
            if isinstance(code, RpcError) or code in ("0x", "", None):
                raise DevnetStateError(f"{where}: no contract at {address} ({name}); delete {self.state_dir}")
        for fee, raw in zip(self.config.fee_tiers, replies[len(addresses) :], strict=True):
            if isinstance(raw, RpcError) or to_checksum_address("0x" + raw[-40:]) != self.pools[fee].address:
                raise DevnetStateError(
                    f"{where}: the factory does not return the recorded pool of fee {fee}; delete {self.state_dir}"
                )
        self.reloaded = True
        self.timings["attach"] = time.perf_counter() - t0

    def _artifact_abi(self, artifact: Artifact) -> ContractAbi:
        if artifact.name not in self._abis:
            self._abis[artifact.name] = ContractAbi(artifact.abi)
        return self._abis[artifact.name]

    def _deploy(self, artifact: Artifact, *args: Any) -> Contract:
        abi = self._artifact_abi(artifact)
        receipt = self._send(None, abi.encode_constructor(artifact.bytecode, *args))
        address = to_checksum_address(receipt["contractAddress"])
        self._by_address[address.lower()] = abi
        return self.w3.eth.contract(address=address, abi=artifact.abi)

    def _deploy_all(self, node_modules: Path) -> None:
        cfg = self.config
        t0 = time.perf_counter()
        arts = self._load_artifacts(node_modules)
        erc20 = arts["TestERC20"]
        t1 = time.perf_counter()
        self.timings["artifacts"] = t1 - t0

        self.weth9 = self._deploy(arts["WETH9"])
        self.factory = self._deploy(arts["UniswapV3Factory"])
        # The third argument, the token descriptor, is only read by tokenURI().
        self.npm = self._deploy(
            arts["NonfungiblePositionManager"], self.factory.address, self.weth9.address, ZERO_ADDRESS
        )
        self.router = self._deploy(arts["SwapRouter"], self.factory.address, self.weth9.address)
        self.quoter = self._deploy(arts["QuoterV2"], self.factory.address, self.weth9.address)
        self.base = self._deploy(
            erc20, cfg.base.name, cfg.base.symbol, cfg.base.decimals, self.deployer, cfg.fund_amount
        )
        self.quote = self._deploy(
            erc20, cfg.quote.name, cfg.quote.symbol, cfg.quote.decimals, self.deployer,
            cfg.fund_amount,
        )  # fmt: skip
        self._order_tokens()
        if self.token0 is self.base:
            decimals0, decimals1 = cfg.base.decimals, cfg.quote.decimals
            raw_price = Fraction(cfg.initial_price) * 10**decimals1 / 10**decimals0
        else:
            decimals0, decimals1 = cfg.quote.decimals, cfg.base.decimals
            raw_price = 10**decimals1 / (Fraction(cfg.initial_price) * 10**decimals0)
        self.initial_sqrt_price_x96 = sqrt_price_x96_from_price(raw_price)

        npm_abi = self._abi_of(self.npm.address)
        for fee in cfg.fee_tiers:
            self._send(
                self.npm.address,
                npm_abi.encode_call(
                    "createAndInitializePoolIfNecessary",
                    self.token0.address, self.token1.address, fee, self.initial_sqrt_price_x96,
                ),
            )  # fmt: skip
        addresses = self.rpc.batch(
            [
                self._eth_call_params(
                    self.factory.address,
                    self._abi_of(self.factory.address).encode_call(
                        "getPool", self.token0.address, self.token1.address, fee
                    ),
                )
                for fee in cfg.fee_tiers
            ]
        )
        for fee, raw in zip(cfg.fee_tiers, addresses, strict=True):
            if isinstance(raw, RpcError):
                raise raw
            self._add_pool(fee, "0x" + raw[-40:])

        for account in self.accounts[: cfg.funded_accounts]:
            for token in (self.token0, self.token1):
                if account != self.deployer:
                    self._send(token.address, self._erc20_abi.encode_call("mint", account, cfg.fund_amount))
                for spender in (self.npm.address, self.router.address):
                    self._send(
                        token.address,
                        self._erc20_abi.encode_call("approve", spender, UINT256_MAX),
                        sender=account,
                    )
        self.timings["deploy"] = time.perf_counter() - t1

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the node. Idempotent."""
        self.rpc.close()
        self.node.close()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def snapshot(self) -> str:
        """``evm_snapshot``: an id to return to with :meth:`revert_to`."""
        return self.rpc.request("evm_snapshot", [])

    def revert_to(self, snapshot_id: str) -> None:
        if not self.rpc.request("evm_revert", [snapshot_id]):
            raise RuntimeError(f"evm_revert({snapshot_id}) failed")

    @contextmanager
    def isolated(self) -> Iterator[Devnet]:
        """Run a block of operations and undo them all afterwards (snapshot / revert)."""
        snapshot_id = self.snapshot()
        try:
            yield self
        finally:
            self.revert_to(snapshot_id)

    # -- low level -----------------------------------------------------------------------------
    def _abi_of(self, address: str) -> ContractAbi:
        return self._by_address[address.lower()]

    def _eth_call_params(
        self, to: str, data: str, *, sender: str | None = None, block: str | int = "latest"
    ) -> tuple[str, list[Any]]:
        tx = {"to": to, "data": data, "from": sender or self.deployer, "gas": _hex(self.config.tx_gas)}
        return ("eth_call", [tx, block if isinstance(block, str) else _hex(block)])

    def _send(self, to: str | None, data: str, *, sender: str | None = None) -> dict[str, Any]:
        """Send one transaction (mined at once), return its raw receipt; raise ChainRevert with
        the decoded reason when it reverts."""
        tx: dict[str, Any] = {"from": sender or self.deployer, "data": data, "gas": _hex(self.config.tx_gas)}
        if to is not None:
            tx["to"] = to
        try:
            tx_hash = self.rpc.request("eth_sendTransaction", [tx])
        except RpcError as err:
            revert = err.revert_data
            if revert is None:
                raise
            raise ChainRevert(decode_revert_reason(revert)) from err
        receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
        while receipt is None:  # automine answers at once; this only guards other modes
            time.sleep(0.005)
            receipt = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
        if int(receipt["status"], 16) != 1:
            # Replay on the state just before the transaction (automine: one tx per block).
            block = int(receipt["blockNumber"], 16) - 1
            method, params = self._eth_call_params(tx.get("to", ""), data, sender=tx["from"], block=block)
            try:
                self.rpc.request(method, params)
                reason = ""
            except RpcError as err:
                reason = decode_revert_reason(err.revert_data or b"")
            raise ChainRevert(reason, receipt=receipt)
        return receipt

    def _tx_result(self, receipt: dict[str, Any]) -> TxResult:
        events: list[DecodedEvent] = []
        for log in receipt["logs"]:
            abi = self._by_address.get(log["address"].lower())
            if abi is not None:
                decoded = abi.decode_log(log)
                if decoded is not None:
                    events.append(decoded)
        return TxResult(
            tx_hash=receipt["transactionHash"],
            block_number=int(receipt["blockNumber"], 16),
            gas_used=int(receipt["gasUsed"], 16),
            events=events,
        )

    def transact(self, contract: Contract, function: str, *args: Any, sender: str | None = None) -> TxResult:
        """Call any function of a deployed contract as one transaction; decoded logs returned."""
        data = self._abi_of(contract.address).encode_call(function, *args)
        return self._tx_result(self._send(contract.address, data, sender=sender))

    def call(
        self,
        contract: Contract | str,
        function: str,
        *args: Any,
        sender: str | None = None,
        block: str | int = "latest",
    ) -> tuple[Any, ...]:
        """``eth_call`` any function (views, or a dry run of a write); raises ChainRevert."""
        address = contract if isinstance(contract, str) else contract.address
        abi = self._abi_of(address)
        method, params = self._eth_call_params(
            address, abi.encode_call(function, *args), sender=sender, block=block
        )
        try:
            raw = self.rpc.request(method, params)
        except RpcError as err:
            revert = err.revert_data
            if revert is None:
                raise
            raise ChainRevert(decode_revert_reason(revert)) from err
        return abi.decode_output(function, raw)

    def decode_events(self, receipt: dict[str, Any]) -> list[DecodedEvent]:
        """Decode every log of a raw receipt emitted by a contract this devnet deployed."""
        return self._tx_result(receipt).events

    # -- tokens --------------------------------------------------------------------------------
    def balance_of(self, token: Contract, account: str) -> int:
        return self.call(token, "balanceOf", account)[0]

    def mint_tokens(self, token: Contract, to: str, amount: int) -> TxResult:
        return self.transact(token, "mint", to, amount)

    # -- position manager ----------------------------------------------------------------------
    def _npm_change(self, tx: TxResult, event_name: str) -> tuple[int, int, int, int]:
        for event in tx.events:
            if event.name == event_name and event.address == self.npm.address:
                a = event.args
                return a["tokenId"], a["liquidity"], a["amount0"], a["amount1"]
        raise AssertionError(f"no {event_name} event in {tx.tx_hash}")

    def mint(
        self,
        fee: int,
        tick_lower: int,
        tick_upper: int,
        amount0_desired: int,
        amount1_desired: int,
        *,
        amount0_min: int = 0,
        amount1_min: int = 0,
        sender: str | None = None,
        recipient: str | None = None,
    ) -> MintResult:
        """``NonfungiblePositionManager.mint``: a new position NFT (the pool's owner is the NPM)."""
        sender = sender or self.deployer
        params = (
            self.token0.address, self.token1.address, fee, tick_lower, tick_upper,
            amount0_desired, amount1_desired, amount0_min, amount1_min, recipient or sender,
            FAR_DEADLINE,
        )  # fmt: skip
        tx = self.transact(self.npm, "mint", params, sender=sender)
        token_id, liquidity, amount0, amount1 = self._npm_change(tx, "IncreaseLiquidity")
        return MintResult(token_id, liquidity, amount0, amount1, tx)

    def increase_liquidity(
        self,
        token_id: int,
        amount0_desired: int,
        amount1_desired: int,
        *,
        amount0_min: int = 0,
        amount1_min: int = 0,
        sender: str | None = None,
    ) -> LiquidityResult:
        params = (token_id, amount0_desired, amount1_desired, amount0_min, amount1_min, FAR_DEADLINE)
        tx = self.transact(self.npm, "increaseLiquidity", params, sender=sender)
        _, liquidity, amount0, amount1 = self._npm_change(tx, "IncreaseLiquidity")
        return LiquidityResult(liquidity, amount0, amount1, tx)

    def decrease_liquidity(
        self,
        token_id: int,
        liquidity: int,
        *,
        amount0_min: int = 0,
        amount1_min: int = 0,
        sender: str | None = None,
    ) -> LiquidityResult:
        """Burn ``liquidity`` from the position; the amounts become owed (collect them after)."""
        params = (token_id, liquidity, amount0_min, amount1_min, FAR_DEADLINE)
        tx = self.transact(self.npm, "decreaseLiquidity", params, sender=sender)
        _, removed, amount0, amount1 = self._npm_change(tx, "DecreaseLiquidity")
        return LiquidityResult(removed, amount0, amount1, tx)

    def collect(
        self,
        token_id: int,
        amount0_max: int = UINT128_MAX,
        amount1_max: int = UINT128_MAX,
        *,
        recipient: str | None = None,
        sender: str | None = None,
    ) -> CollectResult:
        """``NonfungiblePositionManager.collect``: fees and burned amounts, up to the maxima."""
        sender = sender or self.deployer
        params = (token_id, recipient or sender, amount0_max, amount1_max)
        tx = self.transact(self.npm, "collect", params, sender=sender)
        pools = {p.address for p in self.pools.values()}
        paid = [e.args for e in tx.events if e.name == "Collect" and e.address in pools]
        asked = [e.args for e in tx.events if e.name == "Collect" and e.address == self.npm.address]
        if len(paid) != 1 or len(asked) != 1:
            raise AssertionError(f"expected one pool and one NPM Collect event in {tx.tx_hash}")
        return CollectResult(
            paid[0]["amount0"], paid[0]["amount1"], asked[0]["amount0"], asked[0]["amount1"], tx
        )

    def npm_position(self, token_id: int) -> NpmPosition:
        return _tuple(NpmPosition, self.call(self.npm, "positions", token_id))

    # -- swaps ---------------------------------------------------------------------------------
    def _swap_result(self, tx: TxResult, fee: int) -> SwapResult:
        pool = self.pools[fee].address
        for event in tx.events:
            if event.name == "Swap" and event.address == pool:
                a = event.args
                return SwapResult(
                    a["amount0"], a["amount1"], a["sqrtPriceX96"], a["liquidity"], a["tick"], tx
                )
        raise AssertionError(f"no Swap event of pool {pool} in {tx.tx_hash}")

    def _tokens_for(self, zero_for_one: bool) -> tuple[str, str]:
        if zero_for_one:
            return self.token0.address, self.token1.address
        return self.token1.address, self.token0.address

    def swap_exact_input_single(
        self,
        fee: int,
        zero_for_one: bool,
        amount_in: int,
        *,
        sqrt_price_limit_x96: int = 0,
        amount_out_minimum: int = 0,
        sender: str | None = None,
        recipient: str | None = None,
    ) -> SwapResult:
        """``SwapRouter.exactInputSingle``. With a price limit the pool may stop early and take
        less than ``amount_in``; ``0`` means no limit (the router uses MIN+1 / MAX-1)."""
        sender = sender or self.deployer
        token_in, token_out = self._tokens_for(zero_for_one)
        params = (
            token_in, token_out, fee, recipient or sender, FAR_DEADLINE, amount_in,
            amount_out_minimum, sqrt_price_limit_x96,
        )  # fmt: skip
        return self._swap_result(self.transact(self.router, "exactInputSingle", params, sender=sender), fee)

    def swap_exact_output_single(
        self,
        fee: int,
        zero_for_one: bool,
        amount_out: int,
        *,
        sqrt_price_limit_x96: int = 0,
        amount_in_maximum: int = UINT256_MAX,
        sender: str | None = None,
        recipient: str | None = None,
    ) -> SwapResult:
        """``SwapRouter.exactOutputSingle``. Without a price limit the router requires the full
        ``amount_out`` (bare revert otherwise); with one, the pool may stop early."""
        sender = sender or self.deployer
        token_in, token_out = self._tokens_for(zero_for_one)
        params = (
            token_in, token_out, fee, recipient or sender, FAR_DEADLINE, amount_out,
            amount_in_maximum, sqrt_price_limit_x96,
        )  # fmt: skip
        return self._swap_result(self.transact(self.router, "exactOutputSingle", params, sender=sender), fee)

    # -- pool state ----------------------------------------------------------------------------
    def slot0(self, fee: int) -> Slot0:
        return _tuple(Slot0, self.call(self.pools[fee].address, "slot0"))

    def liquidity(self, fee: int) -> int:
        return self.call(self.pools[fee].address, "liquidity")[0]

    def fee_growth_global(self, fee: int) -> tuple[int, int]:
        state = self.pool_state(fee)
        return state.fee_growth_global0_x128, state.fee_growth_global1_x128

    def tick_info(self, fee: int, tick: int) -> TickInfo:
        return _tuple(TickInfo, self.call(self.pools[fee].address, "ticks", tick))

    def position_info(self, fee: int, owner: str, tick_lower: int, tick_upper: int) -> PositionInfo:
        key = position_key(owner, tick_lower, tick_upper)
        return _tuple(PositionInfo, self.call(self.pools[fee].address, "positions", key))

    def tick_bitmap_word(self, fee: int, word_position: int) -> int:
        return self.call(self.pools[fee].address, "tickBitmap", word_position)[0]

    def pool_state(
        self,
        fee: int,
        *,
        ticks: Sequence[int] = (),
        positions: Sequence[tuple[str, int, int]] = (),
        bitmap_words: Sequence[int] = (),
    ) -> PoolState:
        """slot0, liquidity, fee growth, the pool's token balances, and the given ticks,
        positions ``(owner, tick_lower, tick_upper)`` and tick-bitmap words, in one batched
        request pinned to one block so that all values are consistent."""
        address = self.pools[fee].address
        abi = self._pool_abi
        block = self.rpc.request("eth_blockNumber", [])

        def pool_call(function: str, *args: Any) -> tuple[str, list[Any]]:
            return self._eth_call_params(address, abi.encode_call(function, *args), block=block)

        calls = [
            pool_call(name) for name in ("slot0", "liquidity", "feeGrowthGlobal0X128", "feeGrowthGlobal1X128")
        ]
        calls += [
            self._eth_call_params(
                token.address, self._erc20_abi.encode_call("balanceOf", address), block=block
            )
            for token in (self.token0, self.token1)
        ]
        calls += [pool_call("ticks", t) for t in ticks]
        calls += [pool_call("positions", position_key(*p)) for p in positions]
        calls += [pool_call("tickBitmap", w) for w in bitmap_words]
        raw = self.rpc.batch(calls)
        for item in raw:
            if isinstance(item, RpcError):
                raise item
        it = iter(raw)

        def take(function: str, contract_abi: ContractAbi = abi) -> tuple[Any, ...]:
            return contract_abi.decode_output(function, next(it))

        slot0 = _tuple(Slot0, take("slot0"))
        liquidity = take("liquidity")[0]
        growth0 = take("feeGrowthGlobal0X128")[0]
        growth1 = take("feeGrowthGlobal1X128")[0]
        balance0 = take("balanceOf", self._erc20_abi)[0]
        balance1 = take("balanceOf", self._erc20_abi)[0]
        return PoolState(
            slot0=slot0,
            liquidity=liquidity,
            fee_growth_global0_x128=growth0,
            fee_growth_global1_x128=growth1,
            balance0=balance0,
            balance1=balance1,
            ticks={t: _tuple(TickInfo, take("ticks")) for t in ticks},
            positions={p: _tuple(PositionInfo, take("positions")) for p in positions},
            tick_bitmap={w: take("tickBitmap")[0] for w in bitmap_words},
        )

    def pool_events(self, result: TxResult | dict[str, Any], fee: int | None = None) -> list[DecodedEvent]:
        """The pool ``Swap``/``Mint``/``Burn``/``Collect`` events of a transaction (of one pool if
        ``fee`` is given)."""
        tx = result if isinstance(result, TxResult) else self._tx_result(result)
        pools = {self.pools[fee].address} if fee is not None else {p.address for p in self.pools.values()}
        return [e for e in tx.events if e.address in pools]
