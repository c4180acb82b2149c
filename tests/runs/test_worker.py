"""The background worker: SIGKILL mid-run then resume, concurrent runs, cancel, OOM back-off,
GPU slot queue, and torchrun-style sharding (two ranks as separate processes on CPU, gloo)."""
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from torch import nn

from cert_core.runs import worker
from cert_core.models.bundles import LoadedModel
from cert_core.runs.store import RunSpec, RunStore
from cert_core.methods.cohen.run import certify_with_backoff
from cert_core.runs.inputs import RunData, resolve_device
from cert_core.runs.worker import device_lock, run_shard
from cert_core.smoothing import Smooth
from runs_kit import second_run_order, wait_for

MOONS = {"name": "moons", "n_samples": 600, "noise": 0.1, "seed": 0, "test_fraction": 0.3, "n_classes": None}
# n >= 8 * batch: one example per chunk, so each example is committed alone and its noise depends only
# on (seed, idx): a resumed or sharded run must reproduce an uninterrupted one exactly.
SPEC = RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, n0=20, n=1000, alpha=0.01, batch=125, max_examples=30,
               device="cpu", seed=7, model_label="moons")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def columns(ex):
    return ex.idx.tolist(), ex.prediction.tolist(), np.round(ex.radius, 12).tolist()


def test_sigkill_mid_run_loses_nothing_and_resume_completes(store, tmp_path):
    reference = RunStore(tmp_path / "ref.sqlite")
    ref = reference.create_run(SPEC, 30)
    assert run_shard(reference, ref) == "done"

    run = store.create_run(SPEC, 30)
    proc = worker.launch(store, [run])
    wait_for(lambda: store.get(run).done >= 3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = store.examples(run)
    assert 3 <= len(before) < 30, "kill the worker mid-run"
    assert store.refresh() == [run] and store.get(run).status == "interrupted"

    proc = worker.resume(store, run)
    assert proc.wait(timeout=120) == 0
    after = store.examples(run)
    assert store.get(run).status == "done"
    assert after.idx.tolist() == list(range(30))                      # complete, no duplicate
    kept = np.isin(after.idx, before.idx)
    assert after.finished_at[kept].tolist() == before.finished_at.tolist()  # finished rows untouched
    assert columns(after) == columns(reference.examples(ref))         # same as an uninterrupted run


def test_two_runs_at_once_in_one_store(store):
    a = store.create_run(SPEC, 30)
    b = store.create_run(RunSpec(**{**SPEC.__dict__, "sigma": 0.5, "max_examples": 20}), 20)
    procs = [worker.launch(store, [a]), worker.launch(store, [b])]
    while any(p.poll() is None for p in procs):
        store.list_runs()                                  # a browser session polling meanwhile
        time.sleep(0.05)
    assert [p.returncode for p in procs] == [0, 0]
    assert [store.get(a).status, store.get(b).status] == ["done", "done"]
    assert store.examples(a).idx.tolist() == list(range(30)) and store.examples(b).idx.tolist() == list(range(20))
    assert "torch" in store.get(a).versions and store.get(a).device == "cpu"


def test_cancel_then_resume_in_process(store):
    run = store.create_run(SPEC, 30)
    status = run_shard(store, run, on_rows=lambda rows: store.request_cancel(run) if rows[0]["idx"] == 4 else None)
    assert status == "cancelled" and store.get(run).done == 5
    with pytest.raises(ValueError, match="already running"):
        store.register_worker(run, pid=os.getppid())     # pretend a live worker holds it
        worker.resume(store, run)
    store.release_worker(run)
    store.request_cancel(run, False)
    assert run_shard(store, run) == "done" and store.get(run).done == 30
    with pytest.raises(ValueError, match="nothing to resume"):
        worker.resume(store, run)


def test_a_second_worker_on_the_same_run_is_refused(store):
    run = store.create_run(SPEC, 30)
    store.register_worker(run, pid=os.getppid())
    with pytest.raises(ValueError, match="already being certified"):
        run_shard(store, run)


class OomAbove(nn.Module):
    """A fake GPU model: raises CUDA's out-of-memory error for forward batches above ``limit``."""
    def __init__(self, limit, other_error=False):
        super().__init__()
        self.linear, self.limit, self.other, self.seen = nn.Linear(2, 2), limit, other_error, []

    def forward(self, x):
        self.seen.append(len(x))
        if len(x) > self.limit:
            if self.other:
                raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.linear(x)


def test_oom_halves_the_batch_and_notes_it(store):
    model = OomAbove(limit=100)
    spec = RunSpec({"zoo": "fake"}, {"name": "fake"}, 0.5, n0=50, n=400, batch=400, max_examples=6, device="cpu")
    data = RunData(np.random.default_rng(0).normal(size=(6, 2)).astype(np.float32), np.zeros(6, np.int64), 2)
    run = store.create_run(spec, 6)
    loaded = LoadedModel(model, None, {})
    assert run_shard(store, run, loaded=loaded, data=data) == "done"
    notes = store.get(run).notes
    assert "Out of memory with batch 400 on cpu; continuing with batch 200" in notes
    assert "batch 200 on cpu; continuing with batch 100" in notes and "batch 100 on" not in notes
    assert max(model.seen[-10:]) <= 100 and store.get(run).done == 6


def test_oom_at_batch_one_and_other_errors_fail_clearly(store):
    spec = RunSpec({"zoo": "fake"}, {"name": "fake"}, 0.5, n0=5, n=20, batch=8)
    xs = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="Out of memory even with a batch of 1 on cpu"):
        certify_with_backoff(Smooth(OomAbove(0), 2, 0.5), xs, spec, 8, 0)
    notes = []
    with pytest.raises(ValueError, match="shapes cannot be multiplied"):
        certify_with_backoff(Smooth(OomAbove(1, other_error=True), 2, 0.5), xs, spec, 8, 0, notes.append)
    assert notes == []                                   # only out-of-memory triggers the back-off
    data = RunData(np.zeros((3, 2), np.float32), np.zeros(3, np.int64), 2)
    run = store.create_run(RunSpec(**{**spec.__dict__, "device": "cpu"}), 3)
    assert run_shard(store, run, loaded=LoadedModel(OomAbove(1, True), None, {}), data=data) == "failed"
    assert "shapes cannot be multiplied" in store.get(run).error


def test_gpu_slot_queues_a_second_run(tmp_path):
    order, waits = second_run_order(tmp_path, "cuda:0")
    assert order == ["first done", "second"] and waits[0].startswith("Waiting for cuda:0")
    with device_lock(tmp_path, "cuda:1"), device_lock(tmp_path, "cpu"):   # other devices do not queue
        pass


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="must be auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto", local_rank=3) == torch.device("cpu")
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda:1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_merge_into_one_run(store, tmp_path):
    args = [sys.executable, "-m", "cert_core", "certify", "--model", "moons-mlp-s0.25", "--sigma", "0.25",
            "--n0", "20", "--n", "1000", "--alpha", "0.01", "--batch", "125", "--max", "20", "--seed", "7",
            "--device", "cpu", "--store", str(store.path), "--out", str(tmp_path / "merged.tsv")]
    env = dict(os.environ, WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()),
               PYTHONPATH=REPO, OMP_NUM_THREADS="1")
    procs = [subprocess.Popen(args, env=dict(env, RANK=str(r), LOCAL_RANK=str(r)), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in (0, 1)]
    outs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    (run,) = store.list_runs()
    ex = store.examples(run.id)
    assert run.status == "done" and ex.idx.tolist() == list(range(20))
    assert set(ex.rank.tolist()) <= {0, 1}                             # chunks go to whichever rank asks
    assert "Certified by 2 torchrun ranks" in run.notes
    assert "cert acc" in outs[0] and "cert acc" not in outs[1]
    lines = (tmp_path / "merged.tsv").read_text().splitlines()
    assert [int(line.split("\t")[0]) for line in lines[1:]] == list(range(20))
    single = RunStore(tmp_path / "single.sqlite")
    ref = single.create_run(RunSpec(**{**SPEC.__dict__, "max_examples": 20}), 20)
    run_shard(single, ref)
    assert columns(ex) == columns(single.examples(ref))               # sharding changes no certificate


def test_rank_variables_are_checked(monkeypatch):
    from cert_core.runs.cli import main
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(SystemExit):
        main(["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.25", "--no-store"])
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(SystemExit):
        main(["certify", "--model", "moons-mlp-s0.25", "--sigma", "0.25", "--no-store"])
