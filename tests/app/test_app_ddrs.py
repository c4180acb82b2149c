"""AppTest of the per-input σ page: default path, main controls, a selected point, bad input."""

import pytest
from apptest_kit import page_test, page_text, dataframe_with
from streamlit.testing.v1 import AppTest
from ui import navigation

PAGE = navigation.DDRS





@pytest.fixture   # a fresh page per test (tests change it); the caches make the rerun cheap
def first_run() -> AppTest:
    at = page_test(PAGE, ddrs_res=100, ddrs_count=8, ddrs_ncert=500, ddrs_steps=5)
    at.run()
    return at


def test_default_path_draws_maps_memory_table_and_counterexample(first_run):
    at = first_run
    assert not at.exception
    assert at.title[0].value == "Per-input σ"
    labels = [m.label for m in at.metric]
    assert {"Mean radius, fixed σ₀", "Mean R*", "View where R* is false", "Conflicts"} <= set(labels)
    table = dataframe_with(at, "ACR")
    assert len(table) == 3 and "ACR" in table.columns
    assert "Súkeník" in page_text(at) and "inside its" in page_text(at)
    cex = dataframe_with(at, "order")
    assert list(cex["order"]) == ["x_far first", "x_in first"]
    assert "Click a map" in page_text(at)


def test_selected_point_shows_curve_and_trajectory(first_run):
    at = first_run
    at.session_state["point"] = (1.5, 1.5)
    at.run()
    assert not at.exception
    rows = dataframe_with(at, "what")
    assert rows["what"].iloc[1].startswith("OptimizeSigma")
    float(rows["σ"].iloc[1])                                         # a number, not an error


def test_a_rerun_with_the_same_inputs_recomputes_nothing(first_run, monkeypatch):
    """QA: the first load takes seconds; every heavy step must be cached on keys that repeat."""
    from cert_core.methods.ddrs import sigma as ddrs
    from cert_core.methods.ddrs import plane as ddrs_grid
    calls = []
    for module, name in ((ddrs_grid, "sigma_star_maps"), (ddrs_grid, "radius_curve"), (ddrs, "optimize_sigma"),
                         (ddrs, "certify_at_sigma")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    at = first_run
    at.run()                                     # same inputs as before (the point of the test above)
    assert not at.exception and calls == []
    at.number_input(key="ddrs_seed").set_value(1).run()      # a new seed: only the Monte Carlo steps rerun
    assert not at.exception and "sigma_star_maps" not in calls and "optimize_sigma" in calls
    at.number_input(key="ddrs_seed").set_value(0).run()


def test_query_order_changes_nothing_but_the_memory(first_run):
    at = first_run
    before = dataframe_with(at, "ACR").copy()
    at.radio(key="ddrs_order").set_value("reversed").run()
    assert not at.exception
    after = dataframe_with(at, "ACR")
    assert after.iloc[:2].equals(before.iloc[:2])                   # fixed σ and no-memory rows unchanged
    assert "reversed" in after["method"].iloc[2]


def test_empty_sigma_range_is_a_clear_error(first_run):
    at = first_run
    at.slider(key="ddrs_range").set_value((0.5, 0.5)).run()
    assert not at.exception
    assert any("σ range must not be empty" in e.value for e in at.error)


def test_image_model_shows_only_the_counterexample():
    at = page_test(PAGE, model_key="zoo:digits-cnn-s0.25")
    at.run()
    assert not at.exception
    assert any("need a 2D" in w.value for w in at.warning)
    assert dataframe_with(at, "order").shape[0] == 2
