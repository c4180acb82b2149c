"""The run-method registry: a method is one RunMethod registered by name, and nothing else dispatches on names.

A toy method registered only here (the base classifier's clean answer, no certificate) must run end to end
through the spec, the store, the worker and the exports without any of them knowing it."""
import csv
import io

import numpy as np
import pytest

from cert_core.runs import engine
from cert_core.runs.chunks import clean_predictions, example_rows, planned_chunks
from cert_core.runs.export import method_name, paper_table, samples_per_example, to_csv
from cert_core.runs.method import FormField, RunMethod
from cert_core.runs.store import RunSpec, RunStore
from cert_core.runs.worker import run_shard

MOONS = {"name": "moons", "n_samples": 60, "noise": 0.1, "seed": 0, "test_fraction": 0.5, "n_classes": None}


class CleanRun(RunMethod):
    """f(x) on the clean input, radius 0: a toy method that adds no noise and one parameter of RunSpec."""
    name = "clean"
    label = "Clean prediction (toy)"
    table_name = "clean f(x)"
    fields = (FormField("degree", "Unused degree", "A RunSpec field this toy method claims.", 1, 9),)
    noisy = False

    def samples_per_example(self, spec):
        return 1.0

    def run_chunks(self, loaded, data, spec, device, shard, done, on_note):
        model = loaded.model.to(device)
        for idx in planned_chunks(spec.select(len(data.y)), 4, shard, done):
            import torch
            xs = torch.from_numpy(data.x[idx]).to(device)
            base = clean_predictions(model, xs)
            yield example_rows(data, idx, shard.rank, base, prediction=base.tolist(), radius=[0.0] * len(idx),
                               p_lower=[-1.0] * len(idx), seconds=[0.0] * len(idx))


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(engine.RUN_METHODS, "clean", CleanRun())


def test_a_registered_method_runs_end_to_end_without_anyone_knowing_its_name(registered, tmp_path):
    spec = RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.0, method="clean", degree=3, max_examples=10)
    assert spec.describe() == "σ=0" and RunSpec.from_json(spec.to_json()) == spec
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run(spec, 10)
    assert run_shard(store, run) == "done"
    ex = store.examples(run)
    assert ex.idx.tolist() == list(range(10)) and np.all(ex.radius == 0) and np.all(ex.prediction == ex.base_prediction)
    assert method_name(spec) == "clean f(x)" and samples_per_example(spec) == 1.0
    (row,) = paper_table([(store.get(run), ex)], radii=(0.0,))
    assert row["method"] == "clean f(x)" and np.isnan(row["σ"])            # not noisy: no σ, n or α
    header = next(csv.reader(io.StringIO(to_csv(store.get(run), ex))))
    assert "degree" in header and "method" in header


def test_an_unregistered_method_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="'method' parameter of RunSpec must be one of 'cohen', 'ddrs', 'bernstein', 'sequential'. Got 'clean'"):
        RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, method="clean")


def test_a_method_without_noise_needs_sigma_zero(registered):
    with pytest.raises(ValueError, match="must be 0 for method 'clean'"):
        RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, method="clean")


def test_every_registered_method_states_what_the_page_and_exports_need():
    for name, m in engine.RUN_METHODS.items():
        assert m.name == name and m.label and m.table_name and m.summary
        spec_fields = set(RunSpec.__dataclass_fields__)
        assert {f.name for f in m.fields} <= spec_fields and all(f.help for f in m.fields)
