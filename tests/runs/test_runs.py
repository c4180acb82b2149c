"""The run store: schema, no duplicates, interrupted detection, concurrent writers (tmp stores only)."""
import multiprocessing as mp
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from cert_core.runs.store import RunSpec, RunStore, default_store_path, pid_alive
from cert_core.runs.store_file import SCHEMA_VERSION

SPEC = RunSpec({"zoo": "moons-mlp-s0.25"}, {"name": "moons"}, 0.25, n0=10, n=100, model_label="moons")


def row(i, radius=0.5, pred=1, label=1):
    return dict(idx=i, label=label, prediction=pred, radius=radius, p_lower=0.9, correct=pred == label,
                base_prediction=1, seconds=0.01, rank=0)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite")


def test_default_location_from_env_and_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("CERT_EXPLORER_RUNS", str(tmp_path / "x.sqlite"))
    assert default_store_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("CERT_EXPLORER_RUNS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "cert_explorer" / "runs.sqlite"


def test_schema_is_versioned_and_wal(store):
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_and_foreign_files_are_refused(tmp_path):
    newer = tmp_path / "newer.sqlite"
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ValueError, match="newer than this program"):
        RunStore(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ValueError, match="is not a run store"):
        RunStore(junk)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sigma=0.0), r"'sigma' parameter of RunSpec must be a float in \(0, inf\)"),
    (dict(sigma=0.25, alpha=1.5), r"'alpha' parameter of RunSpec"),
    (dict(sigma=0.25, n=0), r"'n' parameter of RunSpec must be an int >= 1"),
    (dict(sigma=0.25, method="macer"), "'method' parameter"),
    (dict(sigma=0.25, method="bernstein"), "must be 0 for method 'bernstein'"),
    (dict(sigma=0.25, method="ddrs", steps=-1), "'steps' parameter of RunSpec"),
    (dict(sigma=0.25, method="ddrs", memory="yes"), "'memory' parameter of RunSpec must be a bool"),
    (dict(sigma=0.0, method="bernstein", smooth="soft"), "'smooth' parameter of RunSpec"),
])
def test_spec_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunSpec({"zoo": "x"}, {"name": "moons"}, **kwargs)


def test_spec_selection_and_json_round_trip():
    spec = RunSpec({"zoo": "x"}, {"name": "moons"}, 0.5, skip=3, max_examples=4)
    assert spec.select(100).tolist() == [0, 3, 6, 9]
    assert spec.select(5).tolist() == [0, 3]
    assert RunSpec.from_json(spec.to_json()) == spec


def test_examples_are_durable_sorted_and_never_duplicated(store):
    run = store.create_run(SPEC, 5)
    assert store.add_examples(run, [row(3), row(1)]) == 2
    assert store.add_examples(run, [row(1, radius=9.0), row(0)]) == 1   # idx 1 already stored: ignored
    ex = RunStore(store.path).examples(run)                                 # a second handle sees it
    assert ex.idx.tolist() == [0, 1, 3] and ex.radius[1] == 0.5
    assert store.get(run).done == 3 and store.done_indices(run) == {0, 1, 3}


def test_update_notes_cancel_and_delete(store):
    run = store.create_run(SPEC, 2, name="first", group="g")
    store.update(run, status="running", device="cpu", versions={"torch": "x"})
    store.add_note(run, "Out of memory with batch 8")
    store.request_cancel(run)
    r = store.get(run)
    assert (r.name, r.group, r.status, r.device, r.versions) == ("first", "g", "running", "cpu", {"torch": "x"})
    assert "Out of memory" in r.notes and r.cancel_requested
    with pytest.raises(ValueError, match="columns of update"):
        store.update(run, spec="x")
    with pytest.raises(ValueError, match="'status' parameter of update"):
        store.update(run, status="exploded")
    store.add_examples(run, [row(0)])
    store.delete(run)
    with pytest.raises(ValueError, match="There is no run"):
        store.get(run)
    with pytest.raises(ValueError, match="deleted"):
        store.add_examples(run, [row(1)])


def test_runs_without_a_live_worker_become_interrupted(store):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not pid_alive(dead.pid)
    alive_run, dead_run, fresh_run = (store.create_run(SPEC, 3) for _ in range(3))
    assert store.register_worker(alive_run)                      # this process: alive
    assert store.register_worker(dead_run, pid=dead.pid)
    assert store.refresh() == [dead_run]                         # fresh_run: still within the start-up grace
    assert store.get(dead_run).status == "interrupted" and store.get(alive_run).status == "queued"
    assert store.get(fresh_run).status == "queued"
    assert not store.register_worker(alive_run, pid=dead.pid)    # a live holder keeps its claim
    assert store.register_worker(dead_run, pid=dead.pid + 10**6)  # a dead holder's claim is taken over


def _writer(path, run, offset, count):
    store = RunStore(path)
    for i in range(count):
        store.add_examples(run, [row(offset + i)])


def test_two_processes_writing_at_once(store):
    a, b = store.create_run(SPEC, 120), store.create_run(SPEC, 120)
    # fork: the writers touch only SQLite (each opens its own connection), and forked children skip the ~4 s
    # re-import of torch that three spawned ones pay on 2 cores
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(store.path, run, off, 80)) for run, off in ((a, 0), (b, 0), (a, 40))]
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs):       # a reader polling beside the writers, like the live page
        store.list_runs()
        time.sleep(0.01)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert store.examples(a).idx.tolist() == list(range(120))  # overlap 40..79 merged, not doubled
    assert store.examples(b).idx.tolist() == list(range(80))
    assert np.all(np.diff(store.examples(a).idx) == 1)


@pytest.mark.parametrize("content, message", [
    (b"x,y\n1,2\n", "not a NumPy .npz archive"),              # a text file renamed .npz
    (b"", "not a NumPy .npz archive"),
    (b"\x93NUMPY" + b"\0" * 20, "not a NumPy .npz archive"),  # a single .npy array
    (b"PK\x03\x04" + b"\0" * 40, "could not be read: it is damaged"),
])
def test_bad_npz_is_a_clear_message_without_the_pickle_hint(tmp_path, content, message):
    from cert_core.runs.inputs import load_npz
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        load_npz(str(path))
    assert "allow_pickle" not in str(info.value)


def test_object_arrays_in_an_npz_are_refused_never_unpickled(tmp_path):
    from cert_core.runs.inputs import load_npz
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(ValueError, match="object .pickled. arrays, which are refused") as info:
        load_npz(str(path))
    assert "allow_pickle" not in str(info.value)
    np.savez(path, x=np.zeros((2, 3), np.uint8), y=np.array([0, 1]))        # and a good one still loads
    x, y = load_npz(str(path))
    assert x.shape == (2, 3) and x.dtype == np.float32 and y.tolist() == [0, 1]


# ---------------------------------------------------------------- .npz bombs and odd arrays
def _compressed(path, **arrays):
    np.savez_compressed(path, **arrays)     # zeros deflate ~1000x: a small file declaring megabytes
    return path


@pytest.mark.parametrize("as_file", [False, True])        # a path (worker, CLI) or an upload's bytes (app)
def test_npz_bomb_is_refused_before_decompression(tmp_path, monkeypatch, as_file):
    import io
    from cert_core.runs import inputs as run_inputs
    path = _compressed(tmp_path / "bomb.npz", x=np.zeros((4096, 256), np.float32), y=np.zeros(4096, np.int64))
    assert path.stat().st_size < 64 * 1024
    monkeypatch.setattr(run_inputs, "MAX_NPZ_BYTES", 2**20)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load must not run on a refused .npz"))
    with pytest.raises(ValueError, match=r"declare 4\.0 MiB uncompressed, more than the limit of 1\.0 MiB "
                                         r"\(cert_core\.runs\.inputs\.MAX_NPZ_BYTES\)"):
        run_inputs.load_npz(io.BytesIO(path.read_bytes()) if as_file else str(path))


def test_unused_arrays_of_an_npz_are_never_decompressed(tmp_path, monkeypatch):
    import io
    import zipfile
    from cert_core.runs import inputs as run_inputs
    path = _compressed(tmp_path / "extra.npz", x=np.ones((3, 2), np.float32), y=np.array([0, 1, 1]),
                       junk=np.zeros(2**22, np.uint8))
    monkeypatch.setattr(run_inputs, "MAX_NPZ_BYTES", 2**20)      # the unused 4 MiB does not count
    opened, real_open = [], zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(
        getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    x, y = run_inputs.load_npz(io.BytesIO(path.read_bytes()))
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 1]
    assert "junk.npy" not in opened and {"x.npy", "y.npy"} <= set(opened)


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.ones((3, 2), np.complex64), y=np.array([0, 1, 1])), "complex-valued .complex64.*imaginary part"),
    (dict(x=np.array([["a", "b"]] * 3), y=np.array([0, 1, 1])), "must be real numbers .* Got dtype <U1"),
    (dict(x=np.ones((3, 2)), y=np.array([0.0, 1.0, 1.0])), "integer labels y of shape .N,.*float64"),
    (dict(x=np.ones((3, 2)), y=np.array([0, 1])), r"Got x \(3, 2\) and y \(2,\)"),
    (dict(x=np.full((3, 2), 1e300), y=np.array([0, 1, 1])), "NaN or inf .or values beyond float32's range"),
])
def test_odd_npz_arrays_get_clear_messages(tmp_path, arrays, message):
    from cert_core.runs.inputs import load_npz
    np.savez(tmp_path / "odd.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        load_npz(str(tmp_path / "odd.npz"))


def test_npz_header_declaring_more_than_its_entry_is_damaged(tmp_path):
    import io
    import zipfile
    from cert_core.runs.inputs import load_npz
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (1000, 1000)})
    with zipfile.ZipFile(tmp_path / "liar.npz", "w") as z:
        z.writestr("x.npy", header.getvalue() + bytes(64))
        buf = io.BytesIO()
        np.save(buf, np.zeros(1000, np.int64))
        z.writestr("y.npy", buf.getvalue())
    with pytest.raises(ValueError, match="could not be read: it is damaged"):
        load_npz(str(tmp_path / "liar.npz"))
