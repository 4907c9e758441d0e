"""The house theme, and fallbacks so the price colours work under any Textual theme."""

from __future__ import annotations

from textual.theme import Theme

PRICE_VARIABLES = {
    "price-up": "#2ecc71",
    "price-down": "#ff5c5c",
    "bid": "#2ecc71",
    "ask": "#ff5c5c",
    "bid-bar": "#1e6b45",
    "ask-bar": "#7a2a2a",
    "state-live": "#2ecc71",
    "state-warn": "#f1c40f",
    "state-stale": "#ff9f43",
    "state-bad": "#ff5c5c",
}

FINX_DARK = Theme(
    name="finx-dark",
    primary="#3d8bfd",
    secondary="#8e7cc3",
    accent="#f1c40f",
    warning="#ff9f43",
    error="#ff5c5c",
    success="#2ecc71",
    foreground="#d8dee9",
    background="#0f1218",
    surface="#151a22",
    panel="#1c2330",
    dark=True,
    variables=PRICE_VARIABLES,
)

FINX_LIGHT = Theme(
    name="finx-light",
    primary="#1f6feb",
    secondary="#6f42c1",
    accent="#b08800",
    warning="#bc4c00",
    error="#cf222e",
    success="#1a7f37",
    foreground="#1f2328",
    background="#ffffff",
    surface="#f6f8fa",
    panel="#eaeef2",
    dark=False,
    # A concrete muted grey and darker state colours: Textual's derived text-muted, and the dark theme's
    # bright greens and yellows, nearly vanish on white.
    variables={**PRICE_VARIABLES, "price-up": "#1a7f37", "price-down": "#cf222e", "bid": "#1a7f37",
               "ask": "#cf222e", "bid-bar": "#aceebb", "ask-bar": "#ffcecb", "text-muted": "#57606a",
               "state-live": "#1a7f37", "state-warn": "#9a6700", "state-stale": "#bc4c00", "state-bad": "#cf222e"},
)

THEMES = (FINX_DARK, FINX_LIGHT)
#: the presets' short names (config ``theme``, ``--theme``)
THEME_ALIASES = {"dark": FINX_DARK.name, "light": FINX_LIGHT.name}

# Blue for up and orange for down (Okabe-Ito's colour-blind-safe pair): told apart with any kind of colour
# blindness, and still the two ends of one scale. One set for dark backgrounds, one for light.
BLUE_ORANGE_DARK = {"price-up": "#56b4e9", "price-down": "#e69f00", "bid": "#56b4e9", "ask": "#e69f00",
                    "bid-bar": "#1d4e6e", "ask-bar": "#6e4a0c"}
BLUE_ORANGE_LIGHT = {"price-up": "#0072b2", "price-down": "#d55e00", "bid": "#0072b2", "ask": "#d55e00",
                     "bid-bar": "#c6e2f5", "ask-bar": "#f8d3b6"}


def updown_variables(updown: str, *, dark: bool) -> dict[str, str]:
    """The up/down colours that replace the theme's for the ``updown`` preset (none for green-red)."""
    if updown == "blue-orange":
        return dict(BLUE_ORANGE_DARK if dark else BLUE_ORANGE_LIGHT)
    return {}
