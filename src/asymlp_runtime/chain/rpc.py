"""A minimal JSON-RPC client over one kept-alive HTTP connection, and revert-reason decoding.

The devnet hands callers web3.py objects (``Web3``, ``Contract``) for anything they need, but
its own traffic (deployments, sending a transaction and fetching its receipt, reading pool
state in one batch) goes through this client with eth_abi coders, which skips web3.py's
middleware and formatting: several times fewer milliseconds per
operation (measured in benchmarks/bench_devnet.py).
"""

from __future__ import annotations

import http.client
import json
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from eth_abi import decode as abi_decode

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256), solc >= 0.8 only


class RpcError(RuntimeError):
    """A JSON-RPC error object: ``code``, ``message`` and the optional ``data`` (revert bytes)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data

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


class JsonRpcClient:
    """Blocking JSON-RPC 2.0 over HTTP/1.1 keep-alive (one connection, reconnects on failure)."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._timeout_s = timeout_s
        self._ids = count(1)
        self._connection: http.client.HTTPConnection | None = None

    def _post(self, payload: bytes) -> Any:
        for attempt in (0, 1):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
            try:
                self._connection.request("POST", self._path, payload, {"Content-Type": "application/json"})
                response = self._connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
                continue
            if response.status != 200:
                raise RpcError(-32000, f"HTTP {response.status}: {body[:200]!r}")
            return json.loads(body)
        raise AssertionError("unreachable")

    def request(self, method: str, params: list[Any]) -> Any:
        """One call; returns ``result`` or raises :class:`RpcError`."""
        reply = self._post(
            json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}).encode()
        )
        if "error" in reply:
            error = reply["error"]
            raise RpcError(error.get("code", 0), error.get("message", ""), error.get("data"))
        return reply["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one round trip; results in order. Errors come back as
        :class:`RpcError` instances in the list (not raised), so one failure does not hide the rest."""
        if not calls:
            return []
        first = next(self._ids)
        ids = [first + i for i in range(len(calls))]
        for _ in range(len(calls) - 1):
            next(self._ids)
        payload = json.dumps(
            [
                {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
                for i, (method, params) in zip(ids, calls, strict=True)
            ]
        ).encode()
        replies = {reply["id"]: reply for reply in self._post(payload)}
        results: list[Any] = []
        for i in ids:
            reply = replies[i]
            if "error" in reply:
                error = reply["error"]
                results.append(RpcError(error.get("code", 0), error.get("message", ""), error.get("data")))
            else:
                results.append(reply["result"])
        return results

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
