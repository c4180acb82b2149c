"""The 'sequential' run method: registered by one line, runs end to end through the spec, store and worker, and
reports the samples each example used (the runs page renders its form field and metrics generically)."""
import numpy as np
import pytest

from cert_core.methods.sequential.run import GRID, parse_radii
from cert_core.runs import engine
from cert_core.runs.export import summarize
from cert_core.runs.store import RunSpec, RunStore
from cert_core.runs.worker import run_shard

MOONS = {"name": "moons", "n_samples": 60, "noise": 0.1, "seed": 0, "test_fraction": 0.5, "n_classes": None}


def test_sequential_is_registered_with_its_form_field():
    m = engine.run_method("sequential")
    assert [f.name for f in m.fields] == ["radii"] and GRID in m.fields[0].choices
    assert m.columns == ("samples",)


@pytest.mark.parametrize("radii", ["0.5", GRID, "anytime"])
def test_a_sequential_run_stores_samples_per_example_and_its_metrics(tmp_path, radii):
    spec = RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, method="sequential", radii=radii, n=2000,
                   max_examples=8, batch=4000)
    assert RunSpec.from_json(spec.to_json()) == spec
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run(spec, 8)
    assert run_shard(store, run) == "done"
    ex = store.examples(run)
    assert len(ex) == 8 and np.all((ex.samples >= spec.n0 + 1) & (ex.samples <= spec.n0 + spec.n))
    grid = parse_radii(radii)
    if grid is not None and len(grid) > 1:                    # grid mode reports a grid radius exactly
        assert set(ex.radius[ex.prediction >= 0]) <= {r * spec.sigma for r in grid}
    labels = [m.label for m in engine.run_method("sequential").live_metrics(spec, ex, ex)]
    assert labels == ["Samples / example", "Saving vs fixed n", "Most samples"]
    rate = summarize(store.get(run), ex, [0.0]).samples_per_second    # the live view's "Samples / s"
    assert np.isfinite(rate) and rate > 0


def test_bad_radii_are_refused_with_one_message_shape():
    with pytest.raises(ValueError, match="'radii' parameter of RunSpec must be 'anytime' or comma-separated"):
        RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, method="sequential", radii="-1")


@pytest.mark.parametrize("radii", ["0.5", GRID, "anytime"])
def test_the_command_line_the_report_prints_reruns_the_same_spec(radii):
    """``cli_flags`` (the demo report's 'rerun from a terminal' line) parses back to the run's method and radii."""
    import shlex
    from cert_core.runs.cli_inputs import sequential_fields
    from cert_core.runs.cli_parser import build_parser
    spec = RunSpec({"zoo": "moons-mlp-s0.25"}, MOONS, 0.25, method="sequential", radii=radii, n=2000)
    flags = shlex.split(engine.run_method("sequential").cli_flags(spec))
    args = build_parser().parse_args(["certify", "--model", "m", "--sigma", "0.25", "--n", "2000", *flags])
    again = sequential_fields(args)
    assert (again["method"], again["n"], parse_radii(again["radii"])) == ("sequential", 2000, parse_radii(radii))
