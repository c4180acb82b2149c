"""AppTest of the Bernstein page: Figure 3 with the three radii, the root-finding warning, the degree slider,
a non-2D model, the image pipeline (computed L_G, memory guard, a model with no bottleneck) and Figure 7."""

import pytest
from apptest_kit import page_test, page_text, dataframe_with
from streamlit.testing.v1 import AppTest

PAGE = "pages/bernstein.py"





@pytest.fixture(scope="module")
def default() -> AppTest:
    at = page_test(PAGE, model_key="zoo:moons-mlp-s0.25")
    at.run()
    return at


def test_default_path_shows_maps_and_three_radii(default):
    at = default
    assert not at.exception
    assert at.title[0].value == "Bernstein smoothing"
    rows = dataframe_with(at, "method")
    assert list(rows["method"]) == ["Bernstein root-finding (n=10)", "Distance to Bernstein boundary (n=10)",
                                    "Bernstein Lipschitz certificate (n=10)"]
    assert list(rows["kind"]) == ["upper bound", "exact", "certificate"]
    exact = float(rows["radius"][1].split(" ± ")[0])
    assert 0 < float(rows["radius"][2]) <= exact       # the sound radius is below the true distance
    assert "Press **Certify the subset**" in page_text(at)


def test_root_finding_overestimate_is_flagged(default):
    at = default
    assert any("Root-finding overestimated the distance" in w.value for w in at.warning)
    assert "⚠ overestimates" in dataframe_with(at, "method")["note"][0]


def test_degree_slider_and_smoothing_mode(default):
    at = default
    at.slider(key="bern_n").set_value(3).run()
    at.radio(key="bern_smooth").set_value("probabilities").run()
    assert not at.exception
    assert dataframe_with(at, "method")["method"][0] == "Bernstein root-finding (n=3)"


def test_image_model_and_pipeline_with_the_computed_lipschitz_bound():
    at = page_test(PAGE, model_key="zoo:digits-cnn-s0", bern_size=10)
    at.run()
    assert "is not a 2D model" in page_text(at)
    at.button(key="bern_go").click().run()
    assert not at.exception
    lg = next(m for m in at.metric if m.label == "L_G (guaranteed)")
    assert 0.25 < float(lg.value) < 0.4
    assert len(dataframe_with(at, "sound radius (input)")) == 10
    at.selectbox(key="bern_model").set_value("zoo:digits-cnn-s0").run()
    assert any("This model has no bottleneck" in e.value for e in at.error)


def test_degree_too_large_gives_the_memory_guard_message():
    at = page_test(PAGE, model_key="zoo:digits-bottleneck-d5-s0", bern_size=10, bern_started=True, bern_img_n=60)
    at.run()
    assert not at.exception
    assert any("largest degree that fits for d = 5, K = 10 is n = 17" in e.value for e in at.error)


def test_regression_demo_and_an_empty_choice(default):
    at = default
    assert "keeps the shape" in page_text(at)
    at.multiselect(key="bern_reg_n").set_value([]).run()
    assert any("Pick at least one degree" in w.value for w in at.warning)
