"""Accounts the simulator accepts, and the documented demo values used when none are set.

``finx-tui sim`` reads the same variables the client does, so a user can run both with their own test key.
The demo values are public on purpose (README, ``--demo``); they unlock only the simulator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEMO_BITMEX_KEY = "DEMOkeyFINXtui0000000001"
DEMO_BITMEX_SECRET = "DEMOsecretFINXtui000000000000000000000000000001"
DEMO_FINX_KEY = "finx-demo-key"
DEMO_FINAZON_KEY = "finazon-demo-key"


@dataclass(frozen=True)
class SimCredentials:
    bitmex_key: str = DEMO_BITMEX_KEY
    bitmex_secret: str = field(default=DEMO_BITMEX_SECRET, repr=False)
    finx_key: str = field(default=DEMO_FINX_KEY, repr=False)
    finazon_key: str = field(default=DEMO_FINAZON_KEY, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimCredentials:
        env = os.environ if env is None else env
        return cls(
            bitmex_key=env.get("BITMEX_API_KEY") or DEMO_BITMEX_KEY,
            bitmex_secret=env.get("BITMEX_API_SECRET") or DEMO_BITMEX_SECRET,
            finx_key=env.get("FINX_API_KEY") or DEMO_FINX_KEY,
            finazon_key=env.get("FINAZON_API_KEY") or DEMO_FINAZON_KEY,
        )

    def as_client_env(self) -> dict[str, str]:
        """The environment a client needs to talk to this simulator."""
        return {"BITMEX_API_KEY": self.bitmex_key, "BITMEX_API_SECRET": self.bitmex_secret,
                "FINX_API_KEY": self.finx_key, "FINAZON_API_KEY": self.finazon_key}

