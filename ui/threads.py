"""How many threads torch's CPU kernels use in the app process: one by default.

The app's work is many small tensors (2D points, 8×8 digits, batches of a few thousand noise samples), on a
machine where several sessions (and the warm-up thread, ui/warmup.py) compute at once. With torch's default of
one intra-op thread per core, every small kernel wakes and waits for all cores; when the cores are busy (another
session, another process) those waits dominate. Measured on the 2-core classroom machine under load (bench/
torch_threads.py, bench/RESULTS.md): the SRA page with the digits model and the per-input σ test-set study are
many times faster on one thread. Sessions still run in parallel: each script run is its own Python thread and
torch releases the GIL inside its kernels.

``CERT_EXPLORER_TORCH_THREADS`` overrides the count (e.g. a big model on a many-core machine without load).
The setting is process-wide, so it is made once, before any computation (app.py calls ``configure()`` first).
"""
from __future__ import annotations

import os
import threading

import torch

ENV = "CERT_EXPLORER_TORCH_THREADS"
DEFAULT_THREADS = 1
_lock = threading.Lock()
_configured: int | None = None


def requested_threads() -> int:
    """The thread count the environment asks for (``DEFAULT_THREADS`` when unset or not a positive integer)."""
    raw = os.environ.get(ENV, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_THREADS


def configure() -> int:
    """Set torch's intra-op thread count once per process (later calls change nothing); returns the count."""
    global _configured
    with _lock:
        if _configured is None:
            _configured = requested_threads()
            torch.set_num_threads(_configured)
        return _configured
