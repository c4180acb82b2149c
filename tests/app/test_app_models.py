"""AppTest of the Models page and the Welcome page: default path, zoo selection, training."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import navigation

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_welcome_page_explains_and_links():
    at = AppTest.from_file(APP, default_timeout=60).run()
    _ok(at)
    assert at.title[0].value == "Certified Robustness Explorer"
    assert len(at.get("page_link")) == 4                  # boundaries, models, lesson, glossary
    assert at.query_params["sigma"] == "0.25"


def test_models_page_zoo_train_and_current_model():
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(navigation.MODELS.file).run()
    _ok(at)
    assert not at.error
    assert at.button(key="use_moons-mlp-s0.25").disabled          # the current model's card
    at.button(key="use_circles-mlp-s0").click().run()
    _ok(at)
    assert at.selectbox(key="model_key").value == "zoo:circles-mlp-s0"
    assert at.query_params["model"] == "circles-mlp-s0"
    assert any(m.label == "Test accuracy" for m in at.metric)        # current-model tab
    # train a tiny model: it becomes current and offers a download
    at.selectbox(key="t_dataset").set_value("xor")
    at.number_input(key="t_samples").set_value(100)
    at.slider(key="t_epochs").set_value(10)
    at.select_slider(key="t_width").set_value(8)
    at.slider(key="t_depth").set_value(1)
    at.button[[b.label for b in at.button].index("Train")].click().run()
    _ok(at)
    assert at.session_state["model_key"].startswith("user:")
    assert any("xor-mlp-s0.25-trained" in s.value for s in at.success)
    assert at.get("download_button")


def test_models_page_with_an_image_model_still_works():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["model"] = "digits-cnn-s0.25"
    at.switch_page(navigation.MODELS.file).run()
    _ok(at)
    assert at.selectbox(key="model_key").value == "zoo:digits-cnn-s0.25"
    assert not at.error


def test_unknown_model_in_a_link_falls_back_with_a_message():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["model"] = "no-such-model"
    at.run()
    _ok(at)
    assert any("not in the zoo" in e.value for e in at.error)
    assert at.selectbox(key="model_key").value == "zoo:moons-mlp-s0.25"


def test_zoo_cards_use_the_sidebar_notation_and_different_digits():
    from cert_core.models.zoo import ZOO
    from ui.models import hub
    assert hub.card_text("MLP 64x3 on two half-moons, trained with Gaussian noise sigma=0.25") == \
        "MLP 64×3 on two half-moons"
    assert hub.card_text("MLP on moons, MSCR loss d=0.3, sigma_x=0.2").endswith("σ_x=0.2")
    digits = [hub._digit_of(e) for e in ZOO if e.dataset_spec.get("name") == "digits"]
    assert len(set(digits)) == len(digits) > 1


def test_csv_scaling_reports_the_original_range_and_factor():
    from cert_core.models.csv_dataset import load_csv
    from ui.models import hub
    raw = "\n".join(f"{x},{-x / 2},{int(x > 0)}" for x in range(-50, 51, 5)).encode()
    note = hub.csv_scaling(raw)
    assert "x₁ ∈ [-50, 50]" in note and "x₂ ∈ [-25, 25]" in note and "×0.04 " in note
    d = load_csv(raw)
    assert abs(abs(d.x_train).max() - 2) < 1e-5 or abs(abs(d.x_test).max() - 2) < 1e-5


def test_torchscript_upload_is_refused_until_trusted_then_runs_isolated(tmp_path):
    import hostile_kit
    target = tmp_path / "runs.sqlite"
    target.write_bytes(b"the run store")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(navigation.MODELS.file).run()
    assert at.toggle(key="trust_ts").value is False                      # off by default
    assert any("weights_only=True" in c.value for c in at.caption)        # the safe default, said beside it
    at.file_uploader(key="up_model").upload("evil.pt", hostile_kit.archive(hostile_kit.SetstateWriter(str(target))))
    at.run()
    _ok(at)
    assert any("TorchScript is code" in e.value and "Trust TorchScript files" in e.value for e in at.error)
    assert not at.session_state["model_key"].startswith("user:") and target.read_bytes() == b"the run store"
    at.toggle(key="trust_ts").set_value(True).run()
    _ok(at)
    assert at.session_state["model_key"].startswith("user:") and any("Loaded" in s.value for s in at.success)
    loaded = at.session_state["user_models"][at.session_state["model_key"]]["loaded"]
    assert loaded.input_shape == (2,) and loaded.num_classes == 2        # probed in its own process
    if any("Landlock" in p for p in loaded.model.protections):
        assert target.read_bytes() == b"the run store"


def test_a_run_of_a_trusted_torchscript_model_stores_the_archive_and_the_trust(tmp_path):
    import io
    import torch
    from cert_core.models.bundles import load_model
    from cert_core.runs.inputs import load_run_model
    from cert_core.runs.store import RunStore
    from cert_core.models.zoo import load_zoo_model
    from ui import state
    from ui.runs import launch as run_launch
    buf = io.BytesIO()
    torch.jit.save(torch.jit.trace(load_zoo_model("moons-mlp-s0.25").model, torch.zeros(1, 2)), buf)
    loaded = load_model(buf.getvalue(), metadata={"input_shape": [2], "num_classes": 2}, trust_torchscript=True)
    current = state.CurrentModel("user:abc", "ts", loaded, None)
    spec = run_launch.model_source(current, RunStore(tmp_path / "runs.sqlite"))
    assert spec["trust_torchscript"] is True and Path(spec["path"]).read_bytes() == buf.getvalue()
    assert load_run_model(spec).model.protections                          # the worker runs it isolated too
    with pytest.raises(ValueError, match="TorchScript is code"):
        load_run_model({k: v for k, v in spec.items() if k != "trust_torchscript"})
