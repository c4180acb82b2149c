"""Run methods end to end through the worker into tmp stores: DDRS (σ*ₓ stored, the memory applied at read
time in index order, deterministic under kill/resume and sharding) and Bernstein (the sound radius through the
computed L_G, root-finding stored apart); schema migration of version-1 stores; specs and exports per method."""
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading

from dataclasses import replace

import numpy as np
import pytest
import torch

from cert_core.runs import inputs as run_inputs
from cert_core.runs import engine as run_methods
from cert_core.methods.bernstein.images import certify_images
from cert_core.methods.ddrs.memory import memory_certify
from cert_core.runs.export import paper_table, summarize, to_csv
from cert_core.runs.store import RunSpec, RunStore
from cert_core.runs.store_file import SCHEMA_VERSION
from cert_core.runs.chunks import Shard, with_backoff
from cert_core.methods.ddrs.run import ddrs_rows, memory_changes
from cert_core.runs.lifecycle import settle
from cert_core.runs.worker import run_shard

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOONS = {"name": "moons", "n_samples": 600, "noise": 0.1, "seed": 0, "test_fraction": 0.3, "n_classes": None}
DIGITS = {"name": "digits", "seed": 0, "test_fraction": 0.3}
# n = 200, batch = 400: chunks of 16 examples (36 examples -> 3 chunks), so chunking matters for the noise
DDRS = RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, n0=20, n=200, alpha=0.01, batch=400, max_examples=36,
               device="cpu", seed=5, model_label="moons", method="ddrs", steps=8, lr=0.1, n_opt=16)
BERN = RunSpec({"zoo": "digits-bottleneck-d3-s0"}, DIGITS, 0.0, max_examples=5, device="cpu", method="bernstein",
               degree=4, model_label="d3")
KILLER = """
import os, signal, sys
from cert_core.runs.store import RunStore
from cert_core.runs.worker import run_shard
store, chunks = RunStore(sys.argv[1]), []
def on_rows(rows):
    chunks.append(rows)
    if len(chunks) == 2:
        os.kill(os.getpid(), signal.SIGKILL)      # a real kill, right after the 2nd chunk is committed
run_shard(store, int(sys.argv[2]), on_rows=on_rows)
"""


def stored(ex):
    return ex.idx.tolist(), ex.prediction.tolist(), ex.radius.tolist(), ex.p_lower.tolist(), ex.sigma.tolist()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted single-rank DDRS run and its test inputs."""
    store = RunStore(tmp_path_factory.mktemp("ref") / "runs.sqlite")
    run = store.create_run(DDRS, 36)
    assert run_shard(store, run) == "done"
    return store.get(run), store.examples(run), run_inputs.run_data(DDRS).x


def test_ddrs_run_stores_sigma_star_and_raw_certificates(reference):
    run, raw, _ = reference
    assert run.name == "moons DDRS σ0=0.25 K=8 lr=0.1 n_opt=16" and raw.idx.tolist() == list(range(36))
    assert np.all(np.isfinite(raw.sigma)) and np.all(raw.sigma >= 0.01)
    assert np.ptp(raw.sigma) > 0.1                       # σ*ₓ really depends on x
    assert np.all(np.isnan(raw.root_radius))
    s = summarize(run, raw, [0.0])
    assert s.samples_per_second == pytest.approx((20 + 200 + 9 * 16) / raw.seconds.mean())


def test_memory_is_applied_in_index_order_and_makes_answers_consistent(reference):
    run, raw, x = reference
    view = run_methods.certified(run.spec, raw, x)
    answers, _ = memory_certify(x[raw.idx], raw.prediction, raw.radius)            # the definition, by hand
    assert view.prediction.tolist() == [a.prediction for a in answers]
    assert view.radius.tolist() == [a.radius for a in answers]
    assert np.array_equal(view.correct, view.prediction == raw.label)
    changed = memory_changes(raw, view)
    assert changed.any(), "dense 2D points: σ*ₓ balls of different classes overlap, the memory must act"

    pts = x[raw.idx].astype(np.float64)                  # the memory's own precision

    def overlaps(pred, radius):        # pairs of different classes whose balls intersect (beyond rounding)
        d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
        ok = (pred >= 0) & (radius > 0)
        clash = (pred[:, None] != pred[None]) & ok[:, None] & ok[None] & (d < radius[:, None] + radius[None] - 1e-9)
        return int(clash.sum())
    assert overlaps(raw.prediction, raw.radius) > 0 and overlaps(view.prediction, view.radius) == 0
    with pytest.raises(ValueError, match="needs the run's test inputs"):
        run_methods.certified(run.spec, raw, None)
    no_memory = RunSpec(**{**DDRS.__dict__, "memory": False})
    assert run_methods.certified(no_memory, raw, x) is raw


def test_killed_then_resumed_ddrs_run_equals_an_uninterrupted_one(reference, tmp_path):
    run_ref, raw_ref, x = reference
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run(DDRS, 36)
    proc = subprocess.run([sys.executable, "-c", KILLER, str(store.path), str(run)], cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1"), capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(store.examples(run)) == 32 and store.refresh() == [run]           # 2 chunks of 16 survived
    assert run_shard(store, run) == "done"
    raw = store.examples(run)
    assert stored(raw) == stored(raw_ref)
    view, view_ref = (run_methods.certified(DDRS, r, x) for r in (raw, raw_ref))
    assert stored(view) == stored(view_ref)


def test_sharded_ddrs_run_equals_a_single_rank_one(reference, tmp_path):
    _, raw_ref, x = reference
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run(DDRS, 36)
    for rank in (1, 0):                                   # rank 1 first: rows arrive out of index order
        run_shard(store, run, Shard(rank, 2), settle_run=False)
    assert settle(store, run) == "done"
    raw = store.examples(run)
    assert raw.rank.tolist() == [0] * 16 + [1] * 16 + [0] * 4      # whole chunks dealt to ranks
    assert stored(raw) == stored(raw_ref)
    assert stored(run_methods.certified(DDRS, raw, x)) == stored(run_methods.certified(DDRS, raw_ref, x))
    halved = replace(DDRS, batch=200)                     # chunks of 8, not 16: noise per (seed, example) only
    run = store.create_run(halved, 36)
    assert run_shard(store, run) == "done" and stored(store.examples(run)) == stored(raw_ref)


def test_bernstein_run_records_the_sound_radius_and_root_finding_apart(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run(BERN, 5)
    assert run_shard(store, run) == "done"
    ex, r = store.examples(run), store.get(run)
    data = run_inputs.run_data(BERN)
    lib = certify_images(run_inputs.load_run_model(BERN.model).model, data.x[:5], data.y[:5], 4)   # independent path
    # Both paths evaluate the same float32 network, but on batches of other shapes: BLAS may choose other kernels
    # (and torch releases other reduction orders), so they agree to float32 rounding (~1e-6 relative), not bitwise.
    np.testing.assert_allclose(ex.radius, lib.input_sound_radius, rtol=1e-5)
    np.testing.assert_allclose(ex.root_radius, lib.input_root_radius, rtol=1e-5)
    assert ex.prediction.tolist() == lib.prediction.tolist() and ex.correct.tolist() == lib.correct.tolist()
    assert np.all(ex.p_lower == -1.0) and np.all(np.isnan(ex.sigma)) and r.device == "cpu"
    assert f"L_G ≤ {lib.lipschitz_g:.4g}" in r.notes and r.name == "d3 Bernstein n=4"
    (row,) = paper_table([(r, ex)], radii=(0.0,))
    assert row["method"] == "Bernstein (sound)" and np.isnan(row["α"]) and row["r = 0"] == lib.correct.mean()
    assert "root_radius" in next(csv.reader(io.StringIO(to_csv(r, ex))))


def test_bernstein_on_a_model_without_bottleneck_fails_clearly(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    spec = RunSpec(**{**BERN.__dict__, "model": {"zoo": "moons-mlp-s0.25"}, "data": MOONS})
    run = store.create_run(spec, 5)
    assert run_shard(store, run) == "failed"
    assert "This model has no bottleneck" in store.get(run).error


V1_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL, total INTEGER NOT NULL, status TEXT NOT NULL, device TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '', versions TEXT NOT NULL DEFAULT '{}',
    cancel INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, started REAL, finished REAL);
CREATE TABLE examples (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    label INTEGER NOT NULL, prediction INTEGER NOT NULL, radius REAL NOT NULL, p_lower REAL NOT NULL,
    correct INTEGER NOT NULL, base_prediction INTEGER NOT NULL, seconds REAL NOT NULL,
    rank INTEGER NOT NULL DEFAULT 0, finished_at REAL NOT NULL, PRIMARY KEY (run_id, idx));
CREATE TABLE workers (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, rank INTEGER NOT NULL,
    world_size INTEGER NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, heartbeat REAL NOT NULL,
    PRIMARY KEY (run_id, rank));
INSERT INTO runs (name, spec, total, status, created) VALUES ('old', '{"model": {"zoo": "m"}, "data":
    {"name": "moons"}, "sigma": 0.5, "n": 900}', 2, 'done', 0);
INSERT INTO examples VALUES (1, 0, 1, 1, 0.4, 0.8, 1, 1, 0.1, 0, 0), (1, 3, 0, 1, 0.2, 0.6, 0, 0, 0.1, 0, 0);
PRAGMA user_version = 1;
"""


def test_version_1_store_is_migrated_once_even_by_concurrent_openers(tmp_path):
    path = tmp_path / "old.sqlite"
    sqlite3.connect(path).executescript(V1_SCHEMA)
    errors = []

    def open_store():
        try:
            RunStore(path)
        except Exception as exc:   # noqa: BLE001 (collected, asserted below)
            errors.append(exc)
    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = RunStore(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    (run,) = store.list_runs()
    old = store.examples(run.id)
    assert (run.name, run.spec.method, run.spec.sigma) == ("old", "cohen", 0.5)
    assert old.idx.tolist() == [0, 3] and old.radius.tolist() == [0.4, 0.2] and np.isnan(old.sigma).all()
    new = store.create_run(DDRS, 1)
    store.add_examples(new, [dict(idx=0, label=1, prediction=1, radius=0.3, p_lower=0.9, correct=True,
                                  base_prediction=1, seconds=0.1, rank=0, sigma=0.7)])
    assert store.examples(new).sigma.tolist() == [0.7] and store.get(new).spec == DDRS


def test_spec_json_per_method():
    cohen = RunSpec({"zoo": "m"}, MOONS, 0.25)
    assert "steps" not in json.loads(cohen.to_json()) and "degree" not in json.loads(cohen.to_json())
    assert set(json.loads(DDRS.to_json())) >= {"method", "steps", "lr", "n_opt", "memory"}
    odd = RunSpec({"zoo": "m"}, MOONS, 0.25, steps=3)           # a non-default field of another method is kept
    for spec in (cohen, DDRS, BERN, odd):
        assert RunSpec.from_json(spec.to_json()) == spec
    csv_text = to_csv(_fake_run(DDRS), _one_row())
    header = next(csv.reader(io.StringIO(csv_text)))
    assert header[-1] == "sigma" and "n_opt" in header and "memory" in header


def _fake_run(spec):
    from cert_core.runs.records import Run
    return Run(1, "r", "", spec, 1, 1, "done", "cpu", "", "", {}, False, 0.0, None, None)


def _one_row():
    from cert_core.runs.records import Examples
    one = lambda v, t=float: np.array([v], dtype=t)  # noqa: E731
    return Examples(one(0, np.int64), one(1, np.int64), one(1, np.int64), one(0.3), one(0.9), one(True, bool),
                    one(1, np.int64), one(0.1), one(0, np.int64), one(0.0), one(0.7), one(np.nan))


def test_oom_backs_off_in_ddrs_too():
    class OomAbove(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

        def forward(self, x):
            if len(x) > 32:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return self.linear(x)
    notes = []
    xs = torch.zeros(4, 2)
    spec = RunSpec({"zoo": "x"}, MOONS, 0.5, n0=10, n=50, method="ddrs", steps=2, n_opt=16)
    cols, batch = with_backoff(lambda b: ddrs_rows(OomAbove(), 2, xs, spec, b, 0),
                                           256, "cpu", notes.append)
    assert batch == 32 and len(cols["sigma"]) == 4 and len(notes) == 3
    assert notes[0] == "Out of memory with batch 256 on cpu; continuing with batch 128."


def test_ddrs_rules_are_named_fields_and_stored_runs_without_them_read_as_before():
    """Audit items 3-4: a ddrs run says which OptimizeSigma rule and which memory rule it used; a run stored
    before the fields existed was computed with c_A fixed at σ0 (σ >= 0.01) and the paper's memory."""
    from cert_core.methods.ddrs.run import sigma_config
    new = RunSpec({"zoo": "m"}, MOONS, 0.25, method="ddrs")
    assert (new.sigma_rule, new.memory_rule) == ("paper", "paper")
    assert sigma_config(new).rule == "paper" and sigma_config(new).min_sigma == 0
    old_json = json.loads(new.to_json())
    del old_json["sigma_rule"], old_json["memory_rule"]
    old = RunSpec.from_json(json.dumps(old_json))
    assert (old.sigma_rule, old.memory_rule) == ("fixed-top-class", "paper")
    assert sigma_config(old).min_sigma == 0.01 and "rule=fixed-top-class" in old.describe()
    assert RunSpec.from_json(new.to_json()) == new
    cohen = RunSpec({"zoo": "m"}, MOONS, 0.25)
    assert RunSpec.from_json(cohen.to_json()) == cohen and "sigma_rule" not in cohen.to_json()
    names = {f.name: f for f in run_methods.run_method("ddrs").fields}
    assert names["sigma_rule"].choices == ("paper", "fixed-top-class")
    assert names["memory_rule"].choices == ("paper", "authors")
    authors = RunSpec({"zoo": "m"}, MOONS, 0.25, method="ddrs", memory_rule="authors")
    assert "authors' memory" in run_methods.run_method("ddrs").display_name(authors)
    assert "authors' memory rule" in run_methods.run_method("ddrs").caption(authors)
    assert "Algorithm 1 as printed" in run_methods.run_method("ddrs").caption(new)
    with pytest.raises(ValueError, match="'memory_rule' parameter of RunSpec"):
        RunSpec({"zoo": "m"}, MOONS, 0.25, method="ddrs", memory_rule="ours")
