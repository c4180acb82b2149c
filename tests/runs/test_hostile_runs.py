"""Hostile inputs to the runs slice (issue items 4-6): an exposed server, runaway budgets, a faulty run store,
self-contradicting TSVs and CSVs. Every hostile file is generated here, none is shipped."""
import os
import pathlib
import threading
import time
import tomllib

import pytest

from cert_core.runs import worker
from cert_core.runs.spec import MAX_SAMPLES, RunSpec
from cert_core.runs.store import RunStore
from cert_core.runs.worker import run_shard
from runs_kit import second_run_order, wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
MOONS = {"name": "moons", "n_samples": 600, "noise": 0.1, "seed": 0, "test_fraction": 0.3, "n_classes": None}
SPEC = RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, n0=20, n=1000, alpha=0.01, batch=125, max_examples=3,
               device="cpu", seed=7, model_label="moons")


# ---------------------------------------------------------------------- item 4: exposure and budgets
def test_the_server_binds_to_localhost_and_the_readme_says_how_to_expose_it():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    readme = (REPO / "README.md").read_text()
    assert "--server.address" in readme and "no authentication" in readme.lower()


def test_cpu_runs_queue_for_a_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("CERT_EXPLORER_CPU_SLOTS", "1")
    order, waits = second_run_order(tmp_path, "cpu")
    assert order == ["first done", "second"] and waits[0].startswith("Waiting for cpu")


def test_cancel_stops_inside_one_long_example(store, monkeypatch):
    monkeypatch.setenv("CERT_EXPLORER_CPU_SLOTS", "4")
    spec = RunSpec(**{**SPEC.__dict__, "n": 10**8, "batch": 1000, "max_examples": 1})
    run = store.create_run(spec, 1)
    out = []
    t = threading.Thread(target=lambda: out.append(run_shard(store, run)), daemon=True)
    t.start()
    wait_for(lambda: store.get(run).status == "running")
    time.sleep(1.0)
    asked = time.time()
    worker.cancel(store, run)
    t.join(15)
    assert not t.is_alive(), "cancel did not stop a long example"
    assert time.time() - asked < 10 and out == ["cancelled"] and store.get(run).status == "cancelled"



def test_stop_when_stops_sampling_between_forward_batches():
    import torch
    from cert_core.smoothing import Smooth, Stopped, stop_when
    calls = []
    model = torch.nn.Linear(2, 3)
    smooth = Smooth(model, 3, 0.5)
    with stop_when(lambda: calls.append(1) or len(calls) > 3):
        with pytest.raises(Stopped):
            smooth.certify(torch.zeros(2), 10, 10**6, 0.01, batch_size=100)
    assert len(calls) == 4                                          # checked once per forward batch
    assert smooth.certify(torch.zeros(2), 10, 1000, 0.01, batch_size=100).counts is not None   # outside: no check

@pytest.mark.parametrize("n", [10**12, MAX_SAMPLES])
def test_absurd_budgets_are_refused_with_an_estimate(n):
    with pytest.raises(ValueError, match=r"cap is 1,000,000,000\. At .* per example"):
        RunSpec(**{**SPEC.__dict__, "n": n})


def test_the_cli_refuses_an_absurd_budget_and_one_seed_rule(capsys):
    from cert_core.runs import cli
    for command in ("certify", "predict"):
        with pytest.raises(SystemExit) as exc:
            cli.main([command, "--model", "moons-mlp-s0", "--sigma", "0.25", "--n", str(10**12)])
        assert exc.value.code == 2 and "cap is" in capsys.readouterr().err
        for seed in ("1e23", str(10**23), "-5"):
            with pytest.raises(SystemExit) as exc:
                cli.main([command, "--model", "moons-mlp-s0", "--sigma", "0.25", "--seed", seed])
            assert exc.value.code == 2 and "--seed: must be an int in [0, " in capsys.readouterr().err


# ---------------------------------------------------------------------- item 5: the run store under faults
def test_a_read_only_store_is_a_clear_store_error(tmp_path, monkeypatch):
    import sqlite3
    from cert_core.runs import store_file
    path = tmp_path / "runs.sqlite"
    RunStore(path).create_run(SPEC, 3)
    real = sqlite3.connect   # root ignores file modes: open read-only the way SQLite does for a 0444 file

    def read_only(database, *args, **kwargs):
        return real(f"file:{database}?mode=ro", *args, uri=True, **kwargs)
    monkeypatch.setattr(store_file.sqlite3, "connect", read_only)
    with pytest.raises(store_file.StoreError, match=r"runs.sqlite is read-only: make the file .* writable"):
        RunStore(path).create_run(SPEC, 3)


def test_a_corrupted_page_is_a_clear_store_error(tmp_path):
    from cert_core.runs.store_file import StoreError
    path = tmp_path / "runs.sqlite"
    s = RunStore(path)
    for _ in range(20):
        s.create_run(RunSpec(**{**SPEC.__dict__, "model_label": "x" * 2000}), 3)
    with __import__("sqlite3").connect(path) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    page = int.from_bytes(raw[16:18], "big")
    raw[page + 1: 3 * page] = b"\xff" * (2 * page - 1)          # garble pages 2 and 3 (the runs table)
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match=r"is damaged: move it aside"):
        RunStore(path).list_runs()


@pytest.mark.parametrize("kind", ["dev-null", "zero-bytes", "other-app", "garbage"])
def test_a_file_that_is_not_a_run_store_is_refused_and_left_alone(tmp_path, kind):
    import sqlite3
    from cert_core.runs.store_file import StoreError
    path = pathlib.Path("/dev/null") if kind == "dev-null" else tmp_path / "x.sqlite"
    if kind == "zero-bytes":
        path.write_bytes(b"")
    elif kind == "other-app":
        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE contacts (name TEXT)")
            con.execute("INSERT INTO contacts VALUES ('Ada')")
        con.close()
    elif kind == "garbage":
        path.write_bytes(b"not a database at all " * 100)
    before = None if kind == "dev-null" else path.read_bytes()
    with pytest.raises(StoreError, match=str(path)):
        RunStore(path)
    if before is not None:
        assert path.read_bytes() == before, "the file was written into"
        assert not path.with_name(path.name + "-wal").exists()


def test_a_new_store_is_created_whole(tmp_path):
    path = tmp_path / "sub" / "runs.sqlite"
    s = RunStore(path)
    assert s.list_runs() == [] and s.list_runs().problems == []
    assert sorted(p.name for p in path.parent.iterdir() if p.name.endswith(".new")) == []


def test_the_worker_on_a_missing_run_or_store_says_so(tmp_path, capsys):
    s = RunStore(tmp_path / "runs.sqlite")
    with pytest.raises(ValueError, match="There is no run 99"):
        run_shard(s, 99)
    assert worker.main(["--store", str(s.path), "--run", "99"]) == 0
    assert "There is no run 99" in capsys.readouterr().err
    assert worker.main(["--store", "/dev/null", "--run", "1"]) == 2
    assert "/dev/null is not a regular file" in capsys.readouterr().err


def test_one_bad_run_row_is_skipped_and_reported(store):
    import sqlite3
    good = store.create_run(SPEC, 3)
    bad = store.create_run(SPEC, 3, name="hand-edited")
    worse = store.create_run(SPEC, 3)
    with sqlite3.connect(store.path) as con:
        con.execute("UPDATE runs SET spec = ? WHERE id = ?", ('{"model": {}, "data": {}, "sigma": -1}', bad))
        con.execute("UPDATE runs SET spec = ? WHERE id = ?", ("{not json", worse))
    con.close()
    runs = store.list_runs()
    assert [r.id for r in runs] == [good]
    assert len(runs.problems) == 2 and f"Run {bad} ('hand-edited')" in runs.problems[1]
    assert "sigma" in runs.problems[1] and "skipped" in runs.problems[0]
    with pytest.raises(ValueError, match=f"Run {worse} .* cannot be read"):
        store.get(worse)
    store.delete(worse)
    assert len(store.list_runs().problems) == 1


def test_a_reused_pid_does_not_keep_a_dead_run_running(store):
    import sqlite3
    run = store.create_run(SPEC, 3)
    store.update(run, status="running", started=time.time())
    store.register_worker(run, pid=os.getppid())                  # a live process that is not our worker
    assert store.refresh() == [] and store.get(run).status == "running"
    with sqlite3.connect(store.path) as con:                      # ... and the worker stopped beating long ago
        con.execute("UPDATE workers SET heartbeat = heartbeat - 3600")
    con.close()
    assert store.refresh() == [run] and store.get(run).status == "interrupted"
    assert store.register_worker(run)                             # Resume may claim it again
    store.release_worker(run)


def test_a_model_that_raises_fails_the_run_with_its_message_and_resume_works(store):
    import torch
    from torch import nn
    from cert_core.models.bundles import LoadedModel

    class Raiser(nn.Module):
        def forward(self, x):
            if bool(x.sum() > -1e30):
                raise Exception("boom")
            return x

    class Silent(nn.Module):
        def forward(self, x):
            raise KeyError()

    for model, expected in ((torch.jit.script(Raiser()), "boom"), (Silent(), "without a message")):
        loaded = LoadedModel(model, None, {"input_shape": [2], "num_classes": 2})
        run = store.create_run(SPEC, 3)
        assert run_shard(store, run, loaded=loaded) == "failed"
        assert expected in store.get(run).error and store.get(run).status == "failed"
        assert run_shard(store, run) == "done"                   # Resume (the real model) is not stuck


# ---------------------------------------------------------------------- item 6: smaller ones
HOSTILE_NAME = "[click me](https://evil.example/x) :red[alarm] **bold**"


def test_a_link_model_name_is_shown_as_plain_text():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["model"] = HOSTILE_NAME
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    [message] = [e.value for e in at.error if "not in the zoo" in e.value]
    assert f"`{HOSTILE_NAME!r}`" in message                        # a code span: no link, no colour, no bold
    assert message.replace(f"`{HOSTILE_NAME!r}`", "").count("](") == 0


def test_plain_keeps_short_values_and_fences_the_rest():
    from ui.links import plain
    assert plain("abc") == "'abc'" and plain("0.1") == "'0.1'" and plain("9", quote=False) == "9"
    assert plain("www.evil.example") == "`'www.evil.example'`"
    assert plain("a`b") == "``'a`b'``" and plain("`", quote=False) == "`` ` ``"
    assert len(plain("x" * 10_000)) < 140


HEADER = "idx\tlabel\tpredict\tradius\tcorrect\ttime\n"


@pytest.mark.parametrize("line, says", [
    ("0\t1\t-1\t0.0\t1\t0.1", "contradicts itself ('correct' is 1 but the prediction -1 is not the label 1)"),
    ("0\t1\t-1\t0.5\t0\t0.1", "contradicts itself (it abstained but has a radius)"),
    ("0\t1\t1\t0.5\t0\t0.1", "contradicts itself ('correct' is 0 but the prediction 1 is the label 1)"),
    ("0\t1\t0\t0.5\t1\t0.1", "contradicts itself ('correct' is 1 but the prediction 0 is not the label 1)"),
    (f"{10**30}\t1\t1\t0.5\t1\t0.1", "outside [0, 2,147,483,647]"),
    (f"0\t{10**30}\t1\t0.5\t0\t0.1", "outside [0, 2,147,483,647]"),
    ("-3\t1\t1\t0.5\t1\t0.1", "outside [0, 2,147,483,647]"),
])
def test_a_tsv_row_that_contradicts_itself_is_refused(store, line, says):
    from cert_core.runs.export import import_tsv
    with pytest.raises(ValueError, match="Line 2 of the TSV") as exc:
        import_tsv(store, HEADER + line + "\n", "bad", sigma=0.5)
    assert says in str(exc.value) and store.list_runs() == []


@pytest.mark.parametrize("rows, says", [
    ([f"{i % 3},{i},{1e20 if i == 4 else i % 2}" for i in range(12)], "within ±2,147,483,647"),
    ([f"{i},{i},{i % 2}" for i in range(12)] + ["1,2," + "9" * 200_000], "a field over 131,072 characters"),
    ([f"{i},{i},{i % 2}" for i in range(12)] + ['1,2,"' + "x" * 200_000], "a field over 131,072 characters"),
])
def test_hostile_csv_values_are_data_errors(rows, says):
    from cert_core.models.csv_dataset import load_csv
    from cert_core.models.dataset import DataError
    with pytest.raises(DataError, match=says):
        load_csv(("\n".join(rows) + "\n").encode())
