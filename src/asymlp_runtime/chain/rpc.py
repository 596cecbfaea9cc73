"""JSON-RPC errors and revert-reason decoding, shared by every user of the chain's RPC client.

The client itself is :class:`~asymlp_runtime.chain.endpoint.RpcEndpoint`: one blocking JSON-RPC
2.0 client over one kept-alive connection, for the local devnet and any other node alike.
``JsonRpcClient`` is kept here as another name for it.

The devnet hands callers web3.py objects (``Web3``, ``Contract``) for anything they need, but
its own traffic (deployments, sending a transaction and fetching its receipt, reading pool
state in one batch) goes through that client with eth_abi coders, which skips web3.py's
middleware and formatting: several times fewer milliseconds per operation (measured in
benchmarks/bench_devnet.py). The on-chain LP manager reads and sends through it the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_abi import decode as abi_decode

if TYPE_CHECKING:
    from .endpoint import RpcEndpoint as JsonRpcClient

__all__ = ["ERROR_SELECTOR", "PANIC_SELECTOR", "JsonRpcClient", "RpcError", "decode_revert_reason"]

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256), solc >= 0.8 only


class RpcError(RuntimeError):
    """A JSON-RPC error object: ``code``, ``message`` and the optional ``data`` (revert bytes)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data

    @classmethod
    def from_reply(cls, error: dict[str, Any]) -> RpcError:
        """The exception for a reply's ``error`` object (``code``, ``message``, ``data``)."""
        return cls(error.get("code", 0), error.get("message", ""), error.get("data"))

    @property
    def revert_data(self) -> bytes | None:
        """The raw revert bytes when the error is an EVM revert, else ``None``."""
        data = self.data
        if isinstance(data, dict):  # some nodes nest it
            data = data.get("data")
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if "revert" in self.message:
            return b""
        return None


def decode_revert_reason(data: bytes) -> str:
    """The reason string of a revert: ``Error(string)``'s text, ``''`` for a bare revert.

    ``Panic(uint256)`` becomes ``'Panic(0x..)'``; other custom errors their hex selector.
    """
    if not data:
        return ""
    if data[:4] == ERROR_SELECTOR:
        (reason,) = abi_decode(["string"], data[4:])
        return reason
    if data[:4] == PANIC_SELECTOR:
        (code,) = abi_decode(["uint256"], data[4:])
        return f"Panic({code:#x})"
    return "0x" + data.hex()


def __getattr__(name: str) -> Any:
    # ``JsonRpcClient`` is the former name of the one client, RpcEndpoint. Resolved on first use:
    # endpoint.py imports RpcError from this module, so importing it here eagerly would be circular.
    if name == "JsonRpcClient":
        from .endpoint import RpcEndpoint

        return RpcEndpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
