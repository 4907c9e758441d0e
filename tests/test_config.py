"""Configuration: precedence, first-run file, errors that name file and line, secrets kept out of sight."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from finxtui.config import (
    DEFAULT_FILE,
    Config,
    ConfigError,
    Credentials,
    ensure_config_file,
    load_config,
    parse_endpoint,
)


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "missing.toml", env={})
    assert cfg.default_pair == "BTC:USD" and cfg.book_source == "bitfinex" and cfg.book_levels == 10
    assert cfg.endpoints["bitmex"] == "wss://ws.bitmex.com" and cfg.path is None


def test_first_run_writes_commented_defaults_that_load(tmp_path: Path) -> None:
    path = ensure_config_file(tmp_path / "finx" / "config.toml")
    assert path.read_text() == DEFAULT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = load_config(path, env={})
    assert cfg == Config(path=path, pairs=cfg.pairs)  # every line is a comment: pure defaults
    ensure_config_file(path)  # a second run keeps the user's file
    assert path.read_text() == DEFAULT_FILE


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    path = write(tmp_path, """
watchlist = ["eth/usd", "BTC:USD"]
default_pair = "ETH:USD"
book_source = "bitmex"
book_levels = 25
slow_link = true
[refresh]
book = 20
[sources.bitfinex]
url = "ws://127.0.0.1:9001"
len = 100
[credentials]
finx_api_key = "file-key"
[pairs."DOGE:USD"]
tick = 0.00001
bitfinex = "tDOGE:USD"
""")
    cfg = load_config(path, env={"FINX_API_KEY": "env-key", "BITMEX_API_KEY": "k", "BITMEX_API_SECRET": "s"})
    assert cfg.watchlist == ("ETH:USD", "BTC:USD") and cfg.default_pair == "ETH:USD"
    assert cfg.book_source == "bitmex" and cfg.book_levels == 25 and cfg.bitfinex_len == 100
    assert cfg.refresh.book == 20 and cfg.effective_refresh().book == 10, "slow_link halves every rate"
    assert cfg.endpoints["bitfinex"] == "ws://127.0.0.1:9001"
    assert cfg.credentials.finx_key == "env-key", "the environment beats the file"
    assert cfg.credentials.bitmex
    assert cfg.pairs.pair_for("bitfinex", "tDOGE:USD") == "DOGE:USD"
    flagged = cfg.with_endpoint("bitfinex", "ws://127.0.0.1:9002")
    assert flagged.endpoints["bitfinex"] == "ws://127.0.0.1:9002"


@pytest.mark.parametrize(("text", "line", "words"), [
    ('theme = "x"\nbook_levels = 12\n', 2, "must be one of 10, 25"),
    ('\n\n[sources.bitmex]\nurl = "http://nope"\n', 4, "ws:// or wss://"),
    ('watchlist = ["BTC:USD", "NOPE:USD"]\n', 1, "unknown pair"),
    ('[refresh]\nbook = "fast"\n', 2, "expected a whole number or a number"),
    ('slow_link = "yes"\n', 1, "true or false"),
    ('colour = "256"\n', 1, "unknown setting"),
    ('[sources.kraken]\nurl = "wss://x"\n', 1, "unknown source"),
    ('[credentials]\nbitmex_key = "x"\n', 2, "unknown key"),
    ('watchlist = [\n', 1, "Invalid value"),
    ('theme = "x"\nbook_source = \n', 2, "Invalid value"),
    ('[tape]\nlarge_notional = "big"\n', 2, "expected a whole number or a number"),
    ('[tape]\nsmall = 1\n', 2, "unknown key (known: large, large_notional)"),
    ('[tape.large]\n"BTC:USD" = 1\n"DOGE:USD" = 5\n', 3, "unknown pair 'DOGE:USD'"),
    ('[tape.large]\n"ETH:USD" = -1\n', 2, "must be at least 0"),
])
def test_bad_values_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert message.startswith(f"{path}:{line}") or (line == 1 and f"{path}:" in message), message
    assert words in message


def test_tape_thresholds(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, '[tape]\nlarge_notional = 250000\n[tape.large]\n"btc:usd" = 2.5\n'), env={})
    assert dict(cfg.tape.large) == {"BTC:USD": 2.5} and cfg.tape.large_notional == 250_000.0
    assert load_config(tmp_path / "missing.toml", env={}).tape.large_notional == 100_000.0


def test_readable_file_with_a_secret_warns(tmp_path: Path) -> None:
    path = write(tmp_path, '[credentials]\nbitmex_api_secret = "s3cret-value"\nbitmex_api_key = "k"\n', mode=0o644)
    cfg = load_config(path, env={})
    assert any("chmod 600" in w for w in cfg.warnings)
    private = write(tmp_path, '[credentials]\nbitmex_api_secret = "s3cret-value"\n', mode=0o600)
    assert load_config(private, env={}).warnings == ()


def test_secrets_never_in_repr() -> None:
    creds = Credentials(finx_key="fk-123456", bitmex_key="bk-123456", bitmex_secret="bs-123456",
                        finazon_key="zk-123456")
    cfg = Config(credentials=creds)
    for text in (repr(creds), str(creds), repr(cfg), str(cfg)):
        for secret in creds.secrets():
            assert secret not in text
    assert "set: finx, bitmex, finazon" in repr(creds)


def test_endpoint_flag() -> None:
    assert parse_endpoint("bitfinex=ws://127.0.0.1:9001") == ("bitfinex", "ws://127.0.0.1:9001")
    for bad in ("bitfinex", "kraken=ws://x", "bitmex=http://x"):
        with pytest.raises(ConfigError):
            parse_endpoint(bad)


def test_env_config_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path, 'default_pair = "SOL:USD"\n')
    monkeypatch.setenv("FINX_TUI_CONFIG", str(path))
    assert load_config(env=dict(os.environ)).default_pair == "SOL:USD"
