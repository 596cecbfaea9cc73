"""The one JSON-RPC client (:class:`~asymlp_runtime.chain.endpoint.RpcEndpoint`, also reachable as
``asymlp_runtime.chain.rpc.JsonRpcClient``) against a small JSON-RPC server on 127.0.0.1.

The server is a real HTTP/1.1 keep-alive server (``http.server`` in a thread) that records what
it received (path with query, headers, which connection carried each request) and answers with
whatever the test asks for: results in another order than requested, error objects with revert
data, a dropped connection, an HTTP error status, a body that is not JSON, or TLS.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode

from asymlp_runtime.chain.endpoint import RpcEndpoint, RpcTransportError
from asymlp_runtime.chain.rpc import ERROR_SELECTOR, JsonRpcClient, RpcError, decode_revert_reason
from asymlp_runtime.ops.logging import get_redactor

API_KEY = "K3yInThePath0123456789"
PASSWORD = "Pa55wordInUserinfo"
REVERT_DATA = "0x" + (ERROR_SELECTOR + abi_encode(["string"], ["STF"])).hex()


def _answer(call: dict[str, Any]) -> dict[str, Any]:
    """``echo`` returns its params, ``revert`` fails with Error("STF") data, others are unknown."""
    if call["method"] == "echo":
        return {"jsonrpc": "2.0", "id": call["id"], "result": call["params"]}
    if call["method"] == "revert":
        error = {"code": 3, "message": "execution reverted: STF", "data": REVERT_DATA}
        return {"jsonrpc": "2.0", "id": call["id"], "error": error}
    return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32601, "message": "method not found"}}


class Server:
    """What the handler does next (``mode``) and what it saw (``seen``: target, headers, peer)."""

    def __init__(self) -> None:
        self.mode = "normal"
        self.seen: list[tuple[str, dict[str, str], tuple[str, int]]] = []
        self.url = ""

    def reply(self, body: Any) -> tuple[int, bytes, bool]:
        """(status, body, drop the connection afterwards) for one request body."""
        mode = self.mode
        if mode == "http_error":
            return 503, b"upstream unavailable", False
        if mode == "not_json":
            return 200, b"<html>rate limited</html>", False
        if mode == "batch_refused":
            return (
                200,
                json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "no"}}).encode(),
                False,
            )
        if isinstance(body, list):
            replies = [_answer(call) for call in reversed(body)]  # another order than asked
            if mode == "drop_one_batch_item":
                replies = replies[1:]  # the last call of the batch gets no reply
            return 200, json.dumps(replies).encode(), False
        return 200, json.dumps(_answer(body)).encode(), mode == "drop_after_reply"


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.seen.append((self.path, dict(self.headers), self.client_address))
            status, payload, drop = server.reply(body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()  # no "Connection: close": a drop is not announced
            self.wfile.write(payload)
            self.close_connection = drop

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def _serve(server: Server, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def node() -> Iterator[Server]:
    with _serve(Server()) as server:
        yield server


def _client(node: Server, factory: Callable[..., RpcEndpoint] = RpcEndpoint, **kwargs: Any) -> RpcEndpoint:
    return factory(node.url + f"/v3/{API_KEY}?apikey={API_KEY}", **kwargs)


@pytest.fixture
def rpc(node: Server) -> Iterator[RpcEndpoint]:
    client = _client(node, JsonRpcClient)  # the devnet's spelling of the same client
    yield client
    client.close()


def test_old_client_name_is_the_one_client() -> None:
    assert JsonRpcClient is RpcEndpoint


def test_batch_results_come_back_in_request_order_with_errors_in_place(node: Server, rpc: RpcEndpoint) -> None:
    calls = [("echo", [1]), ("revert", []), ("echo", ["two"]), ("nope", []), ("echo", [{"x": 3}])]
    results = rpc.batch(calls)
    assert results[0] == [1] and results[2] == ["two"] and results[4] == [{"x": 3}]
    assert isinstance(results[1], RpcError) and isinstance(results[3], RpcError)
    assert results[3].code == -32601 and results[3].revert_data is None
    assert results[1].code == 3 and decode_revert_reason(results[1].revert_data) == "STF"
    assert rpc.batch([]) == []
    assert len(node.seen) == 1  # one round trip for the five calls


def test_batch_item_without_reply_is_an_error_in_its_place(node: Server, rpc: RpcEndpoint) -> None:
    node.mode = "drop_one_batch_item"
    results = rpc.batch([("echo", [0]), ("echo", [1]), ("echo", [2])])
    assert results[0] == [0] and results[1] == [1]
    assert isinstance(results[2], RpcError) and results[2].code == -32603


def test_batch_refused_as_a_whole_raises(node: Server, rpc: RpcEndpoint) -> None:
    node.mode = "batch_refused"
    with pytest.raises(RpcError) as err:
        rpc.batch([("echo", [0]), ("echo", [1])])
    assert err.value.code == -32600 and err.value.message == "no"


def test_request_error_raises_with_revert_data(node: Server, rpc: RpcEndpoint) -> None:
    assert rpc.request("echo", ["0x1", True]) == ["0x1", True]
    with pytest.raises(RpcError) as err:
        rpc.request("revert", [])
    assert err.value.data == REVERT_DATA and decode_revert_reason(err.value.revert_data) == "STF"


def test_requests_share_one_connection_and_path_query_and_auth_are_sent(node: Server) -> None:
    host = node.url.removeprefix("http://")
    rpc = RpcEndpoint(f"http://user:{PASSWORD}@{host}/v3/{API_KEY}?apikey={API_KEY}")
    try:
        for i in range(5):
            assert rpc.request("echo", [i]) == [i]
        rpc.batch([("echo", [5]), ("echo", [6])])
    finally:
        rpc.close()
    assert len({peer for _, _, peer in node.seen}) == 1  # kept alive
    expected_auth = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    for target, headers, _ in node.seen:
        assert target == f"/v3/{API_KEY}?apikey={API_KEY}"
        assert headers["Authorization"] == expected_auth
        assert headers["Content-Type"] == "application/json"


def test_connection_dropped_by_the_node_is_reopened_once(node: Server, rpc: RpcEndpoint) -> None:
    node.mode = "drop_after_reply"
    for i in range(4):  # every reply is followed by the server closing the socket, unannounced
        assert rpc.request("echo", [i]) == [i]
    assert len({peer for _, _, peer in node.seen}) == 4


def test_transport_errors_name_the_redacted_url_only(node: Server, rpc: RpcEndpoint) -> None:
    for mode, text in (("http_error", "HTTP 503"), ("not_json", "non-JSON reply")):
        node.mode = mode
        with pytest.raises(RpcTransportError) as err:
            rpc.request("echo", [])
        assert text in str(err.value) and API_KEY not in str(err.value)
        assert "[REDACTED]" in str(err.value)


def test_unreachable_node_with_key_in_url_is_redacted_everywhere() -> None:
    rpc = JsonRpcClient(f"http://user:{PASSWORD}@127.0.0.1:1/v2/{API_KEY}?key={API_KEY}", timeout_s=2.0)
    with pytest.raises(RpcTransportError) as err:  # an OSError, as callers that retry expect
        rpc.request("eth_chainId", [])
    assert isinstance(err.value, OSError) and err.value.__cause__ is None
    shown = str(err.value) + repr(rpc) + rpc.display_url
    assert API_KEY not in shown and PASSWORD not in shown and "127.0.0.1:1" in shown
    scrubbed = get_redactor().redact(f"GET /v2/{API_KEY} as user:{PASSWORD}")
    assert API_KEY not in scrubbed and PASSWORD not in scrubbed


def test_non_http_url_is_refused_redacted() -> None:
    with pytest.raises(ValueError) as err:
        RpcEndpoint(f"ws://127.0.0.1:8545/v3/{API_KEY}")
    assert API_KEY not in str(err.value)


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509  # installed with ccxt (a dependency): the test never skips
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_verifies_the_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert_path, key_path = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_path, key_path)
    with _serve(Server(), tls) as server:
        untrusted = _client(server, timeout_s=5.0)
        with pytest.raises(RpcTransportError) as err:  # not in the default trust store
            untrusted.request("echo", [])
        assert "SSL" in str(err.value) and API_KEY not in str(err.value)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # trusted from here on
        trusted = _client(server, timeout_s=5.0)
        try:
            assert trusted.request("echo", [7]) == [7]
            assert trusted.batch([("echo", [8]), ("revert", [])])[0] == [8]
        finally:
            trusted.close()
