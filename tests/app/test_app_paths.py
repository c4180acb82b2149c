"""AppTest of the activation-paths page: default path, main controls, the audit, an image model, bad input."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from ui import navigation

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = navigation.PATHS


def _page(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in state.items():
        at.session_state[k] = v
    at.switch_page(PAGE.file)
    return at


def _text(at: AppTest) -> str:
    return " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.error, *at.warning,
                                           *at.success])


@pytest.fixture   # a fresh page per test (tests change it); the caches make the rerun cheap
def first_run() -> AppTest:
    at = _page(paths_res=21, paths_count=3, paths_n=500, paths_tab="Path surfaces")
    at.run()
    return at


def test_default_path_draws_ratios_surfaces_and_the_counterexample(first_run):
    at = first_run
    assert not at.exception
    assert at.title[0].value == "Activation paths & SC-RFP"
    text = _text(at)
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    # only the open tab (Path surfaces) runs: Figure 2's tab and the audit's wait (on a first load: Figure 2 only)
    assert "Z_float" in specs and "Fixed-neuron ratio per layer" not in specs and "Run the audit" not in text
    assert "of the neurons float over this region" in text
    assert "f = Z_fixed + Z_float holds to" in text
    assert "Cohen et al.'s radius here" in text and "passes the same exact audit" in text
    assert "CERTIFY claims **R =" in text


def _surfaces(at: AppTest) -> str:
    """The plotly spec of the fixed/float surfaces figure."""
    return next(c.proto.spec for c in at.get("plotly_chart") if "Z_float" in c.proto.spec)


def test_eta_slider_and_region_change_the_surfaces(first_run):
    at = first_run
    before = _surfaces(at)
    at.slider(key="paths_eta").set_value(1.0).run()
    assert not at.exception
    after_eta = _surfaces(at)
    assert after_eta != before                                           # SC-RFP's repressed surface moves with η
    at.radio(key="paths_region").set_value("each pair {x, x'}").run()
    assert not at.exception
    assert _surfaces(at) not in (before, after_eta)                      # another region, other float neurons


def test_audit_button_reports_violation_rates(first_run):
    at = first_run
    at.session_state["paths_tab"] = "SC-RFP audit"
    at.run()                                                            # the audit tab's button is drawn
    assert "Run the audit" in _text(at)                                 # the audit waits for the button
    at.slider(key="paths_eta").set_value(1.0)
    at.button(key="paths_run").click()
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "violation rate" in d.value.columns)
    assert list(table["method"]) == ["Cohen et al.", "SC-RFP (η = 1)"]
    assert table["violations"].iloc[0] == 0                             # Cohen passes the same audit
    assert table["certified"].iloc[1] >= 1


def test_image_model_uses_a_test_image_and_random_directions():
    at = _page(model_key="zoo:digits-cnn-s0.25", paths_res=21, paths_tab="Path surfaces")
    at.run()
    assert not at.exception
    assert "test image 0" in _text(at)
    at.radio(key="paths_dirs").set_value("gradient and random")
    at.run()
    assert not at.exception


def test_cnn_page_runs_algorithm_1_masks_by_default_and_names_the_max_pool_variant():
    at = _page(model_key="zoo:digits-cnn-s0.25", paths_res=21)
    at.run()
    assert not at.exception
    assert at.radio(key="paths_pool").value == "paper"
    assert "as Algorithm 1 prints it" in _text(at)
    at.radio(key="paths_pool").set_value("repress-max-pool").run()
    assert not at.exception
    assert "Running a variant, not the paper" in _text(at)


def test_smooth_activation_model_gets_a_clear_message():
    from torch import nn
    from cert_core.models.bundles import LoadedModel
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).eval()
    loaded = LoadedModel(model, None, {"input_shape": [2], "num_classes": 2})
    at = _page(user_models={"user:tanh": {"label": "tanh net", "loaded": loaded, "dataset": None}},
               model_key="user:tanh")
    at.run()
    assert not at.exception
    assert any("Layer 1 (Tanh) is not supported" in str(e.value) for e in at.error)
    assert "Cohen et al.'s radius here" in _text(at)                   # the counterexample still shows


def test_bad_number_input_is_clamped_not_a_traceback(first_run):
    at = first_run
    at.session_state["paths_tab"] = "SC-RFP audit"
    at.run()
    at.number_input(key="paths_alpha").set_value(0.5)
    at.run()
    assert not at.exception


def test_orthogonal_model_decomposes_like_any_relu_net():
    at = _page(model_key="zoo:moons-ortho-mscr-s0.2", paths_res=21, paths_count=3, paths_n=500,
               paths_tab="Path surfaces")
    at.run()
    assert not at.exception
    assert not any("is not supported" in str(e.value) for e in at.error)   # Björck layers are affine at inference
    text = _text(at)
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    # only the open tab (Path surfaces) runs: Figure 2's tab and the audit's wait (on a first load: Figure 2 only)
    assert "Z_float" in specs and "Fixed-neuron ratio per layer" not in specs and "Run the audit" not in text
    assert "of the neurons float over this region" in text and "f = Z_fixed + Z_float holds to" in text


def test_the_floating_point_counterexample_runs_on_a_click(first_run):
    at = first_run
    assert "Floating point: a false certificate" in at.expander[-1].label
    assert "this app's default sampler" in _text(at)                    # says which sampler runs by default
    assert "The construction is ours" in _text(at)                      # says which construction it is
    next(b for b in at.button if b.key == "paths_float_run").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Standard radius at x" in labels and "Sound radius at x" in labels
    assert "a false certificate" in _text(at) and "answer is consistent" in _text(at)


def test_first_screen_draws_no_plotly_chart_and_the_diagram_only_when_opened():
    """Issue 17 (first loads): the Float neurons tab and the counterexample are ui.image_map pictures; the network
    diagram (Plotly) waits in a folded section and is drawn when opened."""
    from apptest_kit import first_screen_maps
    from ui import image_map
    import json
    import numpy as np
    from ui.paths import figures as pf
    at = _page()
    at.run()
    assert not at.exception
    assert first_screen_maps(at) == ["paths_ratio", "paths_heat", "paths_constructed"]
    assert "Network diagram" in " ".join(e.label for e in at.expander)
    at.session_state["paths_net_open"] = True
    at.run()
    assert not at.exception
    assert "Float neurons of the region" in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "hidden neurons float" in _text(at)
    # the pictures keep the Plotly charts' read-outs, markers and legends
    chart = pf.ratio_chart((0.0, 0.5, 1.0), np.array([[1.0, 1.0], [0.8, 0.9], [0.6, 0.7]]), ["layer 1"], 0.5).data()
    assert chart["lines"][0]["hover"][1] == "layer 1\nσ = 0.50: 80.0% fixed"
    assert [e[0] for e in chart["legend"]] == ["layer 1", "all neurons"] and chart["lines"][-1]["text"] == "σ = 0.5"
    picture = pf.audit_picture(tuple(np.float32([-1, 1, -1, 1])), np.eye(5, dtype=int), np.float32([0, 0]), 0.3,
                               0.5, (0.6, 0), 1.0, "t")      # the audit tab's window: float32 bounds
    assert isinstance(picture, image_map.MapPicture) and picture.readout.values[0][0] == 1
    json.dumps(picture.data(), allow_nan=False)               # the component's data must be plain JSON
    assert [c.dash for c in picture.circles] == ["", "9 6"] and picture.lines[0].end_x > 0
