"""Glossary: every term the pages use, with its formula, where it appears and related terms."""
import streamlit as st

from ui import glossary, navigation

st.title(navigation.GLOSSARY.title)
st.caption("Terms used across the app. Underlined terms on other pages link here; hover them for the one-line "
           "definition.")
query = st.text_input("Search", key="glossary_q", placeholder="e.g. radius, σ, sound",
                      help="Shows the terms whose name or text contain every word typed.")
terms = glossary.search(query) if query.strip() else glossary.TERMS
if not terms:
    st.warning(f"No term matches {query!r}. Clear the search to see all {len(glossary.TERMS)} terms.")
st.markdown(" · ".join(f"[{t.title}](#{t.slug})" for t in terms))


def _pages(term) -> None:
    pages = [p for p in term.pages if p is not navigation.GLOSSARY]
    if not pages:
        return
    cols = st.columns(min(len(pages), 4))
    for col, page in zip(cols * 2, pages):
        col.page_link(page.file, label=page.title, icon=":material/arrow_outward:")


for term in terms:
    with st.container(border=True):
        st.subheader(term.title, anchor=term.slug)
        st.markdown(glossary.typeset(f"**{term.short}** {term.body}"))
        if term.latex:
            st.latex(term.latex)
        _pages(term)
        notes = []
        if term.see:
            notes.append("See also: " + ", ".join(f"[{glossary.find(s).title}](#{glossary.find(s).slug})"
                                                  for s in term.see))
        if term.source:
            notes.append(f"Source: {term.source}")
        if notes:
            st.caption(" · ".join(notes))
