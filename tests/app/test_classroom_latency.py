"""Issue 17's latency rows, the parts a test can check without timing anything: the app's torch thread policy
(ui/threads.py), the σ₀ values the per-input σ warm-up precomputes, and the SRA page's progress over the curves."""
from types import SimpleNamespace

import numpy as np

from cert_core.models.zoo import ZOO
from ui import state, threads
from ui.ddrs import cache as ddrs_cache
from ui.margin import cache as margin_cache


def test_torch_threads_default_to_one_and_the_environment_overrides(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    assert threads.requested_threads() == 1
    for raw, wanted in (("3", 3), ("0", 1), ("many", 1), ("", 1)):
        monkeypatch.setenv(threads.ENV, raw)
        assert threads.requested_threads() == wanted, raw


def test_the_warm_up_covers_the_slider_steps_next_to_the_default_sigma():
    sigmas = ddrs_cache.warm_sigmas()
    assert sigmas[0] == state.DEFAULT_SIGMA and len(set(sigmas)) == len(sigmas) == 11
    steps = np.round((np.array(sigmas) - state.SIGMA_MIN) / state.SIGMA_STEP, 6)
    assert np.all(steps == np.round(steps)), sigmas                      # on the slider's grid
    assert {round(state.DEFAULT_SIGMA + k * state.SIGMA_STEP, 2) for k in (-5, 1, 5)} <= set(sigmas)
    assert all(state.SIGMA_MIN <= s <= state.SIGMA_MAX for s in ddrs_cache.warm_sigmas(state.SIGMA_MIN))


def test_curve_reports_say_how_much_work_remains(monkeypatch):
    moons = next(e for e in ZOO if e.margin is not None and e.dataset_spec.get("name") == "moons")
    monkeypatch.setattr(margin_cache, "report", lambda key, *args: f"report of {key}")
    monkeypatch.setattr(margin_cache, "zoo_model", lambda name: SimpleNamespace(model=None, input_shape=(2,)))
    monkeypatch.setattr(margin_cache, "lipschitz", lambda *args: SimpleNamespace(k=1.0))

    def fails(*args):
        raise ValueError("no data")
    monkeypatch.setattr(margin_cache, "trained_per_loss", fails)
    data = SimpleNamespace(spec=moons.dataset_spec, x_test=np.zeros((3, 2)), y_test=np.zeros(3), input_shape=(2,))
    current = SimpleNamespace(dataset=data, dataset_key="moons", num_classes=2, label="mine", key="upload:mine",
                              model=None)
    steps = []
    reports, problems = margin_cache.curve_reports(current, 1.0, [margin_cache.TrainParams("mscr", 0.3, 0.2, 10)],
                                                   lambda done, total, label: steps.append((done, total, label)))
    zoo_count = sum(e.margin is not None and e.dataset_spec == moons.dataset_spec for e in ZOO)
    total = 1 + zoo_count + 1
    assert len(reports) == 1 + zoo_count and len(problems) == 1
    assert [s[0] for s in steps] == list(range(total)) + [total] and {s[1] for s in steps} == {total}
    assert steps[0][2] == "mine" and steps[-2][2].startswith("training")


def test_boundary_maps_take_clicks_without_a_marker_lattice_and_read_out_the_exact_maps():
    from cert_core import grid
    from cert_core.grid_view import make_view
    from ui import image_map
    from ui.boundaries import explorer
    from ui.boundaries import figures as bf
    from ui.images import lattice_points

    view = make_view((-3.0, 3.0, -3.0, 3.0), 120)
    gen = np.random.default_rng(0)
    probs = gen.random((3, 120, 120))
    probs /= probs.sum(0)
    radius = grid.exact_radius(probs, 0.25)
    specs = explorer.map_specs(view, probs.argmax(0), probs, radius, ("a", "b", "c"), 0.25, 0.55, False, None,
                               None, None, [])
    for spec in specs:
        data = bf.map_picture(spec).data()                # ui.image_map's JSON: clicks land on its plot area
        assert max((len(m["xs"]) for m in data["points"]), default=0) < 100 and data["readout"]["classes"]
    smooth = specs[1].readout                     # the read-out is the exact maps at the lattice's pixels
    pts, ij = lattice_points(view)
    side = len(smooth.classes)
    under = (ij[:, 0], ij[:, 1])
    assert np.allclose(np.ravel(smooth.values), probs.max(0)[under], atol=1e-6)
    ((label, radii, _),) = smooth.more
    assert label == "exact radius" and np.allclose(np.ravel(radii), radius[under], atol=1e-5)
    assert [smooth.class_names[k] for k in np.ravel(smooth.classes)] == \
        [("a", "b", "c")[k] for k in probs.argmax(0)[under]]
    assert np.ravel(specs[0].readout.classes).tolist() == probs.argmax(0)[under].tolist()   # f: the base labels given
    j, i = np.meshgrid(np.arange(side), np.arange(side))  # value [i][j] at (x0 + j·dx, y0 + i·dy)
    lattice = np.stack([smooth.x0 + j * smooth.dx, smooth.y0 + i * smooth.dy], -1).reshape(-1, 2)
    assert np.allclose(lattice, pts)
    # the click listener's event: finite coordinates or nothing
    assert image_map.clicked({"clicked": {"x": 0.5, "y": -1.25}}) == (0.5, -1.25)
    for bad in (None, {}, {"clicked": None}, {"clicked": {"x": "a", "y": 1}}, {"clicked": {"x": float("nan"), "y": 0}}):
        assert image_map.clicked(bad) is None, bad
