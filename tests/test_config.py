"""Process configuration: example files, error messages, env interpolation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from asymlp_runtime.config import (
    ConfigError,
    ProcessConfig,
    Secret,
    interpolate_env,
    iter_secrets,
    load_config,
    load_config_text,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
EXAMPLES = (
    "quote_server_binance.toml",
    "trading_engine_binance.toml",
    "position_server_binance.toml",
    "trader.toml",
    "lp_manager.toml",
    "supervisor.toml",
)
MINIMAL = '[GLOBAL]\nprocess_name = "trader"\n'


def load(text: str, env: dict[str, str] | None = None) -> ProcessConfig:
    return load_config_text(text, "conf/trader.toml", env or {})


def error(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(text, env)
    return info.value


# --------------------------------------------------------------------------- example files
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_config_loads_in_paper_mode_without_env(name):
    cfg = load_config(CONFIG_DIR / name, env={})
    assert cfg.process_name == name.removesuffix(".toml")
    assert cfg.global_.metrics_port != 0
    if cfg.http_api is not None:
        assert not cfg.http_api.has_credentials


def test_example_configs_use_distinct_loopback_ports_and_every_subscription_has_a_publisher():
    configs = [load_config(CONFIG_DIR / name, env={}) for name in EXAMPLES]
    binds: dict[str, str] = {}
    for cfg in configs:
        for endpoint in [*cfg.publishers.values(), *cfg.servers.values()]:
            assert endpoint.startswith("tcp://127.0.0.1:")
            assert endpoint not in binds, f"{endpoint} bound by {binds.get(endpoint)} and {cfg.process_name}"
            binds[endpoint] = cfg.process_name
    metrics_ports = [cfg.global_.metrics_port for cfg in configs]
    assert len(set(metrics_ports)) == len(metrics_ports)
    bound_ports = {e.rsplit(":", 1)[1] for e in binds}
    assert not bound_ports & {str(p) for p in metrics_ports}
    for cfg in configs:
        for name, sub in cfg.subscribers.items():
            assert sub.endpoint in binds, f"{cfg.process_name}.SUBSCRIBERS.{name} has no publisher"
        for name, client in cfg.clients.items():
            assert client.endpoint in binds, f"{cfg.process_name}.CLIENTS.{name} has no server"


def test_example_config_picks_up_keys_from_the_environment():
    env = {"BINANCE_API_KEY": "k" * 16, "BINANCE_API_SECRET": "s" * 32}
    cfg = load_config(CONFIG_DIR / "trading_engine_binance.toml", env=env)
    assert cfg.http_api.has_credentials
    assert cfg.http_api.api_key.reveal() == "k" * 16
    assert "k" * 16 not in repr(cfg) and "s" * 32 not in str(cfg)


def test_supervisor_lists_the_other_example_files():
    cfg = load_config(CONFIG_DIR / "supervisor.toml", env={})
    assert set(cfg.supervisor.processes) == set(EXAMPLES) - {"supervisor.toml"}


# --------------------------------------------------------------------------- errors name file, key, type
def test_wrong_type_names_file_key_path_and_expected_type():
    e = error(MINIMAL + '[HTTP_API]\nexchange_id = "binance"\ntimeout_s = "soon"\n')
    assert e.file == "conf/trader.toml"
    assert e.key_path == "HTTP_API.timeout_s"
    assert e.expected == "float > 0"
    assert str(e).startswith("conf/trader.toml: HTTP_API.timeout_s: expected float > 0")


def test_out_of_range_value_names_the_bound():
    e = error(MINIMAL.replace('"trader"\n', '"trader"\nmetrics_port = 70000\n'))
    assert e.key_path == "GLOBAL.metrics_port"
    assert e.expected == "int >= 0 and <= 65535"


def test_unknown_key_is_rejected_listing_the_known_keys():
    e = error(
        MINIMAL + "[TRADER]\nhedge_venue='b'\nhedge_symbol='s'\nhedge_band=0\nmax_position=1\n"
        "max_loss=1\nmax_postion=2\n"
    )
    assert e.key_path == "TRADER.max_postion"
    assert "max_position" in e.expected


def test_unknown_section_is_rejected():
    e = error(MINIMAL + "[TRADR]\nx = 1\n")
    assert e.key_path == "TRADR"
    assert "TRADER" in e.expected


def test_missing_required_key_is_named():
    e = error(MINIMAL + "[MARKET_DATA]\ndepth = 3\n")
    assert e.key_path == "MARKET_DATA.symbols"
    assert e.expected == "array of str"


def test_missing_global_section_is_named():
    e = error('[PUBLISHERS]\nmd = "tcp://127.0.0.1:5000"\n')
    assert e.key_path == "GLOBAL"


def test_bad_literal_lists_the_allowed_values():
    e = error(MINIMAL.replace('"trader"\n', '"trader"\nlog_level = "TRACE"\n'))
    assert e.key_path == "GLOBAL.log_level"
    assert "'DEBUG'" in e.expected and "'INFO'" in e.expected


def test_error_inside_a_named_table_entry_names_the_entry_and_index():
    e = error(
        MINIMAL + '[SUBSCRIBERS.ok]\nendpoint = "tcp://127.0.0.1:5001"\n'
        '[SUBSCRIBERS.md]\nendpoint = "tcp://127.0.0.1:5000"\ntopics = ["quote.", 7]\n'
    )
    assert e.key_path == "SUBSCRIBERS.md.topics[1]"
    assert e.expected == "str"


def test_bad_endpoint_is_rejected_naming_the_publisher():
    e = error(MINIMAL + '[PUBLISHERS]\nmd = "udp://127.0.0.1:5000"\n')
    assert e.key_path == "PUBLISHERS.md"
    assert "tcp://HOST:PORT" in e.expected


def test_non_loopback_bind_is_rejected_unless_allowed():
    text = MINIMAL + '[PUBLISHERS]\nmd = "tcp://0.0.0.0:5000"\n'
    e = error(text)
    assert e.key_path == "PUBLISHERS.md" and "loopback" in e.expected
    allowed = load(text.replace('"trader"\n', '"trader"\nallow_remote_bind = true\n'))
    assert allowed.publishers["md"] == "tcp://0.0.0.0:5000"


def test_port_bound_twice_in_one_file_is_rejected():
    e = error(MINIMAL + '[PUBLISHERS]\na = "tcp://127.0.0.1:5000"\n[SERVERS]\nb = "tcp://127.0.0.1:5000"\n')
    assert e.key_path == "SERVERS.b"


def test_url_with_credentials_is_rejected():
    e = error(MINIMAL + '[HTTP_API]\nexchange_id = "b"\nbase_url = "https://u:p@api.example"\n')
    assert e.key_path == "HTTP_API.base_url"
    assert "u:p" not in str(e)


def test_invalid_toml_names_the_file():
    e = error("[GLOBAL\nprocess_name = 'x'\n")
    assert e.file == "conf/trader.toml" and e.key_path == "" and e.expected == "valid TOML"
    assert "line 1" in e.detail


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml", env={})
    assert str(tmp_path / "nope.toml") in str(info.value)


# --------------------------------------------------------------------------- env interpolation
def test_env_variable_is_interpolated():
    cfg = load(MINIMAL.replace('"trader"\n', '"trader"\nlog_dir = "${LOGS}/asymlp"\n'), {"LOGS": "/var/log"})
    assert cfg.global_.log_dir == "/var/log/asymlp"


def test_default_is_used_when_the_variable_is_unset_or_empty():
    text = MINIMAL.replace('"trader"\n', '"trader"\nlog_level = "${LVL:-WARNING}"\n')
    assert load(text, {}).global_.log_level == "WARNING"
    assert load(text, {"LVL": ""}).global_.log_level == "WARNING"
    assert load(text, {"LVL": "DEBUG"}).global_.log_level == "DEBUG"


def test_interpolated_number_is_converted_to_the_field_type():
    cfg = load(MINIMAL.replace('"trader"\n', '"trader"\nmetrics_port = "${PORT:-9100}"\n'), {"PORT": "9200"})
    assert cfg.global_.metrics_port == 9200


def test_missing_variable_without_default_is_an_error_naming_it():
    e = error(MINIMAL + '[HTTP_API]\nexchange_id = "${EXCHANGE}"\n')
    assert e.key_path == "HTTP_API.exchange_id"
    assert "EXCHANGE" in str(e)


def test_malformed_reference_is_an_error():
    e = error(MINIMAL + '[HTTP_API]\nexchange_id = "${EXCHANGE"\n')
    assert e.key_path == "HTTP_API.exchange_id"


def test_env_value_cannot_change_the_toml_structure():
    evil = 'x"\n[PUBLISHERS]\nmd = "tcp://0.0.0.0:1'
    cfg = load(MINIMAL + '[HTTP_API]\nexchange_id = "${EXCHANGE}"\n', {"EXCHANGE": evil})
    assert cfg.http_api.exchange_id == evil
    assert cfg.publishers == {}


def test_interpolation_walks_nested_tables_and_arrays():
    data = {"A": {"b": ["${X}", "${Y:-y}", 3]}}
    assert interpolate_env(data, {"X": "x"}) == {"A": {"b": ["x", "y", 3]}}


# --------------------------------------------------------------------------- secrets
SECRET_TEXT = MINIMAL + '[HTTP_API]\nexchange_id = "binance"\napi_key = "${KEY}"\napi_secret = "${SEC:-}"\n'


def test_secret_from_env_is_redacted_in_repr_and_str():
    cfg = load(SECRET_TEXT, {"KEY": "AKIAVERYSECRET123"})
    key = cfg.http_api.api_key
    assert isinstance(key, Secret) and key.reveal() == "AKIAVERYSECRET123"
    for text in (repr(key), str(key), f"{key}", repr(cfg), str(cfg.http_api)):
        assert "AKIAVERYSECRET123" not in text
    assert not cfg.http_api.api_secret  # empty: no credentials
    assert not cfg.http_api.has_credentials
    assert [s.reveal() for s in iter_secrets(cfg)] == ["AKIAVERYSECRET123", ""]


def test_literal_secret_in_the_file_is_rejected():
    e = error(MINIMAL + '[HTTP_API]\nexchange_id = "binance"\napi_key = "AKIALITERAL"\n')
    assert e.key_path == "HTTP_API.api_key"
    assert "environment" in str(e)
    assert "AKIALITERAL" not in str(e)


def test_non_empty_default_for_a_secret_is_rejected():
    e = error(MINIMAL + '[HTTP_API]\nexchange_id = "binance"\napi_key = "${KEY:-AKIADEFAULT}"\n')
    assert e.key_path == "HTTP_API.api_key"
    assert "AKIADEFAULT" not in str(e)


def test_error_in_a_config_with_a_secret_never_shows_the_secret():
    e = error(SECRET_TEXT + "timeout_s = -1\n", {"KEY": "AKIAVERYSECRET123"})
    assert e.key_path == "HTTP_API.timeout_s"
    assert "AKIAVERYSECRET123" not in str(e)


def test_secret_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


def test_config_is_frozen():
    cfg = load(MINIMAL)
    with pytest.raises(AttributeError):
        cfg.global_.log_level = "DEBUG"  # type: ignore[misc]
