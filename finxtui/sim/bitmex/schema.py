"""What the simulated BitMEX says about its tables and itself: partial schemas, help, fixed texts.

The partial frame of each table carries ``keys``, ``types``, ``foreignKeys`` and ``attributes`` as the live
venue sends them (``reference/exchange-protocols.md`` B5, E7-E10). ``REAL_PUBLIC`` and ``REAL_PRIVATE`` are every
table the venue has, so a table it has but the simulator does not serve gets its own error. Table names,
ops and row keys shared with the client are in :mod:`finxtui.wire.bitmex`.
"""

from __future__ import annotations

from typing import Any

from finxtui.wire import bitmex as bmx

VERSION = "2025-06-02T08:00:00.000Z"  # the welcome's build stamp
DOCS = "https://www.bitmex.com/app/wsAPI"

REAL_PUBLIC = ("announcement", "connected", "chat", "publicNotifications", "instrument", "settlement", "funding",
               "insurance", "liquidation", "orderBookL2", "orderBookL2_25", "orderBook10", "quote", "trade",
               "quoteBin1m", "quoteBin5m", "quoteBin1h", "quoteBin1d", "tradeBin1m", "tradeBin5m", "tradeBin1h",
               "tradeBin1d")
REAL_PRIVATE = ("privateNotifications", "account", "wallet", "affiliate", "margin", "position", "transact", "order",
                "execution")

NOT_AUTHED = "User requested an account-locked subscription but no authorization was provided."
NOT_AUTHED_META = {"notes": "Account-locked tables include the following: "
                            "account,affiliate,execution,margin,order,position,privateNotifications,transact,wallet"}
BAD_REQUEST = 'Invalid request: expected {"op": string, "args": [...]}.'

# -- table schemas (partial ``keys``, ``types``, ``foreignKeys``, ``attributes``) ----------------------------

_BOOK_SCHEMA = (["symbol", "id", "side"],
                {"symbol": "symbol", "id": "long", "side": "symbol", "size": "long", "price": "float",
                 "timestamp": "timestamp"},
                {"symbol": "instrument", "side": "side"},
                {"symbol": "parted", "id": "sorted"})
SCHEMAS: dict[str, tuple[list[str], dict[str, str], dict[str, str], dict[str, str]]] = {
    bmx.L2_FULL: _BOOK_SCHEMA,
    bmx.L2_25: _BOOK_SCHEMA,
    "quote": ([], {"timestamp": "timestamp", "symbol": "symbol", "bidSize": "long", "bidPrice": "float",
                   "askPrice": "float", "askSize": "long"},
              {"symbol": "instrument"}, {"timestamp": "sorted", "symbol": "grouped"}),
    "trade": ([], {"timestamp": "timestamp", "symbol": "symbol", "side": "symbol", "size": "long", "price": "float",
                   "tickDirection": "symbol", "trdMatchID": "guid", "grossValue": "long", "homeNotional": "float",
                   "foreignNotional": "float", "trdType": "symbol"},
              {"symbol": "instrument", "side": "side"}, {"timestamp": "sorted", "symbol": "grouped"}),
    "tradeBin1m": ([], {"timestamp": "timestamp", "symbol": "symbol", "open": "float", "high": "float",
                        "low": "float", "close": "float", "trades": "long", "volume": "long", "vwap": "float",
                        "lastSize": "long", "turnover": "long", "homeNotional": "float",
                        "foreignNotional": "float"},
                   {"symbol": "instrument"}, {"timestamp": "sorted", "symbol": "grouped"}),
    "instrument": (["symbol"], {
        "symbol": "symbol", "rootSymbol": "symbol", "state": "symbol", "typ": "symbol", "listing": "timestamp",
        "front": "timestamp", "positionCurrency": "symbol", "underlying": "symbol", "quoteCurrency": "symbol",
        "underlyingSymbol": "symbol", "reference": "symbol", "referenceSymbol": "symbol", "maxOrderQty": "long",
        "maxPrice": "float", "lotSize": "long", "tickSize": "float", "multiplier": "long",
        "settlCurrency": "symbol", "underlyingToPositionMultiplier": "long",
        "underlyingToSettleMultiplier": "long", "quoteToSettleMultiplier": "long", "isQuanto": "boolean",
        "isInverse": "boolean", "initMargin": "float", "maintMargin": "float", "riskLimit": "long",
        "riskStep": "long", "taxed": "boolean", "deleverage": "boolean", "makerFee": "float",
        "takerFee": "float", "settlementFee": "float", "fundingBaseSymbol": "symbol",
        "fundingQuoteSymbol": "symbol", "fundingPremiumSymbol": "symbol", "fundingTimestamp": "timestamp",
        "fundingInterval": "timespan", "fundingRate": "float", "indicativeFundingRate": "float",
        "prevClosePrice": "float", "totalVolume": "long", "volume": "long", "volume24h": "long",
        "totalTurnover": "long", "turnover": "long", "turnover24h": "long", "homeNotional24h": "float",
        "foreignNotional24h": "float", "prevPrice24h": "float", "vwap": "float", "highPrice": "float",
        "lowPrice": "float", "lastPrice": "float", "lastPriceProtected": "float", "lastTickDirection": "symbol",
        "lastChangePcnt": "float", "bidPrice": "float", "midPrice": "float", "askPrice": "float",
        "hasLiquidity": "boolean", "openInterest": "long", "openValue": "long", "fairMethod": "symbol",
        "fairBasisRate": "float", "fairBasis": "float", "fairPrice": "float", "markMethod": "symbol",
        "markPrice": "float", "indicativeSettlePrice": "float", "timestamp": "timestamp"},
        {"inverseLeg": "instrument", "underlying": "currency", "quoteCurrency": "currency",
         "settlCurrency": "currency"},
        {"symbol": "unique"}),
    "position": (["account", "symbol", "currency"], {
        "account": "long", "symbol": "symbol", "currency": "symbol", "underlying": "symbol",
        "quoteCurrency": "symbol", "commission": "float", "initMarginReq": "float", "maintMarginReq": "float",
        "riskLimit": "long", "leverage": "float", "crossMargin": "boolean", "rebalancedPnl": "long",
        "prevRealisedPnl": "long", "openOrderBuyQty": "long", "openOrderSellQty": "long", "currentQty": "long",
        "currentCost": "long", "currentComm": "long", "realisedCost": "long", "unrealisedCost": "long",
        "isOpen": "boolean", "markPrice": "float", "markValue": "long", "riskValue": "long",
        "homeNotional": "float", "foreignNotional": "float", "posState": "symbol", "posCost": "long",
        "posCross": "long", "posComm": "long", "posLoss": "long", "posMargin": "long", "posMaint": "long",
        "posInit": "long", "initMargin": "long", "maintMargin": "long", "realisedPnl": "long",
        "unrealisedPnl": "long", "unrealisedPnlPcnt": "float", "unrealisedRoePcnt": "float",
        "avgCostPrice": "float", "avgEntryPrice": "float", "breakEvenPrice": "float", "marginCallPrice": "float",
        "liquidationPrice": "float", "bankruptPrice": "float", "lastPrice": "float", "lastValue": "long",
        "timestamp": "timestamp"},
        {"symbol": "instrument"},
        {"account": "sorted", "symbol": "grouped", "currency": "grouped", "underlying": "grouped",
         "quoteCurrency": "grouped"}),
    "margin": (["account", "currency"], {
        "account": "long", "currency": "symbol", "riskLimit": "long", "amount": "long",
        "prevRealisedPnl": "long", "grossComm": "long", "grossOpenCost": "long", "grossOpenPremium": "long",
        "grossExecCost": "long", "grossMarkValue": "long", "riskValue": "long", "initMargin": "long",
        "maintMargin": "long", "targetExcessMargin": "long", "realisedPnl": "long", "unrealisedPnl": "long",
        "walletBalance": "long", "marginBalance": "long", "marginLeverage": "float", "marginUsedPcnt": "float",
        "excessMargin": "long", "availableMargin": "long", "withdrawableMargin": "long",
        "timestamp": "timestamp"},
        {}, {"account": "sorted", "currency": "grouped"}),
    "order": (["orderID"], {
        "orderID": "guid", "clOrdID": "symbol", "account": "long", "symbol": "symbol", "side": "symbol",
        "orderQty": "long", "price": "float", "displayQty": "long", "stopPx": "float", "pegPriceType": "symbol",
        "currency": "symbol", "settlCurrency": "symbol", "ordType": "symbol", "timeInForce": "symbol",
        "execInst": "symbol", "ordStatus": "symbol", "workingIndicator": "boolean", "leavesQty": "long",
        "cumQty": "long", "avgPx": "float", "text": "symbol", "transactTime": "timestamp",
        "timestamp": "timestamp"},
        {"symbol": "instrument", "side": "side", "ordStatus": "ordStatus"},
        {"orderID": "grouped", "account": "grouped", "ordStatus": "grouped", "workingIndicator": "grouped"}),
    "execution": (["execID"], {
        "execID": "guid", "orderID": "guid", "clOrdID": "symbol", "account": "long", "symbol": "symbol",
        "side": "symbol", "lastQty": "long", "lastPx": "float", "orderQty": "long", "price": "float",
        "currency": "symbol", "settlCurrency": "symbol", "execType": "symbol", "ordType": "symbol",
        "ordStatus": "symbol", "leavesQty": "long", "cumQty": "long", "avgPx": "float", "commission": "float",
        "execCost": "long", "execComm": "long", "trdMatchID": "guid", "transactTime": "timestamp",
        "timestamp": "timestamp"},
        {"symbol": "instrument", "side": "side", "ordStatus": "ordStatus"},
        {"execID": "grouped", "account": "grouped", "execType": "grouped", "transactTime": "sorted"}),
}

HELP = {
    "info": "See https://www.bitmex.com/app/wsAPI and https://www.bitmex.com/explorer for more documentation.",
    "usage": 'Send a message in the format: {"op": string, "args": Array<string>}',
    "ops": [bmx.AUTH_KEY, bmx.AUTH_KEY_EXPIRES, bmx.CANCEL_ALL_AFTER, bmx.SUBSCRIBE, bmx.UNSUBSCRIBE],
    "subscribe": 'To subscribe, send: {"op": "subscribe", "args": [subscriptionTopic, ...]}.',
    "subscriptionSubjects": {"authenticationRequired": list(bmx.PRIVATE_TABLES),
                             "public": list(bmx.PUBLIC_TABLES)},
}


def js_error(text: str, pos: int) -> str:
    """A JSON.parse message, as the Node.js venue words it."""
    if pos >= len(text):
        return "Unexpected end of JSON input"
    return f"Unexpected token {text[pos]} in JSON at position {pos}"


def partial_frame(table: str, filt: dict[str, Any], data: list[dict[str, Any]]) -> dict[str, Any]:
    """A table's ``partial``: the schema, the filter it answers, and the image."""
    keys, types, foreign, attributes = SCHEMAS[table]
    return {"table": table, "action": "partial", "keys": keys, "types": types, "foreignKeys": foreign,
            "attributes": attributes, "filter": filt, "data": data}
