"""AppTest of the Bernstein page: Figure 3 with the three radii, the root-finding warning, the degree slider,
a non-2D model, the image pipeline (computed L_G, memory guard, a model with no bottleneck) and Figure 7."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/bernstein.py"


def _page(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(PAGE)
    return at


def _df(at: AppTest, column: str):
    """The first dataframe with this column (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _text(at: AppTest) -> str:
    return " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.error, *at.warning,
                                           *at.success])


@pytest.fixture(scope="module")
def default() -> AppTest:
    at = _page(model_key="zoo:moons-mlp-s0.25")
    at.run()
    return at


def test_default_path_shows_maps_and_three_radii(default):
    at = default
    assert not at.exception
    assert at.title[0].value == "Bernstein smoothing"
    rows = _df(at, "method")
    assert list(rows["method"]) == ["Bernstein root-finding (n=10)", "Distance to Bernstein boundary (n=10)",
                                    "Bernstein Lipschitz certificate (n=10)"]
    assert list(rows["kind"]) == ["upper bound", "exact", "certificate"]
    exact = float(rows["radius"][1].split(" ± ")[0])
    assert 0 < float(rows["radius"][2]) <= exact       # the sound radius is below the true distance
    assert "Press **Certify the subset**" in _text(at)


def test_root_finding_overestimate_is_flagged(default):
    at = default
    assert any("Root-finding overestimated the distance" in w.value for w in at.warning)
    assert "⚠ overestimates" in _df(at, "method")["note"][0]


def test_degree_slider_and_smoothing_mode(default):
    at = default
    at.slider(key="bern_n").set_value(3).run()
    at.radio(key="bern_smooth").set_value("probabilities").run()
    assert not at.exception
    assert _df(at, "method")["method"][0] == "Bernstein root-finding (n=3)"


def test_image_model_and_pipeline_with_the_computed_lipschitz_bound():
    at = _page(model_key="zoo:digits-cnn-s0", bern_size=10)
    at.run()
    assert "is not a 2D model" in _text(at)
    at.button(key="bern_go").click().run()
    assert not at.exception
    lg = next(m for m in at.metric if m.label == "L_G (guaranteed)")
    assert 0.25 < float(lg.value) < 0.4
    assert len(_df(at, "sound radius (input)")) == 10
    at.selectbox(key="bern_model").set_value("zoo:digits-cnn-s0").run()
    assert any("This model has no bottleneck" in e.value for e in at.error)


def test_degree_too_large_gives_the_memory_guard_message():
    at = _page(model_key="zoo:digits-bottleneck-d5-s0", bern_size=10, bern_started=True, bern_img_n=60)
    at.run()
    assert not at.exception
    assert any("largest degree that fits for d = 5, K = 10 is n = 17" in e.value for e in at.error)


def test_regression_demo_and_an_empty_choice(default):
    at = default
    assert "keeps the shape" in _text(at)
    at.multiselect(key="bern_reg_n").set_value([]).run()
    assert any("Pick at least one degree" in w.value for w in at.warning)
