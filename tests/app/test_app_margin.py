"""AppTest of the SRA page: default path, an orthogonal model, main controls, a non-2D model, a model without
a Lipschitz bound, and the inspector's Lipschitz/MCR/MSCR rows."""

import pytest
from apptest_kit import first_screen_maps, page_test, page_text
from streamlit.testing.v1 import AppTest
from torch import nn
from ui import navigation

PAGE = navigation.MARGIN
OPEN = dict(sra_closed_open=True, sra_curves_open=True, sra_heat_open=True)   # the sections below the fold, opened




@pytest.fixture   # a fresh page per test (tests change it); the caches make the rerun cheap
def ortho() -> AppTest:
    at = page_test(PAGE, model_key="zoo:moons-ortho-mscr-s0.2", sra_n=100, **OPEN)
    at.run()
    return at


def test_default_model_explains_its_loose_lipschitz_bound():
    at = page_test(PAGE, sra_n=100, **OPEN)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Smoothed robustness (SRA)"
    k = next(m for m in at.metric if m.label == "Lipschitz bound K")
    assert float(k.value) > 10
    assert "not Lipschitz-constrained" in page_text(at)
    # its smoothing CR curve has its own radius grid: Cohen's ACR at sigma = 0.25 is ~0.4, not the margin zoom
    aucs = next(d.value for d in at.dataframe if "AUC_GN" in d.value.columns)
    first = aucs.iloc[0]
    assert float(first["AUC_CR RS"]) > 0.3 and float(first["AUC_CR margin"]) < 0.1


def test_first_screen_draws_figure1_without_plotly():
    """Issue 17, first loads: with the sections below the fold closed, Figure 1's panels are pictures, not Plotly
    charts, so a new visitor's browser never loads Plotly's chunk for this page's first screen."""
    at = page_test(PAGE, model_key="zoo:moons-ortho-mscr-s0.2", sra_n=100)
    at.run()
    assert not at.exception and first_screen_maps(at) == ["sra_fig_Avera", "sra_fig_Worst", "sra_fig_Smoot"]


def test_orthogonal_model_shows_three_analyses_radii_curves_and_heatmap(ortho):
    at = ortho
    assert not at.exception
    assert float(next(m for m in at.metric if m.label == "Lipschitz bound K").value) < 1.001
    text = page_text(at)
    assert text.count("Γ = 0") >= 3 and "safe" in text
    labels = {m.label for m in at.metric}
    assert {"MCR (Eq. 6)", "MSCR, Monte Carlo (Eq. 5)", "MSCR, closed form (Eq. 7)"} <= labels
    aucs = next(d.value for d in at.dataframe if "AUC_GN" in d.value.columns)
    assert "moons-ortho-mscr-s0.2" in set(aucs["model"]) and len(aucs) >= 3
    assert at.radio(key="sra_metric").value == "clean accuracy"


def test_controls_change_the_analysis(ortho):
    at = ortho
    at.slider(key="sra_eps").set_value(1.2).run()
    at.radio(key="sra_loss").set_value("zero_one").run()
    assert not at.exception
    assert page_text(at).count("Γ = 0.5") >= 3 and "not safe" in page_text(at)  # a 1.2 ball around (0.5, 0.25) crosses
    at.multiselect(key="sra_losses").set_value(["MCR"]).run()
    at.radio(key="sra_metric").set_value("AUC_GN").run()
    assert not at.exception
    aucs = next(d.value for d in at.dataframe if "AUC_GN" in d.value.columns)
    assert any(name.startswith("MCR d=0.3") for name in aucs["model"])


def test_image_model_skips_figure1_but_draws_curves():
    at = page_test(PAGE, model_key="zoo:digits-ortho-mscr-s0.1", **OPEN)
    at.run()
    assert not at.exception
    assert "Figure 1 (a 2D neighbourhood) needs a 2D model" in page_text(at)
    assert any("AUC_GN" in d.value.columns for d in at.dataframe)


def test_page_shows_how_often_the_closed_form_over_claims():
    """Audit item 7: the 10-class digits model over-claims on most points at σ = 0.25; the 2-class moons one, where
    Eq. 7 errs only through the moment propagation, far less often."""
    label = "Eq. 7, an estimate, over-claims on"
    at = page_test(PAGE, model_key="zoo:digits-ortho-mscr-s0.1", **OPEN)
    at.run()
    assert not at.exception
    digits = next(m for m in at.metric if m.label == label)
    assert digits.value.endswith("% of points") and int(digits.value.split("%")[0]) > 50
    assert "sra_closed_form" in str([c.proto.id for c in at.get("plotly_chart")])
    at = page_test(PAGE, model_key="zoo:moons-ortho-mscr-s0.2", sra_n=100, **OPEN)
    at.run()
    moons = next(m for m in at.metric if m.label == label)   # 2 classes: off only through moment propagation
    assert int(moons.value.split("%")[0]) < int(digits.value.split("%")[0])
    assert "median" in moons.delta and "median" in digits.delta


def test_model_without_a_lipschitz_bound_is_explained_not_a_crash():
    from cert_core.models.bundles import LoadedModel
    model = nn.Sequential(nn.Linear(2, 8), nn.GELU(), nn.Linear(8, 2)).eval()
    at = page_test(PAGE, **OPEN)
    at.session_state["user_models"] = {"user:gelu": {"label": "gelu net", "dataset": None, "loaded": LoadedModel(
        model, None, {"input_shape": [2], "num_classes": 2})}}
    at.session_state["model_key"] = "user:gelu"
    at.run()
    assert not at.exception
    assert "No Lipschitz bound for gelu net" in page_text(at) and "GELU" in page_text(at)


def test_inspector_rows_include_lipschitz_mcr_and_mscr():
    from cert_core import grid
    from cert_core.models.zoo import load_zoo_model
    from ui.inspector import InspectorContext, audit, run_providers
    model = load_zoo_model("moons-ortho-mcr-s0").model
    base = grid.evaluate_base(model, (-3, 3, -3, 3), 100, 1.5)
    ctx = InspectorContext(model, 2, (0.5, 0.25), 0.25, base, grid.blur(base, 0.25), n=2000)
    rows, errors = run_providers(ctx)
    by = {r.method: r for r in rows}
    assert not errors
    assert {"Lipschitz, Theorem 0", "Margin CR (MCR, Eq. 6)", "MSCR, Monte Carlo (Eq. 5)",
            "MSCR, closed form (Eq. 7)"} <= set(by)
    base_dist = by["Distance to base boundary"].radius + by["Distance to base boundary"].error
    assert 0 < by["Lipschitz, Theorem 0"].radius <= by["Margin CR (MCR, Eq. 6)"].radius * 1.5 <= 1.5 * base_dist
    assert by["Margin CR (MCR, Eq. 6)"].radius <= base_dist and by["Margin CR (MCR, Eq. 6)"].sound
    assert not by["MSCR, closed form (Eq. 7)"].sound
    mscr = by["MSCR, Monte Carlo (Eq. 5)"]  # a guarantee, but about the mean-logit classifier, not the vote g
    assert (mscr.kind, mscr.sound, mscr.classifier) == ("certificate", True, "mean-logit smoothed")
    assert "not for the majority vote" in mscr.note
    assert audit(rows) == []
