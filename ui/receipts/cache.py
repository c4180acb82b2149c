"""Cached receipt checks for the Receipts page: one st.cache_data entry per (receipt key, scale), so a card that
was computed once shows at once on every later visit and only ``clear()`` recomputes it."""
from __future__ import annotations

import streamlit as st

from cert_core.receipts import registry
from cert_core.receipts.base import ReceiptResult, Scale


@st.cache_data(show_spinner=False, max_entries=64)
def result(key: str, scale: Scale) -> ReceiptResult:
    """``registry.receipt(key).run(scale)``: recomputed with the product's own code (cert_core.receipts)."""
    return registry.receipt(key).run(scale)


def clear() -> None:
    result.clear()
