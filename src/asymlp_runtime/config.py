"""Per-process configuration files (TOML) decoded into frozen msgspec Structs.

Every process is started with one file (``config/<process>.toml``). Loading is::

    read file -> parse TOML -> interpolate ${ENV_VAR} / ${ENV_VAR:-default} in string values
              -> msgspec.convert into ProcessConfig (frozen, kw_only, forbid_unknown_fields)
              -> cross-field checks (loopback binds, distinct ports)

Any failure raises :class:`ConfigError` naming the file, the key path (``HTTP_API.timeout_s``)
and what was expected (``float > 0``), before the process starts doing anything.

Interpolation runs on the parsed string values (not on the raw text), so a value from the
environment can never change the TOML structure. A whole-string reference to a number or a
boolean (``metrics_port = "${METRICS_PORT:-0}"``) is converted to the field's type. A missing
variable without a default is an error naming the variable.

Secrets (API keys, private keys) are :class:`Secret` fields and must come from the environment:
the value has to be exactly ``"${VAR}"`` or ``"${VAR:-}"`` (an empty value means "no key", so
the process runs against the paper venue). A literal secret in a file is rejected. ``Secret``
never shows its value in ``repr``/``str``; :func:`asymlp_runtime.ops.logging.configure_logging`
registers every secret of the config with the log redaction filter.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

import msgspec
import msgspec.inspect as mi

__all__ = [
    "ConfigError",
    "Secret",
    "GlobalConfig",
    "SubscriberConfig",
    "ClientConfig",
    "HttpApiConfig",
    "WebsocketConfig",
    "MarketDataConfig",
    "TraderConfig",
    "LpModelConfig",
    "LpStrategyConfig",
    "LpSimConfig",
    "LpConfig",
    "SupervisorConfig",
    "ProcessConfig",
    "load_config",
    "load_config_text",
    "iter_secrets",
    "interpolate_env",
]


class ConfigError(ValueError):
    """A configuration file cannot be used.

    Attributes
    ----------
    file : str
        Path of the file.
    key_path : str
        Dotted path of the offending key (``HTTP_API.timeout_s``); ``""`` for file-level errors.
    expected : str
        What the key should hold (``float > 0``), or what was wrong at file level.
    detail : str
        The underlying message (from msgspec or the TOML parser); never contains a secret.
    """

    def __init__(self, file: str, key_path: str, expected: str, detail: str = "") -> None:
        self.file = file
        self.key_path = key_path
        self.expected = expected
        self.detail = detail
        where = f"{file}: {key_path}" if key_path else file
        text = f"{where}: expected {expected}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)


class Secret:
    """A secret string (API key, private key) whose ``repr``/``str`` never show the value.

    Use :meth:`reveal` only where the value is handed to a client library. An empty secret is
    falsy (no credentials configured).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        """The secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __format__(self, spec: str) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> Any:  # pickling would write the value out; refuse
        raise TypeError("Secret cannot be pickled")


class _FromEnv(str):
    """A string value that came from the environment (allowed for Secret fields)."""

    __slots__ = ()


# --------------------------------------------------------------------------- field types
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
_ENDPOINT_PATTERN: Final = r"^(tcp://[^\s/:]+:([0-9]+|\*)|ipc://\S+|inproc://\S+)$"
_PROCESS_NAME_PATTERN: Final = r"^[A-Za-z0-9_.-]+$"
_PATTERN_NAMES: Final = {
    _ENDPOINT_PATTERN: "an endpoint tcp://HOST:PORT, ipc://PATH or inproc://NAME",
    _PROCESS_NAME_PATTERN: "a name of letters, digits, '_', '.', '-'",
}
Endpoint = Annotated[str, msgspec.Meta(pattern=_ENDPOINT_PATTERN)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class GlobalConfig(_Section):
    """``[GLOBAL]``: identity and operations of the process.

    Attributes
    ----------
    process_name : str
        Process id (``quote_server_binance``): header ``sender``, log file name, metric label.
    log_level : str
        ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL``.
    log_dir : str
        Directory of ``<process_name>.log`` (JSON lines).
    log_stderr : bool
        Also write log lines to stderr.
    metrics_port : int
        Prometheus endpoint on 127.0.0.1; 0 disables it.
    heartbeat_interval_s : float
        Period of the process's ``Heartbeat``.
    journal_path : str or None
        SQLite journal of the process; ``None`` for processes without one.
    allow_remote_bind : bool
        Allow binding sockets on non-loopback addresses (off: everything stays on 127.0.0.1).
    """

    process_name: Annotated[str, msgspec.Meta(pattern=_PROCESS_NAME_PATTERN)]
    log_level: LogLevel = "INFO"
    log_dir: str = "logs"
    log_stderr: bool = False
    metrics_port: Port = 0
    heartbeat_interval_s: PositiveFloat = 1.0
    journal_path: str | None = None
    allow_remote_bind: bool = False


class SubscriberConfig(_Section):
    """One ``[SUBSCRIBERS.<name>]`` entry: a publisher to connect to and the topic prefixes."""

    endpoint: Endpoint
    topics: tuple[str, ...] = ("",)
    max_age_s: PositiveFloat | None = None
    max_exchange_age_s: PositiveFloat | None = None
    #: spin-then-block receive budget in microseconds (latency-critical streams; 0 = off)
    spin_us: Annotated[float, msgspec.Meta(ge=0.0, le=10_000.0)] = 0.0


class ClientConfig(_Section):
    """One ``[CLIENTS.<name>]`` entry: a request server to send acknowledged requests to."""

    endpoint: Endpoint
    timeout_s: PositiveFloat = 1.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=100)] = 2


class HttpApiConfig(_Section):
    """``[HTTP_API]``: the venue's REST API (ccxt).

    Without ``api_key`` (or with an empty one) the process uses the paper venue.
    """

    exchange_id: str
    api_key: Secret | None = None
    api_secret: Secret | None = None
    api_password: Secret | None = None
    base_url: str | None = None
    timeout_s: PositiveFloat = 10.0
    rate_limit_per_s: PositiveFloat = 10.0
    sandbox: bool = False

    @property
    def has_credentials(self) -> bool:
        """True when a non-empty API key and secret are configured."""
        return bool(self.api_key) and bool(self.api_secret)


class WebsocketConfig(_Section):
    """``[WEBSOCKET]``: the venue's streams (ccxt.pro)."""

    url: str | None = None
    ping_interval_s: PositiveFloat = 20.0
    reconnect_backoff_initial_s: PositiveFloat = 0.5
    reconnect_backoff_max_s: PositiveFloat = 30.0


class MarketDataConfig(_Section):
    """``[MARKET_DATA]``: what to stream and when it counts as stale."""

    symbols: tuple[str, ...]
    depth: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    stale_after_s: PositiveFloat = 5.0


class TraderConfig(_Section):
    """``[TRADER]``: hedging and risk limits (quantities in base units, losses in quote currency).

    Attributes
    ----------
    hedge_venue, hedge_symbol : str
        Where the residual is hedged (``binance``, ``ETH/USDT:USDT``).
    hedge_band : float
        No hedge order while ``|residual| <= hedge_band``.
    max_position : float
        Kill switch when ``|hedge position|`` would exceed it.
    max_loss : float
        Kill switch when PnL < ``-max_loss``.
    stale_quote_age_s : float
        Kill switch (no new orders) when the reference quote is older.
    """

    hedge_venue: str
    hedge_symbol: str
    hedge_band: NonNegativeFloat
    max_position: PositiveFloat
    max_loss: PositiveFloat
    stale_quote_age_s: PositiveFloat = 2.0
    min_order_qty: NonNegativeFloat = 0.0


class LpModelConfig(_Section):
    """``[LP.model]``: parameters of the range model (``None`` = calibrated online).

    ``gamma`` is the risk aversion, ``sigma`` the volatility per square root of second in
    price units, ``a``/``k`` the fill intensity ``A exp(-k delta)``, ``horizon_s`` the horizon
    (``None`` = infinite-horizon form), ``q_max`` the inventory bound (token0 units).
    """

    kind: Literal["avellaneda_stoikov", "glft"] = "avellaneda_stoikov"
    gamma: PositiveFloat = 0.1
    sigma: PositiveFloat | None = None
    a: PositiveFloat | None = None
    k: PositiveFloat | None = None
    horizon_s: PositiveFloat | None = None
    q_max: PositiveFloat | None = None


class LpStrategyConfig(_Section):
    """``[LP.strategy]``: range, rebalance and volatility settings of the LP decision.

    Times are in seconds. ``q_max`` is the inventory bound as a fraction of the position value
    (used when ``LP.model.q_max``, in token0 units, is not set); ``sigma0`` is the initial
    relative volatility per square root of second (used when ``LP.model.sigma`` is not set) and
    ``sigma_halflife_s`` the half-life of its EWMA over the reference price. The rebalance
    thresholds are those of :class:`asymlp_core.rebalance.enums.RebalanceParams`.
    """

    hedged: bool = True
    range_scale: PositiveFloat = 1.0
    skew: NonNegativeFloat = 0.5
    q_max: PositiveFloat = 0.5
    min_width_ticks: PositiveInt = 120
    max_width_ticks: PositiveInt = 20000
    band: Annotated[float, msgspec.Meta(ge=0, lt=0.5)] = 0.05
    band_rearm: Annotated[float, msgspec.Meta(gt=0, le=0.5)] = 0.15
    inventory_threshold: PositiveFloat = 0.10
    inventory_rearm: NonNegativeFloat = 0.05
    reservation_tolerance_ticks: PositiveFloat = 200.0
    reservation_rearm_ticks: NonNegativeFloat = 100.0
    max_age_s: PositiveFloat = 86_400.0
    min_interval_s: NonNegativeFloat = 60.0
    sigma0: PositiveFloat = 5e-5
    sigma_halflife_s: PositiveFloat = 300.0
    decision_interval_s: PositiveFloat = 0.25


class LpSimConfig(_Section):
    """``[LP.sim]``: the simulated pool (exact V3 state machine) used without an RPC URL.

    The pool starts at ``initial_price`` (``None``: the paper reference price of
    ``LP.reference_symbol`` at creation) with background liquidity ``background`` (pairs of
    relative half width and value in token1) and an account worth ``budget1`` token1, half in
    each token. ``state_path`` persists the simulated pool (``None``: next to the journal); with
    ``LP.backend = "chain"`` and no ``rpc_url`` it is the *directory* where the local devnet's
    chain persists (``None``: ``<journal directory>/<process_name>_devnet``; see
    :func:`asymlp_runtime.lp.chain_backend.devnet_state_dir`).
    """

    seed: int = 0
    state_path: str | None = None
    initial_price: PositiveFloat | None = None
    budget1: PositiveFloat = 60_000.0
    background: tuple[tuple[PositiveFloat, PositiveFloat], ...] = ((0.5, 20_000_000.0), (0.05, 10_000_000.0))
    noise_rate_per_s: NonNegativeFloat = 2.0
    noise_mean_value1: PositiveFloat = 5_000.0
    noise_size_sigma: NonNegativeFloat = 1.0
    arbitrage: bool = True


class LpConfig(_Section):
    """``[LP]``: the pool and the chain.

    ``pool`` is the pool address (or ``"devnet"`` for the pool the local chain deploys, or a
    name such as ``"sim"`` for the simulated pool); ``fee_tier`` is in pips (100, 500, 3000,
    10000); ``rpc_url`` ``None`` means the local anvil node; ``private_key`` signs transactions
    (from the environment only). ``backend``: ``"sim"`` runs the exact pool in-process
    (``[LP.sim]``), ``"chain"`` the on-chain backend, ``"auto"`` the simulated pool unless an
    RPC URL is given. ``reference_symbol`` names the paper reference path of the simulated flow.
    """

    pool: str
    fee_tier: Literal[100, 500, 3000, 10000]
    reference_topic: str = ""
    rpc_url: str | None = None
    private_key: Secret | None = None
    model: LpModelConfig = msgspec.field(default_factory=LpModelConfig)
    backend: Literal["auto", "sim", "chain"] = "auto"
    reference_symbol: str = "ETH/USDT:USDT"
    strategy: LpStrategyConfig = msgspec.field(default_factory=LpStrategyConfig)
    sim: LpSimConfig = msgspec.field(default_factory=LpSimConfig)


class SupervisorConfig(_Section):
    """``[SUPERVISOR]``: which process configs to run and when to restart them."""

    processes: tuple[str, ...]
    heartbeat_timeout_s: PositiveFloat = 5.0
    restart_backoff_s: PositiveFloat = 1.0
    max_restarts: Annotated[int, msgspec.Meta(ge=0)] = 5


class ProcessConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="upper"):
    """A whole process config file. Section names are upper case in the file.

    Attributes
    ----------
    global_ : GlobalConfig
        ``[GLOBAL]``.
    publishers : dict
        ``[PUBLISHERS]``: stream name -> endpoint to bind a PUB socket on.
    subscribers : dict
        ``[SUBSCRIBERS.<name>]``: stream name -> endpoint and topics to subscribe to.
    servers : dict
        ``[SERVERS]``: request server name -> endpoint to bind a ROUTER on (acknowledged
        requests: orders, commands).
    clients : dict
        ``[CLIENTS.<name>]``: request server to send to (DEALER), with timeout and retries.
    http_api, websocket, market_data : optional sections
        Venue REST, venue streams and market data settings.
    trader, lp, supervisor : optional sections
        Process-specific sections.
    """

    global_: GlobalConfig = msgspec.field(name="GLOBAL")
    publishers: dict[str, Endpoint] = {}
    subscribers: dict[str, SubscriberConfig] = {}
    servers: dict[str, Endpoint] = {}
    clients: dict[str, ClientConfig] = {}
    http_api: HttpApiConfig | None = None
    websocket: WebsocketConfig | None = None
    market_data: MarketDataConfig | None = None
    trader: TraderConfig | None = None
    lp: LpConfig | None = None
    supervisor: SupervisorConfig | None = None

    @property
    def process_name(self) -> str:
        """Shortcut for ``GLOBAL.process_name``."""
        return self.global_.process_name


# --------------------------------------------------------------------------- interpolation
_ENV_REF: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate_str(value: str, env: Mapping[str, str], file: str, key_path: str) -> str:
    if "${" not in value:
        return value
    if "${" in _ENV_REF.sub("", value):
        raise ConfigError(file, key_path, "${NAME} or ${NAME:-default}", "malformed ${...} reference")
    whole = _ENV_REF.fullmatch(value)

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = env.get(name)
        if found is None or (found == "" and default is not None):
            if default is None:
                raise ConfigError(file, key_path, f"environment variable {name} to be set", "it is not set")
            return default
        return found

    result = _ENV_REF.sub(substitute, value)
    if whole is not None:
        name, default = whole.group(1), whole.group(2)
        from_env = env.get(name)
        # Counts as "from the environment" when the variable supplied it, or the default is empty.
        if (from_env is not None and not (from_env == "" and default is not None)) or default == "":
            return _FromEnv(result)
    return result


def interpolate_env(data: Any, env: Mapping[str, str], file: str = "<config>", key_path: str = "") -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string value of parsed TOML data.

    ``:-`` follows the shell: the default is used when the variable is unset or empty.

    Raises
    ------
    ConfigError
        A variable without default is not set (the error names the variable and the key).
    """
    if isinstance(data, str):
        return _interpolate_str(data, env, file, key_path)
    if isinstance(data, dict):
        return {
            k: interpolate_env(v, env, file, f"{key_path}.{k}" if key_path else str(k))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [interpolate_env(v, env, file, f"{key_path}[{i}]") for i, v in enumerate(data)]
    return data


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is Secret:
        if isinstance(obj, _FromEnv):
            return Secret(str(obj))
        if isinstance(obj, str):
            raise ValueError('a secret must come from the environment: write "${VAR}" or "${VAR:-}"')
        raise ValueError("Expected `str` from the environment")
    raise NotImplementedError(f"no decoder for {tp!r}")


# --------------------------------------------------------------------------- error reporting
_AT_PATH: Final = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD_NAME: Final = re.compile(r"field `([^`]+)`")


def _split_path(path: str) -> list[str]:
    return [p for p in re.split(r"\.|\[([^\]]*)\]", path) if p]


def _render(t: mi.Type) -> str:
    def bounds(x: Any) -> str:
        parts = []
        for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            v = getattr(x, attr, None)
            if v is not None:
                parts.append(f"{op} {v}")
        return (" " + " and ".join(parts)) if parts else ""

    match t:
        case mi.IntType():
            return "int" + bounds(t)
        case mi.FloatType():
            return "float" + bounds(t)
        case mi.StrType() if t.pattern in _PATTERN_NAMES:
            return _PATTERN_NAMES[t.pattern]
        case mi.StrType():
            return "str" + (f" matching {t.pattern}" if t.pattern else "")
        case mi.Metadata():
            return _render(t.type)
        case mi.BoolType():
            return "bool"
        case mi.NoneType():
            return "nothing (omit the key)"
        case mi.LiteralType():
            return "one of " + ", ".join(repr(v) for v in t.values)
        case mi.UnionType():
            return " or ".join(_render(x) for x in t.types)
        case mi.VarTupleType() | mi.ListType():
            return f"array of {_render(t.item_type)}"
        case mi.DictType():
            return f"table of {_render(t.value_type)}"
        case mi.StructType():
            return f"table [{t.cls.__name__}]"
        case mi.CustomType() if t.cls is Secret:
            return 'secret str from the environment ("${VAR}")'
        case _:
            return type(t).__name__.removesuffix("Type").lower()


def _type_at(parts: list[str], root: type | None = None) -> mi.Type | None:
    """The declared type at a key path of ``root`` (the process config by default), or None."""
    t: mi.Type = mi.type_info(ProcessConfig if root is None else root)
    for part in parts:
        while isinstance(t, mi.UnionType):
            structs = [x for x in t.types if isinstance(x, mi.StructType | mi.DictType | mi.VarTupleType)]
            if not structs:
                return None
            t = structs[0]
        if isinstance(t, mi.StructType):
            field = next((f for f in t.fields if f.encode_name == part), None)
            if field is None:
                return None
            t = field.type
        elif isinstance(t, mi.DictType):
            t = t.value_type
        elif isinstance(t, mi.VarTupleType | mi.ListType):
            t = t.item_type
        else:
            return None
    return t


def _unwrap(t: mi.Type | None) -> mi.Type | None:
    while isinstance(t, mi.UnionType):
        inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(inner) != 1:
            return t
        t = inner[0]
    return t


def _replace_at(data: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(data, dict):
        return {**data, head: _replace_at(data[head], rest, value)}
    if isinstance(data, list):
        i = int(head)
        return [*data[:i], _replace_at(data[i], rest, value), *data[i + 1 :]]
    return data


def _name_dict_keys(parts: list[str], data: Any, detail: str) -> list[str]:
    """msgspec writes ``[...]`` for a dict key; find the key whose entry fails with ``detail``."""
    parts = list(parts)
    node = data
    for i, part in enumerate(parts):
        if part == "..." and isinstance(node, dict):
            for key, entry in node.items():
                trial = _replace_at(data, parts[:i], {key: entry})
                try:
                    msgspec.convert(trial, ProcessConfig, strict=False, dec_hook=_dec_hook)
                except msgspec.ValidationError as exc:
                    if str(exc).startswith(detail):
                        parts[i] = str(key)
                        break
                except Exception:
                    continue
            else:
                return parts
            data = _replace_at(data, parts[:i], {parts[i]: node[parts[i]]})
        part = parts[i]
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            node = None
    return parts


def _join(parts: list[str]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _from_validation_error(file: str, exc: msgspec.ValidationError, data: Any) -> ConfigError:
    match = _AT_PATH.match(str(exc))
    assert match is not None
    detail = match.group("msg")
    parts = _split_path((match.group("path") or "").lstrip("."))
    if "..." in parts:
        parts = _name_dict_keys(parts, data, detail)
    if detail.startswith("Object contains unknown field"):
        name = _FIELD_NAME.search(detail)
        allowed = _unwrap(_type_at(parts))
        parts.append(name.group(1) if name else "?")
        keys = ", ".join(f.encode_name for f in allowed.fields) if isinstance(allowed, mi.StructType) else ""
        return ConfigError(file, _join(parts), f"one of the known keys: {keys}", "unknown key")
    if detail.startswith("Object missing required field"):
        name = _FIELD_NAME.search(detail)
        parts.append(name.group(1) if name else "?")
        t = _type_at(parts)
        return ConfigError(file, _join(parts), _render(t) if t else "a value", "required key is missing")
    t = _type_at(parts)
    expected = _render(t) if t is not None else "a valid value"
    return ConfigError(file, _join(parts) or "<root>", expected, detail)


# --------------------------------------------------------------------------- checks and loading
def _host_port(endpoint: str) -> tuple[str, str] | None:
    if not endpoint.startswith("tcp://"):
        return None
    host, _, port = endpoint[len("tcp://") :].rpartition(":")
    return host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check(cfg: ProcessConfig, file: str) -> None:
    binds = [(f"PUBLISHERS.{k}", v) for k, v in cfg.publishers.items()]
    binds += [(f"SERVERS.{k}", v) for k, v in cfg.servers.items()]
    seen: dict[str, str] = {}
    for key, endpoint in binds:
        hp = _host_port(endpoint)
        if hp is None:
            continue
        host, port = hp
        if not cfg.global_.allow_remote_bind and not _is_loopback(host):
            raise ConfigError(
                file,
                key,
                "a loopback endpoint (tcp://127.0.0.1:PORT or ipc://PATH)",
                "remote bind not allowed",
            )
        if port != "*":
            if port in seen:
                raise ConfigError(file, key, f"a port distinct from {seen[port]}", f"port {port} used twice")
            seen[port] = key
    if cfg.global_.metrics_port and str(cfg.global_.metrics_port) in seen:
        raise ConfigError(file, "GLOBAL.metrics_port", "a port not used by a socket of this process")
    for key, url in (
        ("HTTP_API.base_url", cfg.http_api.base_url if cfg.http_api else None),
        ("WEBSOCKET.url", cfg.websocket.url if cfg.websocket else None),
        ("LP.rpc_url", cfg.lp.rpc_url if cfg.lp else None),
    ):
        if url:
            parts = urlsplit(url)
            if not parts.scheme or not parts.netloc:
                raise ConfigError(file, key, "an absolute URL (scheme://host/...)")
            if parts.username or parts.password:
                raise ConfigError(file, key, "a URL without user:password (put credentials in secrets)")
    ws = cfg.websocket
    if ws is not None and ws.reconnect_backoff_initial_s > ws.reconnect_backoff_max_s:
        raise ConfigError(
            file, "WEBSOCKET.reconnect_backoff_initial_s", "a value <= WEBSOCKET.reconnect_backoff_max_s"
        )


def load_config_text(
    text: str, file: str = "<config>", env: Mapping[str, str] | None = None
) -> ProcessConfig:
    """Decode a config from TOML text (see :func:`load_config`)."""
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", "valid TOML", str(exc)) from None
    data = interpolate_env(raw, env, file)
    try:
        cfg = msgspec.convert(data, ProcessConfig, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise _from_validation_error(file, exc, data) from None
    _check(cfg, file)
    return cfg


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> ProcessConfig:
    """Load and check one process config file.

    Parameters
    ----------
    path : path-like
        The TOML file.
    env : mapping or None
        Environment for ``${VAR}`` interpolation (``os.environ`` by default).

    Returns
    -------
    ProcessConfig

    Raises
    ------
    ConfigError
        Unreadable file, bad TOML, unset variable, wrong type, unknown or missing key, a literal
        secret, a non-loopback bind or a port used twice; the message names file, key and type.
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "", "a readable file", exc.strerror or type(exc).__name__) from None
    return load_config_text(text, file, env)


def iter_secrets(obj: Any) -> Iterator[Secret]:
    """Every :class:`Secret` inside a config Struct (for the log redaction filter)."""
    if isinstance(obj, Secret):
        yield obj
    elif isinstance(obj, msgspec.Struct):
        for name in obj.__struct_fields__:
            yield from iter_secrets(getattr(obj, name))
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from iter_secrets(value)
    elif isinstance(obj, tuple | list):
        for value in obj:
            yield from iter_secrets(value)
