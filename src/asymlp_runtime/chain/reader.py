"""Reading a Uniswap V3 pool and a position through any RPC, pinned to one block, batched.

:meth:`PoolReader.snapshot` reads, in one JSON-RPC batch pinned to one block number (after a
header read that fixes the block): ``slot0``, ``liquidity``, both fee-growth globals, the ticks
asked for (typically the position's bounds), the tick-bitmap words around the price,
``observe([twap_window, 0])`` (the TWAP tick, or the revert reason such as ``'OLD'`` when the
pool's observations do not reach back that far), the wallet's token balances and, for a position
NFT: ``NonfungiblePositionManager.positions(tokenId)``, the pool's ``positions(key)`` and the
**exact fees owed** by an ``eth_call`` of ``collect(tokenId, wallet, 2**128-1, 2**128-1)`` from
the owner (the call pokes the pool first, so it includes fees the stored ``tokensOwed`` does not
show yet). :meth:`PoolReader.initialized_ticks` follows up with the ticks the bitmap words mark.

:meth:`PoolReader.logs` reads the pool's ``Swap``/``Mint``/``Burn``/``Collect`` logs over a
block range in chunks, halving a chunk when the node refuses it as too large.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import event_abi_to_log_topic, to_checksum_address

from .abi import ContractAbi, DecodedEvent
from .artifacts import find_node_modules, load_artifact
from .devnet import NpmPosition, PositionInfo, TickInfo, position_key
from .rpc import RpcError, decode_revert_reason

__all__ = [
    "ERC20_ABI",
    "Abis",
    "PoolImmutables",
    "PoolReader",
    "PoolSnapshot",
    "PositionReading",
    "load_abis",
    "twap_tick_from_cumulatives",
]

UINT128_MAX = 2**128 - 1

ERC20_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "allowance", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}, {"name": "spender", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "approve", "stateMutability": "nonpayable",
     "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
    {"type": "function", "name": "symbol", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "string"}]},
    {"type": "event", "name": "Transfer", "anonymous": False, "inputs": [
        {"name": "from", "type": "address", "indexed": True},
        {"name": "to", "type": "address", "indexed": True},
        {"name": "value", "type": "uint256", "indexed": False}]},
]  # fmt: skip


@dataclass(frozen=True)
class Abis:
    """Encoders/decoders of the contracts the LP manager talks to."""

    pool: ContractAbi
    npm: ContractAbi
    router: ContractAbi
    quoter: ContractAbi
    erc20: ContractAbi


@functools.lru_cache(maxsize=4)
def load_abis(node_modules: Path | None = None) -> Abis:
    """ABIs from the pinned npm artifacts (v3-core 1.0.1, v3-periphery 1.4.4)."""
    nm = node_modules or find_node_modules()
    return Abis(
        pool=ContractAbi(load_artifact(nm, "UniswapV3Pool").abi),
        npm=ContractAbi(load_artifact(nm, "NonfungiblePositionManager").abi),
        router=ContractAbi(load_artifact(nm, "SwapRouter").abi),
        quoter=ContractAbi(load_artifact(nm, "QuoterV2").abi),
        erc20=ContractAbi(ERC20_ABI),
    )


def twap_tick_from_cumulatives(tick_cumulative_ago: int, tick_cumulative_now: int, window_s: int) -> int:
    """Arithmetic-mean tick over the window, rounded towards negative infinity (as the
    periphery's ``OracleLibrary.consult``)."""
    delta = tick_cumulative_now - tick_cumulative_ago
    tick = (
        int(delta / window_s) if abs(delta) < 2**52 else (abs(delta) // window_s) * (1 if delta >= 0 else -1)
    )
    if delta < 0 and delta % window_s != 0:
        tick -= 1
    return tick


@dataclass(frozen=True, slots=True)
class PoolImmutables:
    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int


@dataclass(frozen=True, slots=True)
class PositionReading:
    """One position NFT at the snapshot's block.

    ``fees0/1``: what ``collect`` would pay now (the static call; includes ``tokens_owed``).
    For a burned or unknown token id, ``exists`` is False and the numbers are 0.
    """

    token_id: int
    exists: bool
    npm: NpmPosition | None
    pool_position: PositionInfo | None
    fees0: int
    fees1: int


@dataclass(frozen=True, slots=True)
class PoolSnapshot:
    """A consistent read of the pool (and optionally one position) at ``block_number``."""

    block_number: int
    block_timestamp: int
    block_hash: str
    base_fee: int
    sqrt_price_x96: int
    tick: int
    observation_index: int
    observation_cardinality: int
    observation_cardinality_next: int
    liquidity: int
    fee_growth_global0_x128: int
    fee_growth_global1_x128: int
    ticks: dict[int, TickInfo] = field(default_factory=dict)
    tick_bitmap: dict[int, int] = field(default_factory=dict)
    twap_tick: int | None = None
    twap_error: str = ""  # the revert reason of observe() when twap_tick is None ('OLD', ...)
    balance0: int = 0  # the wallet's token balances
    balance1: int = 0
    position: PositionReading | None = None


class PoolReader:
    """Batched, block-pinned reads of one pool for one wallet.

    Parameters
    ----------
    rpc : RpcEndpoint or JsonRpcClient
    pool : str
        Pool address.
    npm : str
        NonfungiblePositionManager address.
    wallet : str
        The position owner (``from`` of the static ``collect`` call; whose balances are read).
    abis : Abis, optional
    """

    def __init__(self, rpc: Any, pool: str, npm: str, wallet: str, abis: Abis | None = None) -> None:
        self.rpc = rpc
        self.abis = abis or load_abis()
        self.wallet = to_checksum_address(wallet)
        self.npm = to_checksum_address(npm)
        pool = to_checksum_address(pool)
        a = self.abis.pool
        raw = self._batch_checked(
            [
                self._call(pool, a.encode_call(name), "latest")
                for name in ("token0", "token1", "fee", "tickSpacing")
            ]
        )
        token0 = to_checksum_address(a.decode_output("token0", raw[0])[0])
        token1 = to_checksum_address(a.decode_output("token1", raw[1])[0])
        self.pool = PoolImmutables(
            pool, token0, token1, a.decode_output("fee", raw[2])[0], a.decode_output("tickSpacing", raw[3])[0]
        )
        self._log_topics = [
            "0x" + event_abi_to_log_topic(e).hex()
            for e in self.abis.pool.abi
            if e.get("type") == "event" and e["name"] in ("Swap", "Mint", "Burn", "Collect")
        ]

    # -- helpers -------------------------------------------------------------------------------
    def _call(self, to: str, data: str, block: str, sender: str | None = None) -> tuple[str, list[Any]]:
        tx: dict[str, Any] = {"to": to, "data": data}
        if sender:
            tx["from"] = sender
        return ("eth_call", [tx, block])

    def _batch_checked(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        out = self.rpc.batch(calls)
        for item in out:
            if isinstance(item, RpcError):
                raise item
        return out

    def word_positions_around(self, tick: int, words: int) -> list[int]:
        """Bitmap word positions within ``words`` of the word holding ``tick``."""
        compressed = tick // self.pool.tick_spacing
        centre = compressed >> 8
        return list(range(centre - words, centre + words + 1))

    # -- snapshot ------------------------------------------------------------------------------
    def snapshot(
        self,
        *,
        block: int | None = None,
        ticks: Sequence[int] = (),
        bitmap_words_around: int = 0,
        twap_window_s: int = 0,
        token_id: int | None = None,
        tick_range: tuple[int, int] | None = None,
        balances: bool = True,
    ) -> PoolSnapshot:
        """Read the pool at ``block`` (latest by default) in one batch.

        ``token_id`` adds the position (NPM, pool and static ``collect``); give its
        ``tick_range`` when known, else one extra round trip reads it from the NPM first. The
        position's bounds are added to ``ticks``. ``bitmap_words_around`` > 0 reads that many
        bitmap words on each side of the current tick's word (one extra ``slot0`` call at the
        same block to find the word). Round trips: the header, then one batch (plus the extra
        reads just named).
        """
        header = self.rpc.request(
            "eth_getBlockByNumber", [hex(block) if block is not None else "latest", False]
        )
        number = int(header["number"], 16)
        tag = hex(number)
        pool, a, npm_abi, erc = self.pool.address, self.abis.pool, self.abis.npm, self.abis.erc20
        if token_id is not None and tick_range is None:
            raw = self.rpc.request(
                "eth_call", [{"to": self.npm, "data": npm_abi.encode_call("positions", token_id)}, tag]
            )
            npm_pos = NpmPosition(*npm_abi.decode_output("positions", raw))
            tick_range = (npm_pos.tick_lower, npm_pos.tick_upper)
        tick_list = list(dict.fromkeys([*ticks, *(tick_range or ())]))
        words: list[int] = []
        if bitmap_words_around:
            raw = self.rpc.request("eth_call", [{"to": pool, "data": a.encode_call("slot0")}, tag])
            words = self.word_positions_around(a.decode_output("slot0", raw)[1], bitmap_words_around)
        calls = [self._call(pool, a.encode_call(n), tag) for n in
                 ("slot0", "liquidity", "feeGrowthGlobal0X128", "feeGrowthGlobal1X128")]  # fmt: skip
        calls += [self._call(pool, a.encode_call("ticks", t), tag) for t in tick_list]
        calls += [self._call(pool, a.encode_call("tickBitmap", w), tag) for w in words]
        if twap_window_s:
            calls.append(self._call(pool, a.encode_call("observe", [twap_window_s, 0]), tag))
        if balances:
            calls += [self._call(t, erc.encode_call("balanceOf", self.wallet), tag)
                      for t in (self.pool.token0, self.pool.token1)]  # fmt: skip
        if token_id is not None:
            assert tick_range is not None
            calls.append(self._call(self.npm, npm_abi.encode_call("positions", token_id), tag))
            calls.append(
                self._call(pool, a.encode_call("positions", position_key(self.npm, *tick_range)), tag)
            )
            calls.append(
                self._call(
                    self.npm,
                    npm_abi.encode_call("collect", (token_id, self.wallet, UINT128_MAX, UINT128_MAX)),
                    tag,
                    sender=self.wallet,
                )
            )
        raw = self.rpc.batch(calls)
        it = iter(raw)

        def take(abi: ContractAbi, fn: str) -> tuple[Any, ...]:
            item = next(it)
            if isinstance(item, RpcError):
                raise item
            return abi.decode_output(fn, item)

        slot0 = take(a, "slot0")
        liquidity = take(a, "liquidity")[0]
        g0 = take(a, "feeGrowthGlobal0X128")[0]
        g1 = take(a, "feeGrowthGlobal1X128")[0]
        tick_infos = {t: TickInfo(*take(a, "ticks")) for t in tick_list}
        bitmap = {w: take(a, "tickBitmap")[0] for w in words}
        twap_tick, twap_error = None, ""
        if twap_window_s:
            item = next(it)
            if isinstance(item, RpcError):
                data = item.revert_data
                if data is None:
                    raise item
                twap_error = decode_revert_reason(data) or "observe reverted"
            else:
                cumulatives = a.decode_output("observe", item)[0]
                twap_tick = twap_tick_from_cumulatives(cumulatives[0], cumulatives[1], twap_window_s)
        balance0 = balance1 = 0
        if balances:
            balance0 = take(erc, "balanceOf")[0]
            balance1 = take(erc, "balanceOf")[0]
        position = None
        if token_id is not None:
            npm_item, pool_item, collect_item = next(it), next(it), next(it)
            if isinstance(npm_item, RpcError):  # 'Invalid token ID': burned or never minted
                position = PositionReading(token_id, False, None, None, 0, 0)
            else:
                npm_pos = NpmPosition(*npm_abi.decode_output("positions", npm_item))
                if isinstance(pool_item, RpcError):
                    raise pool_item
                pool_pos = PositionInfo(*a.decode_output("positions", pool_item))
                if isinstance(collect_item, RpcError):
                    fees0 = fees1 = 0  # not authorised (not our token) or nothing to collect
                else:
                    fees0, fees1 = npm_abi.decode_output("collect", collect_item)
                position = PositionReading(token_id, True, npm_pos, pool_pos, fees0, fees1)
        return PoolSnapshot(
            block_number=number,
            block_timestamp=int(header["timestamp"], 16),
            block_hash=header["hash"],
            base_fee=int(header.get("baseFeePerGas") or "0x0", 16),
            sqrt_price_x96=slot0[0],
            tick=slot0[1],
            observation_index=slot0[2],
            observation_cardinality=slot0[3],
            observation_cardinality_next=slot0[4],
            liquidity=liquidity,
            fee_growth_global0_x128=g0,
            fee_growth_global1_x128=g1,
            ticks=tick_infos,
            tick_bitmap=bitmap,
            twap_tick=twap_tick,
            twap_error=twap_error,
            balance0=balance0,
            balance1=balance1,
            position=position,
        )

    def spot_and_twap(self, twap_window_s: int) -> tuple[int, int | None, str]:
        """``(spot tick, TWAP tick or None, observe's revert reason)`` at the latest block, one batch."""
        a, pool = self.abis.pool, self.pool.address
        slot0_raw, observe_raw = self.rpc.batch(
            [self._call(pool, a.encode_call("slot0"), "latest"),
             self._call(pool, a.encode_call("observe", [twap_window_s, 0]), "latest")]
        )  # fmt: skip
        if isinstance(slot0_raw, RpcError):
            raise slot0_raw
        tick = a.decode_output("slot0", slot0_raw)[1]
        if isinstance(observe_raw, RpcError):
            data = observe_raw.revert_data
            if data is None:
                raise observe_raw
            return tick, None, decode_revert_reason(data) or "observe reverted"
        cumulatives = a.decode_output("observe", observe_raw)[0]
        return tick, twap_tick_from_cumulatives(cumulatives[0], cumulatives[1], twap_window_s), ""

    def initialized_ticks(self, snapshot: PoolSnapshot) -> dict[int, TickInfo]:
        """The initialized ticks marked in ``snapshot.tick_bitmap``, read at the same block."""
        spacing = self.pool.tick_spacing
        ticks = [
            ((word << 8) + bit) * spacing
            for word, bits in snapshot.tick_bitmap.items()
            for bit in range(256)
            if bits >> bit & 1
        ]
        if not ticks:
            return {}
        a = self.abis.pool
        raw = self._batch_checked(
            [
                self._call(self.pool.address, a.encode_call("ticks", t), hex(snapshot.block_number))
                for t in ticks
            ]
        )
        return {t: TickInfo(*a.decode_output("ticks", r)) for t, r in zip(ticks, raw, strict=True)}

    def owned_positions(self, owner: str | None = None) -> list[tuple[int, NpmPosition]]:
        """``(token id, NPM position)`` of every position NFT ``owner`` holds in this pool."""
        owner = to_checksum_address(owner or self.wallet)
        npm = self.abis.npm
        count = npm.decode_output("balanceOf", self.rpc.request(
            "eth_call", [{"to": self.npm, "data": npm.encode_call("balanceOf", owner)}, "latest"]))[0]  # fmt: skip
        if not count:
            return []
        ids_raw = self._batch_checked(
            [
                self._call(self.npm, npm.encode_call("tokenOfOwnerByIndex", owner, i), "latest")
                for i in range(count)
            ]
        )
        ids = [npm.decode_output("tokenOfOwnerByIndex", r)[0] for r in ids_raw]
        pos_raw = self._batch_checked(
            [self._call(self.npm, npm.encode_call("positions", i), "latest") for i in ids]
        )
        out: list[tuple[int, NpmPosition]] = []
        for token_id, raw in zip(ids, pos_raw, strict=True):
            pos = NpmPosition(*npm.decode_output("positions", raw))
            if (
                pos.token0.lower() == self.pool.token0.lower()
                and pos.token1.lower() == self.pool.token1.lower()
                and pos.fee == self.pool.fee
            ):
                out.append((token_id, pos))
        return out

    # -- logs ----------------------------------------------------------------------------------
    def logs(self, from_block: int, to_block: int, *, chunk: int = 2_000) -> Iterator[DecodedEvent]:
        """The pool's Swap/Mint/Burn/Collect events in ``[from_block, to_block]``, in order,
        read ``chunk`` blocks at a time (a chunk the node refuses is halved and retried)."""
        start = from_block
        size = max(1, chunk)
        while start <= to_block:
            end = min(start + size - 1, to_block)
            try:
                raw = self.rpc.request(
                    "eth_getLogs",
                    [{"address": self.pool.address, "fromBlock": hex(start), "toBlock": hex(end),
                      "topics": [self._log_topics]}],
                )  # fmt: skip
            except RpcError:
                if size == 1:
                    raise
                size = max(1, size // 2)
                continue
            for entry in raw:
                event = self.abis.pool.decode_log(entry)
                if event is not None:
                    yield event
            start = end + 1
