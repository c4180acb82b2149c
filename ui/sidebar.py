"""The shared sidebar: pick the current model, read its card, set sigma."""
from __future__ import annotations

import streamlit as st

from cert_core.models.bundles import ModelLoadError
from ui import lessons, navigation, presenter, sigma_fragments, state


def render() -> None:
    sigma_fragments.forget()          # a whole-app run: the page says again which fragments a σ step reruns
    with st.sidebar:
        st.markdown("### :material/verified_user: Certified Robustness Explorer")
        keys = state.model_keys()
        if "_pending_model" in st.session_state:
            st.session_state["model_key"] = st.session_state.pop("_pending_model")
        if st.session_state.get("model_key") not in keys:
            st.session_state["model_key"] = f"zoo:{state.DEFAULT_MODEL}"
        st.selectbox("Model", keys, key="model_key", format_func=state.model_label,
                     help="The classifier every page works on: a zoo model, or one you trained or uploaded.")
        # σ right under the model: the control a lecturer reaches for most stays above the fold even with every
        # page in the navigation (at 1600×1000 it sat below it once the Draw and Receipts pages joined)
        sigma_fragments.slider()
        _model_card()
        presenter.toggle()
        lessons.sidebar_card()
        if presenter.active():
            _page_list()
    presenter.apply()


def _page_list() -> None:
    """Presenter mode's navigation, below the controls (app.py hides Streamlit's list on top of the sidebar, which
    at 1280×720 pushed σ below the fold): the registry's pages under their section headings."""
    st.divider()
    section = None
    for page in navigation.PAGES:
        if page.visibility == "hidden":
            continue
        if page.section != section:
            section = page.section
            st.caption(section)
        st.page_link(page.file, label=page.title, icon=page.icon)


def _model_card() -> None:
    try:
        current = state.current_model()
    except (ModelLoadError, FileNotFoundError, ValueError) as exc:
        st.error(f"This model cannot be loaded: {exc}", icon=":material/error:")
        return
    meta, cfg = current.loaded.metadata, current.loaded.config
    if cfg is not None:
        arch = f"{cfg.arch.upper()} {cfg.width}×{cfg.depth}, {cfg.activation}"
    else:
        arch = "TorchScript"
    shape = "×".join(str(s) for s in (current.loaded.input_shape or ("?",)))
    data = current.dataset.name if current.dataset is not None else (meta.get("dataset") or {}).get("name", "—")
    acc = meta.get("accuracy")
    sigma_train = meta.get("sigma_train")
    trained = f"σ_train {sigma_train:g}" if isinstance(sigma_train, (int, float)) else "σ_train unknown"
    accuracy = f"test accuracy {acc:.1%}" if isinstance(acc, (int, float)) else "test accuracy unknown"
    lines = [f"**{data}** · input {shape} · {current.num_classes} classes · {arch}", f"{trained} · {accuracy}"]
    st.caption("  \n".join(lines))
