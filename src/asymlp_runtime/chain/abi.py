"""ABI encoding and log decoding for the devnet's fast path (eth_abi directly, no web3 formatting).

A :class:`ContractAbi` precomputes, per function, the 4-byte selector and the input/output type
strings, and per event the topic and the indexed/non-indexed split, so encoding a call and
decoding a receipt's logs cost microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import (
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    get_abi_input_types,
    get_abi_output_types,
    to_checksum_address,
)


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """One log decoded with its contract's ABI; ``args`` keyed by the ABI's parameter names."""

    name: str
    address: str  # checksummed emitter
    args: dict[str, Any]
    log_index: int


@dataclass(frozen=True, slots=True)
class _Function:
    selector: bytes
    input_types: list[str]
    output_types: list[str]


@dataclass(frozen=True, slots=True)
class _Event:
    name: str
    indexed: list[tuple[str, str]]  # (name, type)
    data_names: list[str]
    data_types: list[str]


class ContractAbi:
    """Encoder/decoder for one contract ABI (functions by name; overloads are not supported)."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.abi = abi
        self._functions: dict[str, _Function] = {}
        self._events: dict[bytes, _Event] = {}
        self._constructor_types: list[str] = []
        for entry in abi:
            kind = entry.get("type")
            if kind == "function":
                self._functions[entry["name"]] = _Function(
                    function_abi_to_4byte_selector(entry),
                    list(get_abi_input_types(entry)),
                    list(get_abi_output_types(entry)),
                )
            elif kind == "event" and not entry.get("anonymous"):
                inputs = entry["inputs"]
                self._events[event_abi_to_log_topic(entry)] = _Event(
                    entry["name"],
                    [(i["name"], i["type"]) for i in inputs if i["indexed"]],
                    [i["name"] for i in inputs if not i["indexed"]],
                    [i["type"] for i in inputs if not i["indexed"]],
                )
            elif kind == "constructor":
                self._constructor_types = list(get_abi_input_types(entry))

    def encode_call(self, function: str, *args: Any) -> str:
        """Calldata (``0x`` hex) for ``function(*args)``; struct arguments are Python tuples."""
        fn = self._functions[function]
        return "0x" + (fn.selector + abi_encode(fn.input_types, args)).hex()

    def encode_constructor(self, bytecode: str, *args: Any) -> str:
        """Creation code: bytecode followed by the ABI-encoded constructor arguments."""
        return bytecode + abi_encode(self._constructor_types, args).hex()

    def decode_output(self, function: str, data: str | bytes) -> tuple[Any, ...]:
        """Return values of ``function`` from the hex (or raw) result of ``eth_call``."""
        raw = bytes.fromhex(data[2:]) if isinstance(data, str) else data
        return tuple(abi_decode(self._functions[function].output_types, raw))

    def decode_log(self, log: dict[str, Any]) -> DecodedEvent | None:
        """Decode a raw JSON-RPC log (hex strings); ``None`` if not one of this ABI's events."""
        topics = log["topics"]
        if not topics:
            return None
        event = self._events.get(bytes.fromhex(topics[0][2:]))
        if event is None or len(topics) != len(event.indexed) + 1:
            return None
        args: dict[str, Any] = {}
        for (name, typ), topic in zip(event.indexed, topics[1:], strict=True):
            (args[name],) = abi_decode([typ], bytes.fromhex(topic[2:]))
        values = abi_decode(event.data_types, bytes.fromhex(log["data"][2:]))
        args.update(zip(event.data_names, values, strict=True))
        return DecodedEvent(event.name, to_checksum_address(log["address"]), args, int(log["logIndex"], 16))
