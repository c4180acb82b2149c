"""Warm, once per server process and in the background, the caches every first visitor would otherwise wait for.

Whatever does not depend on the visitor is the same for everybody: the default model's exact maps (Decision
boundaries at the default resolution, Per-input σ at its defaults), its Lipschitz bound and the SRA page's
robustness curves, for the default model and for the digits margin model a class is shown next. app.py calls
``start()`` on every run; the first call starts one daemon thread that calls the very cached functions the pages
call, with the pages' default arguments, so a page finds its values computed (a value the thread has not reached
yet is computed by the page as before: never wrong, at worst not faster).

The thread has no script-run context; Streamlit logs one "missing ScriptRunContext" warning per cached call from
such a thread, and a filter drops exactly those lines for this thread. ``CERT_EXPLORER_WARMUP=0`` switches it
off (the tests do, so that the suite's timings do not depend on it).
"""
from __future__ import annotations

import logging
import os
import threading

from ui import state

THREAD_NAME = "cert-explorer-warmup"
SRA_MODELS = (state.DEFAULT_MODEL, "digits-ortho-mscr-s0.1")    # the SRA page's curves: default, then digits
_lock = threading.Lock()
_started = False
log = logging.getLogger(__name__)


class _WithoutWarmupContextWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return THREAD_NAME not in record.getMessage()


def start() -> bool:
    """Start the warm-up thread unless it ran already in this process or is switched off; True if it started."""
    global _started
    with _lock:
        if _started or os.environ.get("CERT_EXPLORER_WARMUP", "1") == "0":
            return False
        _started = True
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        _WithoutWarmupContextWarnings())
    threading.Thread(target=warm, name=THREAD_NAME, daemon=True).start()
    return True


def warm() -> None:
    """Each step on its own: one that fails (e.g. a dataset missing on this machine) does not stop the others."""
    for step in (boundaries, per_input_sigma, *[lambda n=name: sra(n) for name in SRA_MODELS]):
        try:
            step()
        except Exception as exc:     # a warm-up must never take the app down; the page will say what is wrong
            log.info("warm-up step skipped: %s: %s", type(exc).__name__, exc)


def boundaries() -> None:
    from ui.boundaries import cache as bc
    current = state.zoo_current_model(state.DEFAULT_MODEL)
    bc.maps(current, state.DEFAULT_SIGMA, bc.DEFAULT_RESOLUTION, bc.CertifyParams(100, 10_000, 0.001, 0))


def per_input_sigma() -> None:
    from ui import cache
    from ui.ddrs import cache as ddrs_cache
    current = state.zoo_current_model(state.DEFAULT_MODEL)
    p = ddrs_cache.PageParams.defaults(state.DEFAULT_SIGMA)
    base = cache.base_map(current.key, current.model, state.VIEW, p.resolution, state.SIGMA_MAX)
    ddrs_cache.maps(current.key, base, state.VIEW, p.resolution, state.SIGMA_MAX, p.sigma0, p.sigma_range, p.count)
    if current.dataset is not None:
        ddrs_cache.memory_study(current, p)


def sra(name: str) -> None:
    from ui.margin import cache as mc
    current = state.zoo_current_model(name)
    k = mc.lipschitz(current.key, current.model, tuple(current.loaded.input_shape or ())).k
    if current.dataset is not None and k is not None:
        mc.curve_reports(current, k, [])
