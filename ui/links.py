"""Shared links: the URL's query parameters (``model``, ``sigma``, ``x``, ``y``, presenter mode, a drawn model's
points and settings) seed the session once (``init_from_url``) and are rewritten on every run (``sync_url``), so a
copied link reproduces the view; ``follow_link`` opens a page as if such a link had been pasted. A value a link
cannot use gets one plain message (``plain``) and the rest of the link still applies. The state itself:
``ui.state``.
"""
from __future__ import annotations

import math
import re

import streamlit as st

from cert_core.models import drawn
from ui import presenter
from ui.state import (DEFAULT_MODEL, DEFAULT_SIGMA, SIGMA_MAX, SIGMA_MIN, VIEW, ZOO_NAMES, add_user_model, model_label,
                      selected_point, set_point, user_models)


def init_from_url() -> list[str]:
    """Seed session state from the query parameters once per session; returns problems to show."""
    ss = st.session_state
    if "_pending_link" in ss:           # follow_link: a link opened from inside the app
        return _apply_link(ss.pop("_pending_link"))
    if ss.get("_url_loaded"):
        return []
    ss["_url_loaded"] = True
    return _apply_link(st.query_params)


def _apply_link(qp) -> list[str]:
    """Seed the session from a link's query parameters (model, sigma, x, y, present); one message
    per parameter that cannot be used (the rest of the link still applies)."""
    ss, problems = st.session_state, []
    presenter.seed(qp)
    ss.setdefault("model_key", f"zoo:{DEFAULT_MODEL}")
    problems, rebuilt = _link_drawn(qp) if "draw" in qp else ([], False)
    name = qp.get("model")
    if name and not rebuilt:
        if name in ZOO_NAMES:
            ss["model_key"] = f"zoo:{name}"
        else:
            problems.append(f"The link names the model {plain(name)}, which is not in the zoo (models trained or "
                            f"uploaded in another session are not shared). Showing {DEFAULT_MODEL} instead.")
    ss.setdefault("sigma", DEFAULT_SIGMA)
    if "sigma" in qp:
        problems += _link_sigma(qp.get("sigma"))
    return problems + _link_point(qp)


def _link_drawn(qp) -> tuple[list[str], bool]:
    """Retrain the drawn model a link carries and make it current (one already in the session is reused);
    (messages, whether it worked)."""
    from ui import cache
    try:
        drawing, training = drawn.from_link(qp)
        params = drawn.link_params(drawing, training)
        same = [k for k, e in user_models().items() if e["loaded"].metadata.get("link") == params]
        if same:
            st.session_state["_pending_model"] = same[0]
            return [], True
        loaded = cache.drawn_model(params["draw"], training.sigma_train, training.epochs, training.seed)
    except ValueError as exc:             # DrawingError, or training that failed
        return [f"The link's drawn data cannot be used: {exc}. Showing {DEFAULT_MODEL} instead."], False
    add_user_model(loaded.metadata["name"], loaded, drawn.to_dataset(drawing))
    return [], True


def _link_sigma(raw) -> list[str]:
    """Apply a link's σ; a message that says what is wrong with it otherwise."""
    sigma = _float(raw)
    if sigma is None:
        return [f"The link's σ = {plain(raw)} is not a number. Using σ = {DEFAULT_SIGMA}."]
    if not SIGMA_MIN <= sigma <= SIGMA_MAX:
        why = " (σ must be positive)" if sigma <= 0 else ""
        return [f"The link's σ = {plain(raw, quote=False)} is outside the range [{SIGMA_MIN}, {SIGMA_MAX}]{why}. "
                f"Using σ = {DEFAULT_SIGMA}."]
    st.session_state["sigma"] = round(sigma, 2)
    return []


def _link_point(qp) -> list[str]:
    """Select a link's point (x, y); a message for a missing coordinate, a non-number or a point
    outside the view."""
    given = [k for k in ("x", "y") if k in qp]
    if not given:
        return []
    if len(given) == 1:
        other = "y" if given[0] == "x" else "x"
        return [f"The link gives {given[0]} = {plain(qp.get(given[0]))} but no {other}; a point needs both "
                "coordinates. No point selected."]
    bad = [f"{k} = {plain(qp.get(k))}" for k in ("x", "y") if _float(qp.get(k)) is None]
    if bad:
        return [f"The link's {' and '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a number. "
                "No point selected."]
    x, y = _float(qp.get("x")), _float(qp.get("y"))
    if not (VIEW[0] <= x <= VIEW[1] and VIEW[2] <= y <= VIEW[3]):
        return [f"The link's point ({x:g}, {y:g}) lies outside the view [{VIEW[0]:g}, {VIEW[1]:g}] × "
                f"[{VIEW[2]:g}, {VIEW[3]:g}]. No point selected."]
    set_point(x, y)
    return []


def plain(text, quote: bool = True, limit: int = 120) -> str:
    """User text (a link's value) for a Markdown message, shown as plain text: a short word or number as its
    repr; anything else (brackets, URLs, ``:red[...]``, backticks) inside a code span, where Markdown, links and
    Streamlit's directives are not interpreted. Long values are cut to ``limit`` characters."""
    text = str(text)
    shown = text if len(text) <= limit else text[:limit] + "…"
    if re.fullmatch(r"[\w .+-]{0,40}", shown) and "www." not in shown.lower():
        return repr(shown) if quote else shown
    shown = repr(shown) if quote else shown
    fence = "`" * (max((len(run) for run in re.findall("`+", shown)), default=0) + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def _float(text) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def sync_url() -> None:
    """Write the shareable state into the URL."""
    if "_pending_link" in st.session_state:     # follow_link already put the link there; it applies next run
        return
    params = link_params()
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def link_params() -> dict[str, str]:
    """The query parameters of a link to the current view (model, σ, point, presenter mode), from session state."""
    params = {"model": model_label(st.session_state.get("model_key", "")),
              "sigma": f"{st.session_state.get('sigma', DEFAULT_SIGMA):g}"}
    params.update(_rebuild_params(st.session_state.get("model_key", "")))
    point = selected_point()
    if point is not None:
        params.update(x=f"{point[0]:.3f}", y=f"{point[1]:.3f}")
    params.update(presenter.url_params())
    return params


def _rebuild_params(key: str) -> dict[str, str]:
    """The query parameters that rebuild a session model (a drawn one's points and settings), else none.
    Only a model trained here on its drawing qualifies: an uploaded bundle's metadata is not trusted to match."""
    entry = user_models().get(key)
    link = entry["loaded"].metadata.get("link") if entry else None
    if not isinstance(link, dict) or not all(isinstance(link.get(k), str) for k in drawn.LINK_KEYS):
        return {}
    if entry["dataset"] is None or entry["dataset"].spec.get("points") != link["draw"]:
        return {}
    return {k: link[k] for k in drawn.LINK_KEYS}


def follow_link(page: str, params: dict[str, str]) -> None:
    """Go to ``page`` as if a shared link with these query parameters (model, sigma, x, y) had been
    opened: the next run seeds the session from them in ``init_from_url``, before any widget exists,
    exactly like a pasted link (same checks, same messages), and the address bar shows the link.
    A link without x/y selects no point. Does not return."""
    params = {**params, **presenter.url_params()}
    if "x" not in params or "y" not in params:
        for key in ("point", "px", "py"):
            st.session_state.pop(key, None)
    st.session_state["_pending_link"] = params
    st.switch_page(page, query_params=params)
