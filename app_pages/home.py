"""Welcome: what certified robustness is, in a few sentences, and where to start."""
import streamlit as st

from ui import navigation

st.title("Certified Robustness Explorer")
st.markdown(
    "A classifier is **robust** at a point if no small perturbation changes its answer. An attack can only "
    "show that a perturbation *exists*; a **certificate** proves that *none* exists within a radius.\n\n"
    "**Gaussian randomized smoothing** (Cohen, Rosenfeld & Kolter, 2019) turns any classifier *f* into a "
    "smoothed classifier *g* that answers with the class *f* picks most often under Gaussian noise. "
    "If the top class wins with probability $p_A$, the answer of *g* provably cannot change within radius")
st.latex(r"g(x) = \arg\max_c \; \Pr_{\varepsilon \sim \mathcal N(0, \sigma^2 I)}\big[f(x+\varepsilon) = c\big],"
         r"\qquad R = \sigma\, \Phi^{-1}(\underline{p_A}).")
st.markdown(
    "In 2D everything can be seen *and* computed exactly: the smoothed classifier is a Gaussian blur of "
    "the base classifier's regions, so the Monte Carlo certificate can be checked against the truth.")

st.subheader("Start here")
c1, c2 = st.columns(2)
with c1, st.container(border=True):
    st.markdown("**1 · Drag σ and watch the boundary smooth out**  \nBase and smoothed regions side by side; "
                "click any point to see its noise cloud, votes and certified radius.")
    st.page_link(navigation.BOUNDARIES.file, label="Open the decision boundaries", icon=navigation.BOUNDARIES.icon,
                 help="The 2D explorer: exact smoothing, certificates and their ground truth.")
with c2, st.container(border=True):
    st.markdown("**2 · Pick, train or upload a model**  \nBrowse the zoo, train a small network with noise "
                "augmentation, or bring your own bundle, TorchScript file or CSV of points.")
    st.page_link(navigation.MODELS.file, label="Open the model hub", icon=navigation.MODELS.icon,
                 help="Zoo, training, uploads and how the current model copes with noise.")

with st.container(border=True):
    st.markdown("**New to this? Take the seven-step lesson** — from what a certificate promises to where papers go "
                "wrong; each step opens the exact view it talks about. Terms are explained in the glossary.")
    a, b = st.columns(2)
    a.page_link(navigation.LESSONS.file, label="Start the lesson", icon=navigation.LESSONS.icon,
                help="A guided tour for a class: text, formula, a prompt and a button per step.")
    b.page_link(navigation.GLOSSARY.file, label="Open the glossary", icon=navigation.GLOSSARY.icon,
                help="Every term the pages use, with its formula.")

st.caption("The sidebar's model and σ apply to every page, and the address bar always holds a link that "
           "reproduces the current view (model, σ and the selected point).")
