"""The certification worker: runs CERTIFY (Cohen et al. 2019, Section 3.2) over a run's examples and
commits each finished chunk to the run store at once.

    python -m cert_core.worker --store runs.sqlite --run 7 [--run 8 ...]

The app starts this as a separate process (``launch``), so closing the tab, a crashed server or a
killed worker loses no finished example; ``resume`` continues where the store says it stopped.
Examples are certified ``chunk_size`` at a time with ``Smooth.certify_batch``; each chunk's noise
comes from a generator seeded by ``(seed, first index)``, so certificates are independent across
chunks and a resumed or sharded run draws the same noise per chunk as an uninterrupted one would.

GPU sharing: a run on ``cuda:N`` first takes one of ``$CERT_EXPLORER_GPU_SLOTS`` (default 1) file
locks of that device next to the store (the kernel drops a dead process's lock), so concurrent runs
queue instead of running out of memory. If a forward batch still does not fit, the batch size is
halved and the chunk retried, with a note on the run (``certify_with_backoff``).

Sharding: rank r of W certifies every W-th example of the selection (position % W == r) into the
same run; the primary key (run, idx) merges ranks without duplicates.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import pathlib
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from .data import load_dataset
from .models import LoadedModel, load_model
from .runs import RunSpec, RunStore
from .smoothing import Smooth
from .zoo import load_zoo_model

try:
    import fcntl
except ImportError:  # not on Windows: runs then share the GPU without a queue
    fcntl = None

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


class Cancelled(Exception):
    """The run's cancel flag was set."""


@dataclass(frozen=True)
class Shard:
    rank: int = 0            # this worker's rank
    world_size: int = 1      # number of ranks certifying the run together
    local_rank: int = 0      # rank on this machine: picks cuda:local_rank

    def take(self, indices: np.ndarray) -> np.ndarray:
        return indices[self.rank:: self.world_size]   # positions p with p % W == rank


@dataclass(frozen=True)
class RunData:
    x: np.ndarray            # (N, *D) float32 test inputs
    y: np.ndarray            # (N,) int64 labels
    num_classes: int


# ---------------------------------------------------------------------- resolving a spec
def resolve_device(spec: str, local_rank: int = 0, what: str = "--device") -> torch.device:
    """auto: cuda:local_rank if CUDA is present, else cpu; cuda: cuda:local_rank; cuda:N as given."""
    if spec in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if spec == "auto":
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ValueError(f"{what} must be auto, cpu, cuda or cuda:N. Got {spec!r} instead.") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{what} must be auto, cpu, cuda or cuda:N. Got {spec!r} instead.")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{what} cuda was asked for, but no CUDA device is available here (use auto or cpu)")
    return device


def load_run_model(spec: dict) -> LoadedModel:
    if "zoo" in spec:
        return load_zoo_model(spec["zoo"])
    if "path" in spec:
        return load_model(spec["path"], metadata=spec.get("metadata"))
    raise ValueError(f"A run's model must name a zoo entry or a file. Got {spec!r} instead.")


def load_npz(source, input_shape=None) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from an .npz (keys x/y, images/labels or x_test/y_test); uint8 is scaled to
    [0, 1] and HWC images are transposed to CHW when that matches ``input_shape``."""
    try:
        with np.load(source, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"The .npz file could not be read: {exc}") from None
    for xk, yk in (("x", "y"), ("images", "labels"), ("x_test", "y_test"), ("X", "y")):
        if xk in arrays and yk in arrays:
            x, y = arrays[xk], arrays[yk]
            break
    else:
        raise ValueError(f"The .npz needs arrays named x and y (or images and labels). It has {sorted(arrays)}.")
    if x.ndim < 2 or y.ndim != 1 or len(x) != len(y) or len(y) == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"The .npz must hold x of shape (N, ...) and integer labels y of shape (N,). "
                         f"Got x {x.shape} and y {y.shape} ({y.dtype}) instead.")
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if input_shape is not None:
        x = _fit_shape(x, tuple(input_shape))
    if not np.isfinite(x).all():
        raise ValueError("The .npz images contain NaN or inf.")
    return x, y.astype(np.int64)


def _fit_shape(x: np.ndarray, shape: tuple) -> np.ndarray:
    if x.shape[1:] == shape:
        return x
    if x.ndim == 3 and shape[0] == 1 and x.shape[1:] == shape[1:]:
        return x[:, None]                       # (N, H, W) -> (N, 1, H, W)
    if x.ndim == 4 and x.shape[1:] == (*shape[1:], shape[0]):
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))    # (N, H, W, C) -> (N, C, H, W)
    raise ValueError(f"The model takes inputs of shape {shape}, but the data has {tuple(x.shape[1:])}.")


def load_run_data(spec: dict, loaded: LoadedModel) -> RunData:
    if spec.get("name") == "npz":
        x, y = load_npz(spec["path"], loaded.input_shape)
        k = int(loaded.num_classes or y.max() + 1)
        if y.min() < 0 or y.max() >= k:
            raise ValueError(f"The .npz labels must lie in 0..{k - 1} for this {k}-class model. Got {y.min()}..{y.max()}.")
        return RunData(x, y, k)
    ds = load_dataset(**spec)
    if loaded.input_shape is not None and tuple(loaded.input_shape) != tuple(ds.input_shape):
        raise ValueError(f"The model takes inputs of shape {tuple(loaded.input_shape)}, but {ds.name} has {ds.input_shape}.")
    return RunData(ds.x_test, ds.y_test, int(loaded.num_classes or ds.num_classes))


# ---------------------------------------------------------------------- certifying
def chunk_size(n: int, batch: int) -> int:
    """Examples per certify_batch call: enough to fill a few forward batches when n is small, one
    example when n is large (so every example is committed as soon as it is done)."""
    return int(min(256, max(1, math.ceil(8 * batch / n))))


def chunk_seed(seed: int, first_idx: int) -> int:
    return int(np.random.SeedSequence([seed, int(first_idx)]).generate_state(1, np.uint64)[0] >> 1)


def is_oom(exc: BaseException | None) -> bool:
    """Out of memory, also when wrapped (Smooth turns model RuntimeErrors into ValueErrors)."""
    seen = 0
    while exc is not None and seen < 8:
        text = str(exc).lower()
        if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def certify_with_backoff(smooth: Smooth, xs: torch.Tensor, spec: RunSpec, batch: int, seed: int,
                         on_note: Callable[[str], None] = lambda text: None):
    """certify_batch, halving ``batch`` on out-of-memory; returns (certificates, batch that fit)."""
    while True:
        generator = torch.Generator(device=xs.device).manual_seed(seed)
        try:
            return smooth.certify_batch(xs, spec.n0, spec.n, spec.alpha, batch, generator), batch
        except (RuntimeError, ValueError) as exc:
            if not is_oom(exc) or batch <= 1:
                raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        on_note(f"Out of memory with batch {batch} on {xs.device}; continuing with batch {max(1, batch // 2)}.")
        batch = max(1, batch // 2)


def certify_chunks(smooth: Smooth, data: RunData, indices, spec: RunSpec, device: torch.device,
                   rank: int = 0, on_note=lambda text: None) -> Iterator[list[dict]]:
    """Certify ``indices`` of ``data`` chunk by chunk; yields one row dict per finished example."""
    batch, indices = spec.batch, np.asarray(indices, dtype=np.int64)
    step = chunk_size(spec.n, batch)
    for lo in range(0, len(indices), step):
        idx = indices[lo: lo + step]                                     # (C,)
        xs = torch.from_numpy(data.x[idx]).to(device)                    # (C, *D)
        certs, batch = certify_with_backoff(smooth, xs, spec, batch, chunk_seed(spec.seed, idx[0]), on_note)
        with torch.inference_mode():
            base = smooth.model(xs).argmax(1).cpu().numpy()              # (C,) f(x), the clean prediction
        yield [dict(idx=int(i), label=int(data.y[i]), prediction=c.prediction, radius=c.radius,
                    p_lower=c.p_lower, correct=c.prediction == int(data.y[i]), base_prediction=int(b),
                    seconds=c.seconds, rank=rank) for i, c, b in zip(idx, certs, base)]


# ---------------------------------------------------------------------- one worker on one run
@contextlib.contextmanager
def device_lock(folder, device, on_wait: Callable[[str], None] = lambda text: None, poll: float = 0.5):
    """Hold one of the device's GPU slots (file locks in ``folder``) while certifying; CPU: no lock.
    ``on_wait`` is called while waiting (it may raise Cancelled)."""
    device = torch.device(device)
    if device.type != "cuda" or fcntl is None:
        yield
        return
    slots = max(1, int(os.environ.get("CERT_EXPLORER_GPU_SLOTS", "1")))
    folder = pathlib.Path(folder) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    handles = [open(folder / f"cuda{device.index or 0}-slot{s}.lock", "a+") for s in range(slots)]
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


class _Heartbeat(threading.Thread):
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


def run_shard(store: RunStore, run_id: int, shard: Shard = Shard(), loaded: LoadedModel | None = None,
              data: RunData | None = None, on_rows=None, settle_run: bool = True) -> str:
    """Certify this shard's unfinished examples of a run into the store; returns the run's status.

    Raises ValueError if another live process already works on (run, rank). A cancel request stops
    after the current chunk; KeyboardInterrupt/SystemExit leave the run 'interrupted' and re-raise.
    """
    if not store.register_worker(run_id, shard.rank, shard.world_size):
        raise ValueError(f"Run {run_id} (rank {shard.rank}) is already being certified by a live worker.")
    beat = _Heartbeat(store)
    beat.start()
    outcome, error = "interrupted", ""
    try:
        _certify_run(store, run_id, shard, loaded, data, on_rows)
        outcome = "finished"
    except Cancelled:
        outcome = "cancelled"
    except (ValueError, OSError, RuntimeError) as exc:
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        beat.done.set()
        status = _stop(store, run_id, shard.rank, outcome, error, settle_run)
    return status


def _stop(store, run_id, rank, outcome, error, settle_run) -> str:
    try:
        store.release_worker(run_id, rank)
        return settle(store, run_id, outcome, error) if settle_run else store.get(run_id).status
    except ValueError:      # the run was deleted while it ran
        return "deleted"


def _certify_run(store, run_id, shard, loaded, data, on_rows) -> None:
    run = store.get(run_id)
    spec = run.spec
    if run.cancel_requested:
        raise Cancelled
    loaded = loaded or load_run_model(spec.model)
    data = data or load_run_data(spec.data, loaded)
    device = resolve_device(spec.device, shard.local_rank, what="device")

    def wait(text):
        if text:
            store.update(run_id, status="queued")
            store.add_note(run_id, text)
        if store.get(run_id).cancel_requested:
            raise Cancelled

    with device_lock(store.path.parent, device, wait):
        store.update(run_id, status="running", device=str(device), versions=versions(device),
                     started=store.get(run_id).started or time.time())
        done = store.done_indices(run_id)
        todo = [i for i in shard.take(spec.select(len(data.y))) if int(i) not in done]
        smooth = Smooth(loaded.model.to(device), data.num_classes, spec.sigma)
        for rows in certify_chunks(smooth, data, todo, spec, device, shard.rank,
                                   on_note=lambda text: store.add_note(run_id, text)):
            store.add_examples(run_id, rows)          # committed: survives any crash from here on
            if on_rows is not None:
                on_rows(rows)
            if store.get(run_id).cancel_requested:
                raise Cancelled


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


# ---------------------------------------------------------------------- the app's side
def launch(store: RunStore, run_ids) -> subprocess.Popen:
    """Start a worker process for ``run_ids`` (certified one after another) and register it."""
    run_ids = [int(i) for i in run_ids]
    logs = store.path.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "cert_core.worker", "--store", str(store.path)]
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
    parser = argparse.ArgumentParser(prog="python -m cert_core.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="the run store file")
    parser.add_argument("--run", type=int, action="append", required=True, help="run id (repeatable)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # unwinds: the run is marked interrupted
    store = RunStore(args.store)
    for run_id in args.run:
        try:
            print(f"run {run_id}: {run_shard(store, run_id)}", flush=True)
        except ValueError as exc:
            print(f"run {run_id}: {exc}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
