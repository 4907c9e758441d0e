"""BitMEX wire facts: the websocket signature against the reference's vectors, and its time text."""

from __future__ import annotations

from finxtui.wire.bitmex import auth_signature, iso, parse_time, signature

SECRET = "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO"  # BitMEX's own documented example secret


def test_signatures_match_the_reference_vectors() -> None:
    assert signature(SECRET, "GET", "/api/v1/instrument", 1518064236) == (
        "c7682d435d0cfe87c16098df34ef2eb5a549d4c5a3c2b1f0f77b8af73423bf00")
    assert auth_signature(SECRET, 1518064236) == "6d459dc02866d35a2b965edeecc68063d488e296b77982235fc6eca24b934945"


def test_time_text_round_trips_to_the_millisecond() -> None:
    assert parse_time("2021-07-22T22:36:07.865Z") == 1626993367.865
    assert iso(1626993367.865) == "2021-07-22T22:36:07.865Z"
    assert parse_time(None) == 0.0 and parse_time("nope") == 0.0
