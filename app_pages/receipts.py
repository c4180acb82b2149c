"""Receipts: the published numbers this product can check, recomputed live on this machine by the same code the
pages run, each a card with the claim, its source, our number, ✓/✗ with the tolerance and a button to its view."""
import streamlit as st

from cert_core.receipts import registry
from ui import presenter
from ui.receipts import cache, views

st.title("Receipts")
st.caption("Every number below is recomputed now, on this machine's CPU, by the same cert_core functions the other "
           "pages run — nothing is read back from a file of results. A card is green when our number matches the "
           "published one within the stated tolerance and red when it does not. The test suite runs the same "
           "checks and fails on a red card.")

views.style()
summary = st.empty()
with st.container(horizontal=True, vertical_alignment="center", gap="large"):
    quick = st.toggle("Quick check", key="receipts_quick",
                      help="The test suite's smaller settings (fewer test points and samples where a receipt needs "
                           "them; each card says which). Off: the full settings.")
    if st.button("Recompute", key="receipts_recompute", icon=":material/refresh:",
                 help="Forget the cached results and recompute every card."):
        cache.clear()
        st.rerun()
scale = "test" if quick else "page"
progress = st.progress(0.0)
summary.markdown(":gray[Recomputing the receipts one by one; each card appears as soon as it is done.]")

entries = registry.RECEIPTS
per_row = 1 if presenter.active() else 2              # a projector gets full-width cards, a desk a grid
slots = []
for start in range(0, len(entries), per_row):
    row = st.columns(per_row, gap="medium")
    slots += [col.empty() for col in row[:len(entries) - start]]
for i, (entry, slot) in enumerate(zip(entries, slots)):
    views.pending_card(slot, entry, i, waiting=True)

held, seconds = 0, 0.0
for i, (entry, slot) in enumerate(zip(entries, slots)):
    progress.progress(i / len(entries), text=f"Recomputing {i + 1}/{len(entries)}: {entry.title}…")
    views.pending_card(slot, entry, i, waiting=False)
    try:
        result = cache.result(entry.key, scale)
    except Exception as exc:                                         # a broken receipt must not break the page
        views.failed_card(slot, entry, i, exc)
        continue
    held, seconds = held + result.passed, seconds + result.seconds
    views.card(slot, result, entry, i)
progress.empty()

verdict = (":green-badge[:material/check: all hold]" if held == len(entries)
           else f":red-badge[:material/close: {len(entries) - held} do not hold]")
summary.markdown(f"**{held} of {len(entries)} receipts hold** {verdict} &nbsp; :gray[{'quick' if quick else 'full'} "
                 f"settings · computed in {seconds:.0f} s on this machine (cards are cached once computed)]")
