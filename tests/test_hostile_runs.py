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
from cert_core.runs.worker import device_lock, run_shard

REPO = pathlib.Path(__file__).resolve().parents[1]
MOONS = {"name": "moons", "n_samples": 600, "noise": 0.1, "seed": 0, "test_fraction": 0.3, "n_classes": None}
SPEC = RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, n0=20, n=1000, alpha=0.01, batch=125, max_examples=3,
               device="cpu", seed=7, model_label="moons")


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite")


def wait_for(predicate, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


# ---------------------------------------------------------------------- item 4: exposure and budgets
def test_the_server_binds_to_localhost_and_the_readme_says_how_to_expose_it():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    readme = (REPO / "README.md").read_text()
    assert "--server.address" in readme and "no authentication" in readme.lower()


def test_cpu_runs_queue_for_a_slot(tmp_path, monkeypatch):
    monkeypatch.setenv("CERT_EXPLORER_CPU_SLOTS", "1")
    waits, order = [], []
    with device_lock(tmp_path, "cpu"):
        def second():
            with device_lock(tmp_path, "cpu", on_wait=waits.append, poll=0.02):
                order.append("second")
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        order.append("first done")
    t.join(5)
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
