"""Pure market data: events, order books, tables. No I/O and no textual here."""
