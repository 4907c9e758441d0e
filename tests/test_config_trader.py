"""Config for the trader's features: [[alerts]], [notify], [keys], updown; bad entries name field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from finxtui.config import ConfigError, KeySetting, Notify, load_config

GOOD = """\
# my alerts
updown = "blue-orange"

[[alerts]]
pair = "btc/usd"
above = 100_000

[[alerts]]   # the second
pair = "ETH:USD"
move = 2.5
window = 600
repeat = true

[notify]
bell = false
desktop = "osc777"

[keys]
"pair.next" = "n"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_alerts_notify_keys_and_updown_load(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    cfg = load_config(path, env={})
    assert [r.describe() for r in cfg.alerts] == ["BTC:USD above 100,000",
                                                  "ETH:USD moves 2.5% within 10m (repeats, cool-down 5m)"]
    assert cfg.notify == Notify(toast=True, bell=False, desktop="osc777")
    assert cfg.keys == (KeySetting("pair.next", "n", f"{path}:19"),)
    assert cfg.updown == "blue-orange" and not cfg.warnings


@pytest.mark.parametrize(("entry", "line", "words"), [
    ('pair = "DOGE:EUR"\nabove = 1', 6, "alerts[2].pair: unknown pair 'DOGE:EUR'"),
    ('pair = "BTC:USD"\nbelow = "cheap"', 7, "alerts[2].below: a number, got 'cheap'"),
    ('pair = "BTC:USD"\nabove = 5\nrepeat = "yes"', 8, "alerts[2].repeat: true or false"),
    ('feed_down = 30', 5, "alerts[2].source: which feed"),  # no such line: the entry's header
])
def test_a_bad_alert_names_field_and_line_and_loses_nothing_else(tmp_path: Path, entry: str, line: int,
                                                                 words: str) -> None:
    text = f'[[alerts]]\npair = "BTC:USD"\nabove = 1\n[[alerts]]\n{entry}\n[[alerts]]\nfeed_down = 9\nsource = "finx"\n'
    path = write(tmp_path, 'watchlist = ["ETH:USD"]\n' + text)
    cfg = load_config(path, env={})
    assert len(cfg.warnings) == 1
    assert cfg.warnings[0].startswith(f"{path}:{line}: {words}"), cfg.warnings[0]
    assert [r.kind for r in cfg.alerts] == ["above", "feed_down"], "the good alerts are kept"
    assert cfg.watchlist == ("ETH:USD",), "and every other setting"


@pytest.mark.parametrize(("text", "where", "words"), [
    ('[notify]\ndesktop = "growl"\n', 2, "notify.desktop: must be one of auto, osc9, osc777, off"),
    ('[notify]\nbeep = true\n', 2, "notify.beep: unknown key"),
    ('[keys]\n"pair.next" = 5\n', 2, "keys.pair.next: expected the keys as a string"),
    ('updown = "purple"\n', 1, "updown: must be one of green-red, blue-orange"),
    ('alerts = 5\n', 1, "alerts: expected [[alerts]] tables"),
])
def test_other_bad_settings_are_errors_naming_the_line(tmp_path: Path, text: str, where: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value).startswith(f"{path}:{where}: {words}"), str(caught.value)
