"""AppTest of the per-input σ page: default path, main controls, a selected point, bad input."""

import json

import pytest
from apptest_kit import first_screen_maps, page_test, page_text, dataframe_with
from streamlit.testing.v1 import AppTest
from ui import image_map, navigation, presenter

PAGE = navigation.DDRS
SMALL = dict(ddrs_res=100, ddrs_count=8, ddrs_ncert=500, ddrs_steps=5)





@pytest.fixture   # a fresh page per test (tests change it); the caches make the rerun cheap
def first_run() -> AppTest:
    at = page_test(PAGE, **SMALL, ddrs_memory_open=True, ddrs_cex_open=True)    # the sections below the fold, opened
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


def test_sections_below_the_fold_compute_nothing_until_opened(monkeypatch):
    """Issue 17: a first load and a σ step draw the three maps only; the memory study (OptimizeSigma + CERTIFY on
    the test set) and the counterexample are computed and sent once their expander is opened."""
    from cert_core.methods.ddrs import memory as ddrs_memory
    calls = []
    for name in ("memory_certify", "stripe_counterexample"):
        real = getattr(ddrs_memory, name)
        monkeypatch.setattr(ddrs_memory, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    at = page_test(PAGE, **SMALL)
    at.run()
    assert not at.exception and calls == [] and first_screen_maps(at) == ["ddrs_fixed", "ddrs_sigma", "ddrs_rstar"]
    assert [e.label for e in at.expander][-2:] == ["Memory-based certification of the test set (Table 1)",
                                                  "Is it a certificate? The stripe counterexample"]
    at.session_state["sigma"] = 0.26
    at.run()
    assert not at.exception and calls == [] and len(first_screen_maps(at)) == 3
    at.toggle(key=presenter.KEY).set_value(True).run()      # on a projector the maps' labels grow with the text
    fonts = {json.loads(c.proto.json)["font"] for c in at.get("bidi_component") if "image_map" in c.proto.component_name}
    assert not at.exception and fonts == {image_map.FONT_PRESENTER}


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
    assert any("needs a 2D model" in w.value for w in at.info) and not at.warning
    assert dataframe_with(at, "order").shape[0] == 2


def test_the_page_says_which_optimiser_and_memory_rule_run_and_offers_the_others(first_run):
    """Audit items 3-4: presets paper / authors' code / explorer / ours, the memory rule, all named on the page."""
    at = first_run
    running = " ".join(i.value for i in at.info)
    assert "explorer" in running and "top two classes re-picked each step" in running
    assert "the paper's memory rule" in running
    assert at.selectbox(key="ddrs_preset").options[:4] == ["explorer (paper's rule, fast)", "paper (Alg. 1, Sec. 4)",
                                                           "authors' code", "ours: c_A fixed, σ ≥ 0.01"]
    table = dataframe_with(at, "ACR")
    assert "the paper's memory rule" in table["method"].iloc[2]
    at.radio(key="ddrs_memory_rule").set_value("authors").run()
    assert not at.exception
    after = dataframe_with(at, "ACR")
    assert "the authors' memory rule" in after["method"].iloc[2] and after.iloc[:2].equals(table.iloc[:2])
    at.selectbox(key="ddrs_preset").set_value("fixed-top-class").run()
    assert not at.exception and "c_A fixed at σ₀" in " ".join(i.value for i in at.info)
    at.selectbox(key="ddrs_preset").set_value("custom").run()
    assert not at.exception and at.number_input(key="ddrs_steps").value == 5
    assert "custom settings" in " ".join(i.value for i in at.info)


def test_a_point_shows_both_rules_in_the_one_sample_setting(first_run):
    at = first_run
    at.session_state["point"] = (0.2, 0.3)
    at.run()
    assert not at.exception
    rules = dataframe_with(at, "rule")
    assert list(rules["rule"]) == ["paper", "fixed-top-class"]
    assert rules["σ* (n = 1)"].iloc[0] != rules["σ* (n = 1)"].iloc[1]
    assert "1-sample setting" in page_text(at)
