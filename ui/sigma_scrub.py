"""σ scrubs a map in the browser: while the sidebar's σ thumb is dragged, the map shows the exact frame of the σ
under the thumb, before Streamlit reruns the page (issue 17, "σ step ≤ 0.3 s").

Streamlit 1.67's slider moves its thumb live while it is dragged and commits the value to the server only on
release (a keyboard step commits at once); a whole rerun cannot answer within 0.3 s on a busy 2-core machine.
So the page hands this component *exact frames*: for each σ of a window of slider steps around the committed σ,
the very picture the page draws at that σ (a PNG data URI from the page's own cached function, same resolution and
style), computed on the server and cached there. Each frame goes to a browser tab once: ``st.session_state``
remembers which (frames id, σ) this session has sent, and the JavaScript keeps them in a per-tab store
(``window.__sigmaScrub``).

The JavaScript (an ``st.components.v2`` component, inline, running in the main document)
watches the σ slider's live value. For a σ it holds a frame of, it swaps the map's picture (the ``ui.image_map``
picture's ``.imap image``, inside the shadow root the component draws in) and its title (``.imap-title``,
``σ = …``) at once and marks the chart element ``data-scrub-sigma`` with the σ
shown, so tests and bench/interaction_latency.py can see which σ is on screen. For a σ outside the window nothing
is invented: the map shows the committed σ's picture until the rerun. When the committed rerun arrives, the map
draws the same frame (the same cached string). Only the picture scrubs: the hover read-out, the circles and the
numbers update with the rerun.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from ui import state

SLIDER = "[data-testid='stSidebar'] .st-key-sigma"     # the sidebar σ slider's element (ui/sidebar.py, key "sigma")
WINDOW_BYTES = 1_000_000     # a window's frames on first send (bench/sigma_scrub_frames.py: ±8 steps at 300 px)
WINDOW_STEPS = (4, 30)       # fewest and most slider steps either side of σ
MOST_NEW = 6                 # frames a run computes at most (the rest of a window: later runs, or cached)
SENT = "_sigma_scrub_sent"   # session_state: the (frames id, σ label) pairs this session has sent to its tab
TITLE_SIGMA = "%s"           # where the σ label goes in a frame's title template

_JS = r"""
export default function ({ data, parentElement }) {
  const S = (window.__sigmaScrub ??= { stores: {}, observers: {} });
  const store = (S.stores[data.frames_id] ??= {});
  Object.assign(store, data.frames);
  const label = (v) => String(Math.round(v * 100) / 100);      // Python's f"{σ:g}" on the 0.01 slider grid
  const apply = () => {
    if (parentElement && !parentElement.isConnected) { S.observers[data.name]?.disconnect(); return; }   // page left
    const input = document.querySelector(data.slider + " input[type='range']");
    const chart = document.querySelector(data.selector);
    if (!input || !chart) return;
    const live = label(Number(input.value));
    const shown = live in store ? live : data.sigma;            // outside the window: the committed picture
    const host = chart.querySelector("[data-testid='stBidiComponentIsolated']"), pic = host?.shadowRoot ?? chart;
    if (host?.shadowRoot && !S.watched?.has(host.shadowRoot)) {
      (S.watched ??= new WeakSet()).add(host.shadowRoot);
      S.observers[data.name]?.observe(host.shadowRoot, { subtree: true, childList: true, attributes: true, attributeFilter: ["href"] });
    }
    const uri = store[shown], img = pic.querySelector(".imap image");
    if (!uri || !img) return;
    if (img.getAttribute("href") !== uri) img.setAttribute("href", uri);
    const title = pic.querySelector(".imap-title"), text = data.title.replace(data.title_sigma, shown);
    if (title && title.textContent !== text) title.textContent = text;
    if (chart.dataset.scrubSigma !== shown) chart.dataset.scrubSigma = shown;
  };
  S.observers[data.name]?.disconnect();
  const observer = (S.observers[data.name] = new MutationObserver(apply));
  const slider = document.querySelector(data.slider), chart = document.querySelector(data.selector);
  if (slider) observer.observe(slider, { subtree: true, childList: true, characterData: true, attributes: true,
                                          attributeFilter: ["value", "aria-valuetext", "style"] });
  if (chart) observer.observe(chart, { subtree: true, childList: true, attributes: true, attributeFilter: ["href"] });
  apply();
  return () => observer.disconnect();
}
"""
_COMPONENT = st.components.v2.component("sigma_scrub", js=_JS)


def label(sigma: float) -> str:
    """σ as the page prints it (``f"{σ:g}"``) and as the JavaScript keys its frames."""
    return f"{sigma:g}"


def window_steps(frame_bytes: int) -> int:
    """Slider steps either side of σ whose frames fit ``WINDOW_BYTES`` together (within ``WINDOW_STEPS``)."""
    lo, hi = WINDOW_STEPS
    return max(lo, min(hi, (WINDOW_BYTES // max(frame_bytes, 1) - 1) // 2))


def window(sigma: float, steps: int) -> list[float]:
    """The slider's σ values within ``steps`` steps of ``sigma``, nearest first (σ itself first)."""
    i0 = round((sigma - state.SIGMA_MIN) / state.SIGMA_STEP)
    last = round((state.SIGMA_MAX - state.SIGMA_MIN) / state.SIGMA_STEP)
    order = sorted(range(max(0, i0 - steps), min(last, i0 + steps) + 1), key=lambda i: (abs(i - i0), i))
    return [round(state.SIGMA_MIN + i * state.SIGMA_STEP, 2) for i in order]


@st.cache_resource(show_spinner=False)
def _made() -> set[tuple[str, str]]:
    """(frames id, σ label) of the frames this server has computed (their strings sit in the caller's cache)."""
    return set()


def made(frames_id: str, sigma: float) -> bool:
    """Whether this server has computed the frame of ``frames_id`` at σ (it sits in the caller's cache)."""
    return (frames_id, label(sigma)) in _made()


def frames(frames_id: str, frame: Callable[[float], str], sigma: float, skip=frozenset(),
           most_new: int | None = None, wider: int = 0) -> dict[str, str]:
    """The window's frames around ``sigma`` (label -> frame) but those in ``skip``, nearest first; at most
    ``most_new`` of them computed now (frames this server made before are cached and always included). ``wider``:
    slider steps added to the window on each side (a look-ahead makes the next steps' windows)."""
    made = _made()
    current = frame(sigma)
    made.add((frames_id, label(sigma)))
    out, budget = {}, most_new
    for s in window(sigma, window_steps(len(current)) + wider):
        key = (frames_id, label(s))
        if key in skip or key not in made and budget == 0:
            continue
        if key not in made and budget is not None:
            budget -= 1
        out[key[1]] = frame(s)
        made.add(key)
    return out


def scrub(key: str, selector: str, sigma: float, frames_id: str, frame: Callable[[float], str], title: str,
          most_new: int = MOST_NEW) -> None:
    """Mount the scrubber (no visible element) for the chart matching ``selector``.

    ``frame(σ)``: the picture's source at σ (cached by the caller; it must be the function the page
    draws the chart with); ``frames_id``: names everything else the picture depends on (model, resolution,
    style), so a frame is sent once per tab; ``title``: the chart's title with ``TITLE_SIGMA`` where σ goes.
    A run computes at most ``most_new`` frames (the nearest; ~35 ms each at 300 px on an idle core): after a long
    drag the window fills over the next runs, or at once where the warm-up, another visitor or a caller's
    background worker (the decision-boundaries page's look-ahead) made them."""
    sent = st.session_state.setdefault(SENT, set())
    new = frames(frames_id, frame, sigma, sent, most_new)
    _COMPONENT(key=key, height=0, data={"name": key, "selector": selector, "slider": SLIDER, "sigma": label(sigma),
                                        "frames_id": frames_id, "frames": new, "title": title,
                                        "title_sigma": TITLE_SIGMA})
    sent.update((frames_id, s) for s in new)
