"""Warm, once per server process and in the background, the caches every first visitor would otherwise wait for.

Whatever does not depend on the visitor is the same for everybody: the default model's exact maps (Decision
boundaries at the default resolution, Per-input σ at its defaults), its Lipschitz bound and the SRA page's
robustness curves, for the default model and for the digits margin model a class is shown next. app.py calls
``start()`` on every run; the first call starts one daemon thread that runs each page slice's ``cache.warm()`` (found at
run time, like the inspector's providers, so this module imports no slice): the very cached functions the page calls,
with the page's default arguments, so a page finds its values computed (a value the thread has not reached
yet is computed by the page as before: never wrong, at worst not faster).

The thread has no script-run context; Streamlit logs one "missing ScriptRunContext" warning per cached call from
such a thread, and a filter drops exactly those lines for this thread. ``CERT_EXPLORER_WARMUP=0`` switches it
off (the tests do, so that the suite's timings do not depend on it).
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import threading

from ui import navigation

THREAD_NAME = "cert-explorer-warmup"
BACKGROUND_PREFIX = THREAD_NAME + "-"   # other background threads calling cached functions (their warnings go too)
_lock = threading.Lock()
_started = False
_quiet = False
log = logging.getLogger(__name__)


class _WithoutWarmupContextWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return THREAD_NAME not in record.getMessage()


def start() -> bool:
    """Start the warm-up thread unless it ran already in this process or is switched off; True if it started."""
    global _started, _quiet
    with _lock:
        if not _quiet:        # also for the pages' background workers (named with BACKGROUND_PREFIX)
            logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
                _WithoutWarmupContextWarnings())
            _quiet = True
        if _started or os.environ.get("CERT_EXPLORER_WARMUP", "1") == "0":
            return False
        _started = True
    threading.Thread(target=warm, name=THREAD_NAME, daemon=True).start()
    return True


def slice_caches() -> list[str]:
    """The ``ui.<page>.cache`` module names of the page slices, in the sidebar's order (found, not imported)."""
    out = []
    for page in navigation.PAGES:
        spec = importlib.util.find_spec(f"ui.{page.key}")
        if spec is not None and spec.submodule_search_locations is not None \
                and importlib.util.find_spec(f"ui.{page.key}.cache") is not None:   # a slice, not a plain module
            out.append(f"ui.{page.key}.cache")
    return out


def slice_warmers(attribute: str = "warm") -> list:
    """``warm`` (or another function ``attribute``) of every slice cache that has one (importing them, as their
    pages do anyway)."""
    steps = (getattr(importlib.import_module(name), attribute, None) for name in slice_caches())
    return [step for step in steps if step is not None]


def warm() -> None:
    """Each slice's warm-up on its own: one that fails (e.g. a dataset missing on this machine) does not stop the
    others. Every slice's ``warm`` (what a first visit needs) runs before any slice's ``warm_later`` (what the
    first interactions need, e.g. the σ₀ values next to the default)."""
    for step in slice_warmers() + slice_warmers("warm_later"):
        try:
            step()
        except Exception as exc:     # a warm-up must never take the app down; the page will say what is wrong
            log.info("warm-up step %s skipped: %s: %s", step.__module__, type(exc).__name__, exc)
