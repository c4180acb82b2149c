"""The Receipts page's cards: a receipt's verdict, claim, our numbers next to the published ones, the tolerance,
the source and a button to the view that shows it (through the shared-link mechanism, like the lesson)."""
from __future__ import annotations

import streamlit as st

from cert_core.receipts.base import Receipt, ReceiptResult, View
from ui import links
from ui.glossary import typeset
from ui.navigation import BY_KEY


CSS = """<style>
[class*="st-key-receipt_card_"] table { width: 100%; }
[class*="st-key-receipt_card_"] td:last-child, [class*="st-key-receipt_card_"] th:last-child { width: 2.2em; }
</style>"""


def style() -> None:
    """Cards' tables span the card, so a grid row reads as one table width."""
    st.html(CSS)


def _cell(text: str) -> str:
    """Markdown-table-safe text (a '|' would split the cell)."""
    return text.replace("|", "∣").replace("\n", " ")


def lines_table(result: ReceiptResult) -> str:
    head = "| | ours | published / bound | |\n|---|---|---|:-:|\n"
    rows = [f"| {_cell(line.label)} | **{_cell(line.ours)}** | {_cell(line.expected)} | "
            f"{':green[**✓**]' if line.passed else ':red[**✗**]'} |" for line in result.lines]
    return head + "\n".join(rows)


def link_params(view: View) -> dict[str, str]:
    """The query parameters of a shared link to ``view`` (model, σ, point only where the receipt names them)."""
    params = {}
    if view.model:
        params["model"] = view.model
    if view.sigma is not None:
        params["sigma"] = f"{view.sigma:g}"
    if view.point is not None:
        params.update(x=f"{view.point[0]:.3f}", y=f"{view.point[1]:.3f}")
    return params


def pending_card(slot, entry: Receipt, index: int, waiting: bool) -> None:
    """A placeholder card in ``slot`` (an st.empty) while the receipt waits or runs."""
    with slot.container(border=True):
        st.markdown(f"**{index + 1} · {entry.title}**")
        st.caption(":material/hourglass_top: recomputing now…" if not waiting else ":material/schedule: queued")


def failed_card(slot, entry: Receipt, index: int, exc: Exception) -> None:
    with slot.container(border=True):
        st.markdown(f"**{index + 1} · {entry.title}** &nbsp; :red-badge[:material/error: could not run]")
        st.error(f"{type(exc).__name__}: {exc}", icon=":material/error:")


def card(slot, result: ReceiptResult, entry: Receipt, index: int) -> None:
    """One receipt in ``slot``: verdict badge, claim, the numbers, tolerance, source, where we differ, 'Show me'."""
    badge = ":green-badge[:material/check: holds]" if result.passed else ":red-badge[:material/close: does not hold]"
    with slot.container(border=True, key=f"receipt_card_{result.key}"):
        st.markdown(f"#### {index + 1} · {entry.title} &nbsp; {badge}")
        st.markdown(typeset(result.claim))       # p̲_A as the glossary writes it, not a literal '_'
        st.markdown(lines_table(result))
        st.markdown(f":material/straighten: **Tolerance:** {typeset(result.tolerance)}")
        st.caption(f":material/menu_book: **Source:** {result.source}")
        if result.note:
            st.caption(f":material/info: **Where ours differs:** {typeset(result.note)}")
        st.caption(f":material/settings: {result.setting} · {result.seconds:.1f} s")
        page = BY_KEY[result.view.page]
        label = f"Show me: {page.title}" + (f" — {result.view.label}" if result.view.label else "")
        if st.button(label, key=f"receipt_go_{result.key}", icon=":material/open_in_new:",
                     help="Opens the page that shows this (with the receipt's model, σ and point where it names "
                          "them), like a shared link."):
            links.follow_link(page.file, link_params(result.view))
