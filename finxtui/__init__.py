"""finx-tui: a keyboard-driven terminal market monitor."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("finx-tui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"
