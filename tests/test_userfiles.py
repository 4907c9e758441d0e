"""Editing the user's config file keeps their comments and keys; the alerts' state round-trips."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

from finxtui.config import DEFAULT_FILE, load_config
from finxtui.model.alerts import AlertEngine, AlertRule
from finxtui.model.events import Trade
from finxtui.userfiles import AlertStateFile, ConfigFile

MINE = """\
# My own notes: keep these.
theme = "nord"   # dark, but not too dark
book_levels = 25

[sources.bitfinex]
url = "wss://api-pub.bitfinex.com"  # the real one
len = 100

# an alert I wrote by hand
[[alerts]]
pair = "BTC:USD"
above = 100000
note = "moon"
"""


def test_watchlist_is_written_keeping_comments_and_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    path.chmod(0o600)
    ConfigFile(path).set_watchlist(["ETH:USD", "BTC:USD"])
    text = path.read_text()
    for kept in ("# My own notes: keep these.", "# dark, but not too dark", "# the real one", "# an alert I wrote",
                 'note = "moon"', "len = 100"):
        assert kept in text
    data = tomllib.loads(text)
    assert data["watchlist"] == ["ETH:USD", "BTC:USD"] and data["theme"] == "nord"
    assert data["sources"]["bitfinex"]["len"] == 100 and "watchlist" not in data["sources"]["bitfinex"]
    ConfigFile(path).set_watchlist(["SOL:USD"])  # the second time it is replaced in place
    assert tomllib.loads(path.read_text())["watchlist"] == ["SOL:USD"]
    assert path.read_text().count("watchlist =") == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "it may hold keys: still private"
    assert load_config(path, env={}).watchlist == ("SOL:USD",)


def test_a_fresh_file_is_created_from_the_commented_defaults(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    ConfigFile(path).set_watchlist(["XRP:USD", "AAPL"])
    text = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The uncommented line goes right under its commented default, every other comment kept.
    lines = text.splitlines()
    at = lines.index('watchlist = ["XRP:USD", "AAPL"]')
    assert lines[at - 1].startswith("# watchlist = ")
    assert [line for line in lines if line != lines[at]] == DEFAULT_FILE.splitlines()
    assert load_config(path, env={}).watchlist == ("XRP:USD", "AAPL")


def test_alerts_are_added_and_removed_by_meaning(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    files = ConfigFile(path)
    move = AlertRule("move", 2.0, "ETH:USD", window=600.0, repeat=True)
    files.add_alert(move)
    files.add_alert(move)  # the same rule twice: one entry
    cfg = load_config(path, env={})
    assert [r.kind for r in cfg.alerts] == ["above", "move"]
    hand_written = cfg.alerts[0]
    assert files.remove_alert(hand_written)
    text = path.read_text()
    assert 'note = "moon"' not in text and "# My own notes: keep these." in text
    assert [r.key for r in load_config(path, env={}).alerts] == [move.key]
    assert files.remove_alert(move) and "alerts" not in tomllib.loads(path.read_text())
    assert not files.remove_alert(move)


def test_alert_state_round_trips(tmp_path: Path) -> None:
    rule = AlertRule("above", 10.0, "BTC:USD")
    prices = {"BTC:USD": 11.0}
    engine = AlertEngine([rule], price_of=prices.get)
    engine.observe(Trade("bitfinex", "BTC:USD", 11.0, 1.0, "buy", 5.0), 5.0)
    store = AlertStateFile(tmp_path / "state" / "alerts.json")
    store.save(engine.snapshot())
    again = AlertEngine([rule], price_of=prices.get)
    again.restore(store.load())
    assert again.states[rule.key].done and again.states[rule.key].fired_at == 5.0
    assert [f.text for f in again.log] == ["BTC:USD above 10: last 11"]
    (tmp_path / "state" / "alerts.json").write_text("{not json")
    assert AlertStateFile(tmp_path / "state" / "alerts.json").load() == {}
