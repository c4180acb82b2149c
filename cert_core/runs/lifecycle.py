"""A run's life in the store while workers certify it: the worker's heartbeat, the versions it records, the cancel
flag read cheaply between forward batches, the error text, and the run's status when a worker stops (``settle``).
``cert_core.runs.worker`` certifies with these; ``owning`` lets rank 0 of a torchrun job hold the run while every
rank certifies (``cert_core.runs.cli``).
"""
from __future__ import annotations

import contextlib
import os
import platform
import threading
import time
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

if TYPE_CHECKING:                       # only annotated: the callers hand in their store
    from cert_core.runs.store import RunStore


class Heartbeat(threading.Thread):
    """Renews this process's worker lease in the store every ``every`` seconds (``RunStore.heartbeat``); a worker
    whose heartbeat stopped counts as dead, and its run reads as interrupted."""
    def __init__(self, store: RunStore, every: float = 2.0):
        super().__init__(daemon=True)
        self.store, self.every, self.done = store, every, threading.Event()

    def run(self):
        while not self.done.wait(self.every):
            with contextlib.suppress(Exception):   # a busy store must not kill the worker
                self.store.heartbeat()


def versions(device: torch.device) -> dict:
    out = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
           "host": platform.node(), "pid": os.getpid()}
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


@contextlib.contextmanager
def owning(store: RunStore | None, run_id: int | None, device, ranks: int = 1):
    """Rank 0 of a torchrun job holds the run (worker entry, heartbeat, status) while every rank certifies;
    yields ``should_stop()`` (the run's cancel flag). ``store`` None: nothing is recorded."""
    if store is None:
        yield lambda: False
        return
    store.register_worker(run_id, 0, 1)
    store.update(run_id, status="running", device=str(device), versions=versions(device), started=time.time())
    store.add_note(run_id, f"Certified by {ranks} torchrun ranks; rank 0 kept the run store.")
    beat = Heartbeat(store)
    beat.start()
    outcome, error = "interrupted", ""
    try:
        yield lambda: store.get(run_id).cancel_requested
        outcome = "finished"
    except Exception as exc:      # noqa: BLE001
        outcome, error = "failed", describe_error(exc)
        raise
    finally:
        beat.done.set()
        stop_worker(store, run_id, 0, outcome, error, True)


def describe_error(exc: BaseException) -> str:
    """``Type: message`` for a run's error column; never empty (a bare ``raise Exception()`` says so)."""
    text = str(exc).strip() or "(the model raised it without a message)"
    return f"{type(exc).__name__}: {text}"


def stop_worker(store, run_id, rank, outcome, error, settle_run) -> str:
    """Release (run, rank) and, with ``settle_run``, settle the run's status; 'deleted' for a run deleted meanwhile."""
    try:
        store.release_worker(run_id, rank)
        return settle(store, run_id, outcome, error) if settle_run else store.get(run_id).status
    except ValueError:      # the run was deleted while it ran
        return "deleted"


def cancel_check(store: RunStore, run_id: int, every: float = 1.0) -> Callable[[], bool]:
    """A cheap ``should_stop()``: reads the run's cancel flag at most every ``every`` seconds; a deleted run
    also stops."""
    state = {"at": -float("inf"), "stop": False}

    def should_stop() -> bool:
        now = time.monotonic()
        if not state["stop"] and now - state["at"] >= every:
            state["at"] = now
            try:
                state["stop"] = store.get(run_id).cancel_requested
            except ValueError:       # deleted while it ran
                state["stop"] = True
        return state["stop"]

    return should_stop


def settle(store: RunStore, run_id: int, outcome: str = "finished", error: str = "") -> str:
    """The run's status after a worker stopped with ``outcome``; 'running' while other ranks work."""
    run = store.get(run_id)
    if run.done >= run.total:
        status = "done"
    elif outcome == "failed":
        status = "failed"
    elif store.live_workers(run_id):
        return run.status
    else:
        status = "cancelled" if run.cancel_requested else "interrupted"
    values = {"status": status, "finished": time.time()}
    if error:
        values["error"] = error
    store.update(run_id, **values)
    return status
