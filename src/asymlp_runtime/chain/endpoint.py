"""A JSON-RPC endpoint for any EVM node (http or https), with its credentials kept out of sight.

RPC URLs of hosted nodes carry credentials in three places: the userinfo
(``https://user:pass@host``), a path segment (``/v3/<api key>``, ``/v2/<api key>``) and query
parameters (``?apikey=...``). :func:`redact_rpc_url` replaces all three by ``[REDACTED]`` and
:class:`RpcEndpoint` only ever shows that form: in its ``repr``, in every error it raises, and
it registers the secret parts with the process-wide log redactor
(:func:`asymlp_runtime.ops.logging.get_redactor`), so a URL that slips into a log line anyway
is scrubbed there too.

:class:`RpcEndpoint` is the project's one JSON-RPC client: the local devnet
(:class:`~asymlp_runtime.chain.devnet.Devnet`, :class:`~asymlp_runtime.chain.anvil.AnvilNode`)
and the on-chain LP manager (:mod:`~asymlp_runtime.chain.lp`, ``tx``, ``reader``) both use it
(``asymlp_runtime.chain.rpc.JsonRpcClient`` is another name for it). Its interface is small:
``request`` (returns ``result`` or raises :class:`~asymlp_runtime.chain.rpc.RpcError`),
``batch`` (one round trip, results in request order, a failed item as an ``RpcError`` in the
list) and ``close``, over one kept-alive connection that is reopened once when the node dropped
it; userinfo becomes an HTTP Basic ``Authorization`` header. A transport failure (unreachable
node, HTTP status other than 200, a reply that is not JSON) raises :class:`RpcTransportError`,
an ``OSError``.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..ops.logging import REDACTED, get_redactor
from .rpc import RpcError

__all__ = ["RpcEndpoint", "RpcTransportError", "redact_rpc_url", "rpc_url_secrets"]

# A path segment that looks like an API key: 16+ characters of letters, digits, '-' or '_'
# containing at least one digit (``v3``, ``rpc``, ``mainnet`` stay readable).
_KEY_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{16,}$")


class RpcTransportError(OSError):
    """The node could not be reached or answered with a non-JSON-RPC reply (URL redacted)."""


def _split(url: str) -> tuple[str, str, str, list[str], list[tuple[str, str]]]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    userinfo = ""
    if parts.username is not None:
        userinfo = unquote(parts.username) + (":" + unquote(parts.password) if parts.password else "")
    segments = [s for s in parts.path.split("/")]
    query = parse_qsl(parts.query, keep_blank_values=True)
    return parts.scheme, host, userinfo, segments, query


def rpc_url_secrets(url: str) -> list[str]:
    """The credential parts of an RPC URL (userinfo, key-like path segments, query values)."""
    _, _, userinfo, segments, query = _split(url)
    secrets: list[str] = []
    if userinfo:
        secrets.append(userinfo)
        secrets.extend(p for p in userinfo.split(":", 1) if p)
    secrets.extend(s for s in segments if _KEY_SEGMENT.match(s))
    secrets.extend(value for _, value in query if value)
    return secrets


def redact_rpc_url(url: str) -> str:
    """``url`` with userinfo, key-like path segments and query values replaced by ``[REDACTED]``.

    >>> redact_rpc_url("https://u:p@eth.example/v3/0123456789abcdef0123?apikey=s3cr3t&x=1")
    'https://[REDACTED]@eth.example/v3/[REDACTED]?apikey=[REDACTED]&x=[REDACTED]'
    """
    scheme, host, userinfo, segments, query = _split(url)
    out = f"{scheme}://"
    if userinfo:
        out += REDACTED + "@"
    out += host
    out += "/".join(REDACTED if _KEY_SEGMENT.match(s) else s for s in segments)
    if query:
        out += "?" + "&".join(f"{k}={REDACTED}" for k, _ in query)
    return out


class RpcEndpoint:
    """Blocking JSON-RPC 2.0 client for one node URL (http/https, keep-alive, one connection).

    Parameters
    ----------
    url : str
        The node URL, credentials included; it is never shown unredacted.
    timeout_s : float
        Socket timeout per request.

    Attributes
    ----------
    display_url : str
        The redacted URL (safe for logs).
    """

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"RPC URL must be http(s): {redact_rpc_url(url)}")
        self.display_url = redact_rpc_url(url)
        redactor = get_redactor()
        for secret in rpc_url_secrets(url):
            redactor.add_secret(secret)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json"}
        if parts.username is not None:
            raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        self._timeout_s = timeout_s
        self._ids = count(1)
        self._connection: http.client.HTTPConnection | None = None

    def __repr__(self) -> str:
        return f"RpcEndpoint({self.display_url!r})"

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout_s, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)

    def _post(self, payload: bytes) -> Any:
        for attempt in (0, 1):
            if self._connection is None:
                self._connection = self._connect()
            try:
                self._connection.request("POST", self._target, payload, self._headers)
                response = self._connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as err:
                self.close()
                if attempt:
                    # The original error text may carry the host or path: say only what failed.
                    raise RpcTransportError(
                        f"RPC transport error ({type(err).__name__}) talking to {self.display_url}"
                    ) from None
                continue
            if response.status != 200:
                raise RpcTransportError(f"HTTP {response.status} from {self.display_url}")
            try:
                return json.loads(body)
            except ValueError:
                raise RpcTransportError(f"non-JSON reply from {self.display_url}") from None
        raise AssertionError("unreachable")

    def request(self, method: str, params: list[Any]) -> Any:
        """One call; returns ``result`` or raises :class:`~asymlp_runtime.chain.rpc.RpcError`."""
        reply = self._post(
            json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}).encode()
        )
        if "error" in reply:
            raise RpcError.from_reply(reply["error"])
        return reply["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one round trip; results in order, errors as :class:`RpcError` items."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        payload = json.dumps(
            [
                {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
                for i, (method, params) in zip(ids, calls, strict=True)
            ]
        ).encode()
        reply = self._post(payload)
        if isinstance(reply, dict):  # some nodes answer a batch with one error object
            raise RpcError.from_reply({"message": "batch refused", **reply.get("error", {})})
        replies = {r.get("id"): r for r in reply}
        results: list[Any] = []
        for i in ids:
            r = replies.get(i)
            if r is None:
                results.append(RpcError(-32603, "no reply for this batch item"))
            elif "error" in r:
                results.append(RpcError.from_reply(r["error"]))
            else:
                results.append(r["result"])
        return results

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
