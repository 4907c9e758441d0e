"""One Config: defaults < TOML file (platformdirs config dir) < environment < command-line flags.

A bad value names its file and line. Secrets (API keys) come from the environment or the file's
``[credentials]`` table, are never part of ``repr``, and a file holding one that others can read gets a
warning. No textual here: the CLI, the feeds and the UI all read this.

``settings`` holds the dataclasses, ``files`` where things live, ``reader`` the checked reading of a value,
``sections`` the trader's tables, ``load`` the order of precedence; everything public is named here.
"""

from finxtui.config.files import (
    DEFAULT_FILE,
    config_dir,
    default_config_path,
    ensure_config_file,
    log_dir,
    state_dir,
)
from finxtui.config.load import load_config, parse_endpoint
from finxtui.config.settings import (
    APP_NAME,
    COLOR_CHOICES,
    DEFAULT_ENDPOINTS,
    DEFAULT_WATCHLIST,
    DESKTOP_CHOICES,
    UPDOWN_CHOICES,
    Config,
    ConfigError,
    Credentials,
    KeySetting,
    Notify,
    Refresh,
    TapeSettings,
)

__all__ = [
    "APP_NAME", "COLOR_CHOICES", "DEFAULT_ENDPOINTS", "DEFAULT_FILE", "DEFAULT_WATCHLIST", "DESKTOP_CHOICES",
    "UPDOWN_CHOICES", "Config", "ConfigError", "Credentials", "KeySetting", "Notify", "Refresh", "TapeSettings",
    "config_dir", "default_config_path", "ensure_config_file", "load_config", "log_dir", "parse_endpoint",
    "state_dir",
]
