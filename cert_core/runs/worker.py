"""The certification worker: runs a run's method (CERTIFY of Cohen et al. 2019, data-dependent σ or
Bernstein; the engine is ``cert_core.runs.engine``) over its examples and commits each finished chunk to the run
store at once.

    python -m cert_core.runs.worker --store runs.sqlite --run 7 [--run 8 ...]

The app starts this as a separate process (``launch``), so closing the tab, a crashed server or a
killed worker loses no finished example; ``resume`` continues where the store says it stopped.
Examples are certified ``chunk_size`` at a time (Cohen: ``Smooth.certify_batch``); a Cohen example's
noise comes from its own generator seeded by ``(seed, idx)`` (ddrs too), so a
resumed or sharded run draws the same noise per example as an uninterrupted one would.

GPU sharing: a run on ``cuda:N`` first takes one of ``$CERT_EXPLORER_GPU_SLOTS`` (default 1) file
locks of that device next to the store (the kernel drops a dead process's lock), so concurrent runs
queue instead of running out of memory. CPU runs queue the same way for one of ``$CERT_EXPLORER_CPU_SLOTS``
(default: half the cores, at least 1), so nobody can start an unbounded number of CPU-heavy workers.

Cancel: the worker checks the run's cancel flag (at most once a second) before every forward batch
(``cert_core.smoothing.stop_when``), so a cancel stops even one long example (n = 10⁷) within seconds. If a forward batch still does not fit, the batch size is
halved and the chunk retried, with a note on the run (``certify_with_backoff``).

Sharding (workers sharing one store on one machine): rank r of W certifies every W-th example of the
selection (position % W == r; ddrs and bernstein: every W-th chunk) into the same run; the primary key
(run, idx) merges ranks without duplicates. The CLI under torchrun does not share the store: rank 0 owns
it (``cert_core.runs.lifecycle.owning``) and the other ranks send rows over the process group
(``cert_core.runs.distributed``). A run's heartbeat, cancel check and final status: ``cert_core.runs.lifecycle``.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
from typing import Callable

import torch

from cert_core.models.bundles import LoadedModel
from cert_core.runs.chunks import Shard
from cert_core.runs.engine import run_chunks, run_method
from cert_core.runs.inputs import RunData, load_run_data, load_run_model, resolve_device
from cert_core.runs.lifecycle import Heartbeat, stop_worker, cancel_check, describe_error, versions
from cert_core.runs.store import RunStore
from cert_core.smoothing import Stopped, stop_when

try:
    import fcntl
except ImportError:  # not on Windows: runs then share the GPU without a queue
    fcntl = None

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


class Cancelled(Stopped):
    """The run's cancel flag was set."""


def cpu_slots() -> int:
    """How many CPU runs may certify at once on this machine (``$CERT_EXPLORER_CPU_SLOTS``)."""
    default = max(1, (os.cpu_count() or 2) // 2)
    try:
        return max(1, int(os.environ.get("CERT_EXPLORER_CPU_SLOTS", default)))
    except ValueError:
        return default


# ---------------------------------------------------------------------- one worker on one run
@contextlib.contextmanager
def device_lock(folder, device, on_wait: Callable[[str], None] = lambda text: None, poll: float = 0.5):
    """Hold one of the device's slots (file locks in ``folder``) while certifying: a GPU has
    ``$CERT_EXPLORER_GPU_SLOTS`` (default 1), the CPU ``cpu_slots()``; other devices: no lock.
    ``on_wait`` is called while waiting (it may raise Cancelled)."""
    device = torch.device(device)
    if device.type not in ("cuda", "cpu") or fcntl is None:
        yield
        return
    if device.type == "cuda":
        slots, stem = max(1, int(os.environ.get("CERT_EXPLORER_GPU_SLOTS", "1"))), f"cuda{device.index or 0}"
    else:
        slots, stem = cpu_slots(), "cpu"
    folder = pathlib.Path(folder) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / f"{stem}-slot{s}.lock", "a+") for s in range(slots)]
    try:
        held, first = None, True
        while held is None:
            for fh in handles:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = fh
                    break
                except BlockingIOError:
                    continue
            if held is None:
                on_wait(f"Waiting for {device}: another run is using it." if first else "")
                first = False
                time.sleep(poll)
        yield
    finally:
        for fh in handles:
            fh.close()          # closing drops the lock


def run_shard(store: RunStore, run_id: int, shard: Shard = Shard(), loaded: LoadedModel | None = None,
              data: RunData | None = None, on_rows=None, settle_run: bool = True) -> str:
    """Certify this shard's unfinished examples of a run into the store; returns the run's status.

    Raises ValueError if another live process already works on (run, rank). A cancel request stops
    after the current chunk; KeyboardInterrupt/SystemExit leave the run 'interrupted' and re-raise.
    """
    if not store.register_worker(run_id, shard.rank, shard.world_size):
        raise ValueError(f"Run {run_id} (rank {shard.rank}) is already being certified by a live worker.")
    beat = Heartbeat(store)
    beat.start()
    outcome, error = "interrupted", ""
    try:
        _certify_run(store, run_id, shard, loaded, data, on_rows)
        outcome = "finished"
    except Stopped:
        outcome = "cancelled"
    except Exception as exc:      # noqa: BLE001  any model error (a TorchScript raise is no RuntimeError)
        outcome, error = "failed", describe_error(exc)
    finally:
        beat.done.set()
        status = stop_worker(store, run_id, shard.rank, outcome, error, settle_run)
    return status


def _certify_run(store, run_id, shard, loaded, data, on_rows) -> None:
    run = store.get(run_id)
    spec = run.spec
    if run.cancel_requested:
        raise Cancelled
    loaded = loaded or load_run_model(spec.model)
    data = data or load_run_data(spec.data, loaded)
    device = resolve_device(spec.device, shard.local_rank, what="device")
    if run_method(spec.method).cpu_only:
        device = torch.device("cpu")           # e.g. Bernstein: the lattice contraction and LM are numpy

    def wait(text):
        if text:
            store.update(run_id, status="queued")
            store.add_note(run_id, text)
        if store.get(run_id).cancel_requested:
            raise Cancelled

    with device_lock(store.path.parent, device, wait):
        store.update(run_id, status="running", device=str(device), versions=versions(device),
                     started=store.get(run_id).started or time.time())
        note = lambda text: store.add_note(run_id, text)  # noqa: E731
        with stop_when(cancel_check(store, run_id)):     # checked before every forward batch
            for rows in run_chunks(loaded, data, spec, device, shard, store.done_indices(run_id), note):
                store.add_examples(run_id, rows)          # committed: survives any crash from here on
                if on_rows is not None:
                    on_rows(rows)
                if store.get(run_id).cancel_requested:
                    raise Cancelled


# ---------------------------------------------------------------------- the app's side
def launch(store: RunStore, run_ids) -> subprocess.Popen:
    """Start a worker process for ``run_ids`` (certified one after another) and register it."""
    run_ids = [int(i) for i in run_ids]
    logs = store.path.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "cert_core.runs.worker", "--store", str(store.path)]
    for i in run_ids:
        cmd += ["--run", str(i)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    with open(logs / f"run-{run_ids[0]}.log", "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)   # outlives the page
    for i in run_ids:
        store.register_worker(i, 0, 1, pid=proc.pid)
    threading.Thread(target=proc.wait, daemon=True).start()   # reap it, so a dead worker is no zombie
    return proc


def resume(store: RunStore, run_id: int) -> subprocess.Popen:
    """Continue an interrupted or cancelled run where the store says it stopped."""
    store.refresh()
    run = store.get(run_id)
    if store.live_workers(run_id):
        raise ValueError(f"Run {run_id} is already running.")
    if run.done >= run.total:
        raise ValueError(f"Run {run_id} is complete; there is nothing to resume.")
    if run.status == "imported":
        raise ValueError(f"Run {run_id} was imported from a TSV and cannot be resumed.")
    store.request_cancel(run_id, False)
    store.update(run_id, status="queued", error="")
    return launch(store, [run_id])


def cancel(store: RunStore, run_id: int) -> None:
    """Ask the run's workers to stop after their current chunk (finished examples stay)."""
    store.request_cancel(run_id)
    if not store.live_workers(run_id):
        store.update(run_id, status="cancelled")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cert_core.runs.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="the run store file")
    parser.add_argument("--run", type=int, action="append", required=True, help="run id (repeatable)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # unwinds: the run is marked interrupted
    try:
        store = RunStore(args.store)
    except ValueError as exc:
        print(exc, file=sys.stderr, flush=True)
        return 2
    for run_id in args.run:
        try:
            print(f"run {run_id}: {run_shard(store, run_id)}", flush=True)
        except ValueError as exc:
            print(f"run {run_id}: {exc}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
