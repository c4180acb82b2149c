"""The lesson as data, the glossary and the presenter helpers: every step's target is a valid shared link,
what each step claims about its point is true on the exact 2D maps, every glossary link resolves."""
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy.stats import norm

from cert_core import grid
from cert_core.methods.ddrs import plane as ddrs_grid
from cert_core.models.data import BOX_2D
from cert_core.stats import gaussian_radius, lower_confidence_bound
from cert_core.models.zoo import ZOO, load_zoo_model
from ui import glossary, lessons, navigation, presenter, state

ROOT = Path(__file__).resolve().parents[2]


def exact_p(model: str, point, sigma: float, resolution: int = 150) -> np.ndarray:
    base = grid.evaluate_base(load_zoo_model(model).model, BOX_2D, resolution, state.SIGMA_MAX)
    return grid.probabilities_at(base, point, sigma)                          # (K,)


def test_seven_steps_each_a_valid_shared_link():
    assert len(lessons.LESSON) == 7
    for step in lessons.LESSON:
        t = step.target
        assert t.page in navigation.PAGES and (ROOT / t.page.file).exists()
        assert t.model in {e.name for e in ZOO}
        assert state.SIGMA_MIN <= t.sigma <= state.SIGMA_MAX and round(t.sigma, 2) == t.sigma
        assert t.point is not None and BOX_2D[0] <= t.point[0] <= BOX_2D[1] and BOX_2D[2] <= t.point[1] <= BOX_2D[3]
        # the same text a shared link carries: sync_url writes sigma with :g and points with 3 decimals
        assert t.query == {"model": t.model, "sigma": f"{t.sigma:g}", "x": f"{t.point[0]:.3f}",
                           "y": f"{t.point[1]:.3f}"}
        assert step.title and step.text and step.formula and step.try_this
        assert "_" not in re.sub(r"\$[^$]*\$", "", step.title)     # a symbol is typeset, never a literal p_A
        assert all(p in navigation.PAGES and (ROOT / p.file).exists() for p in step.also)


def test_step1_point_has_a_large_certificate():
    step = lessons.LESSON[0].target
    p = exact_p(step.model, step.point, step.sigma)
    assert grid.exact_radius(p, step.sigma) > 0.5                             # a circle the class can see


def test_step2_claims_p_a_near_074_and_n_matters():
    t = lessons.LESSON[1].target
    p_a = float(exact_p(t.model, t.point, t.sigma).max())
    assert 0.70 < p_a < 0.78                                                  # "about 0.74"
    # the prompt: fewer samples -> smaller lower bound -> smaller radius (expected vote counts)
    r = [gaussian_radius(lower_confidence_bound(round(p_a * n), n, 0.001), t.sigma) for n in (10_000, 1_000)]
    assert r[0] > r[1] > 0


def test_step3_sigma_trade_off_holds_at_its_point():
    t = lessons.LESSON[2].target
    p_small, p_large = exact_p(t.model, t.point, 0.12), exact_p(t.model, (0.0, 0.5), 1.0)
    assert grid.exact_radius(p_small, 0.12) < grid.exact_radius(exact_p(t.model, t.point, t.sigma), t.sigma)
    assert p_large.max() < 0.6                                                # the centre greys out at σ = 1
    # the cap in the formula: a unanimous vote with n = 10 000, α = 0.001
    assert gaussian_radius(lower_confidence_bound(10_000, 10_000, 0.001), 1.0) == pytest.approx(
        norm.ppf(0.001 ** (1 / 10_000)), rel=1e-9)


def test_step4_monte_carlo_radius_below_exact_radius():
    t = lessons.LESSON[3].target
    p = exact_p(t.model, t.point, t.sigma)
    exact = float(grid.exact_radius(p, t.sigma))
    mc = gaussian_radius(lower_confidence_bound(round(p.max() * 10_000), 10_000, 0.001), t.sigma)
    assert 0 < mc < exact


@pytest.fixture(scope="module")
def ddrs_maps():
    base = grid.evaluate_base(load_zoo_model("moons-mlp-s0.25").model, BOX_2D, 150, state.SIGMA_MAX)
    return base, ddrs_grid.sigma_grid(0.05, 1.5, 24)                          # the per-input σ page's defaults


def _radius_and_distance(base, sigmas, target):
    cls, curve = ddrs_grid.radius_curve(base, target.point, sigmas, target.sigma)
    maps = ddrs_grid.sigma_star_maps(base, sigmas, target.sigma)
    i, j = (int(np.rint((c - lo) / base.view.spacing[k])) for k, c, lo in
            ((1, target.point[1], BOX_2D[2]), (0, target.point[0], BOX_2D[0])))
    return float(curve.max()), float(maps.distance[i, j]), float(sigmas[curve.argmax()])


def test_step5_per_input_sigma_is_larger_and_still_true(ddrs_maps):
    t = lessons.LESSON[4].target
    r_star, dist, s_star = _radius_and_distance(*ddrs_maps, t)
    assert r_star == pytest.approx(1.43, abs=0.03) and dist == pytest.approx(1.48, abs=0.03)
    assert 0.3 < s_star < 0.5 and r_star < dist


def test_step6_per_input_sigma_claims_too_much(ddrs_maps):
    t = lessons.LESSON[5].target
    r_star, dist, s_star = _radius_and_distance(*ddrs_maps, t)
    assert s_star == pytest.approx(1.5) and r_star == pytest.approx(2.2, abs=0.1)
    assert dist == pytest.approx(1.6, abs=0.1) and r_star > dist + 0.3        # "not a certificate"


def test_step7_sequential_stops_early_with_a_radius_as_large_as_fixed_n():
    """'stops after about 5,000 samples with nearly the radius of fixed n, which needed all 10,100'."""
    import torch
    from cert_core.smoothing import Smooth
    from ui.sequential import cache
    t = lessons.LESSON[6].target
    model = load_zoo_model(t.model).model
    path = cache.sequential_path(model, 2, cache.path_params(t.point, t.sigma, 100, 10_000, 0.001, 0))
    fixed = Smooth(model, 2, t.sigma).certify(torch.tensor(t.point), 100, 10_000, 0.001, 10_000,
                                               torch.Generator().manual_seed(0))
    assert 3_000 < path.drawn < 7_000 and path.certificate.radius >= fixed.radius - 0.02 > 0.4


def test_glossary_links_resolve_and_slugs_are_unique():
    slugs = [t.slug for t in glossary.TERMS]
    assert len(slugs) == len(set(slugs)) >= 20
    for term in glossary.TERMS:
        for other in term.see:
            glossary.find(other)
        assert all(p in navigation.PAGES and (ROOT / p.file).exists() for p in term.pages)
    text = " ".join(s.text for s in lessons.LESSON)
    for target in re.findall(r"\]\(glossary#([a-z0-9-]+) ", text):
        assert target in glossary.BY_SLUG
    assert glossary.link("Certified radius", "radius") == \
        '[radius](glossary#certified-radius "The radius R of the ℓ2 ball on which the certificate holds.")'
    assert glossary.find("noise level  σ").name == "Noise level σ"
    # symbols are typeset wherever a name is shown (no literal "p_A" in a heading, the index or a link)
    assert glossary.find("p_A and its lower bound").title == "$p_A$ and its lower bound"
    assert glossary.link("p_A and its lower bound").startswith("[$p_A$ and its lower bound](glossary#")
    with pytest.raises(KeyError, match="No glossary term 'robustnes'"):
        glossary.find("robustnes")
    assert [t.name for t in glossary.search("memory")][0] == "Per-input σ (DDRS)"
    assert glossary.search("zzz nothing") == ()


def test_presenter_scale_and_css():
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))
    fig.update_layout(font=dict(size=10), height=400, title=dict(text="t", font_size=20), legend_font_size=8,
                      uirevision="a")
    fig.update_xaxes(tickfont_size=6)
    fig.add_annotation(text="note", x=0, y=0, font_size=12)
    big = presenter.scale(fig, 2.0)
    assert big is not fig and fig.layout.font.size == 10                      # the input is untouched
    assert (big.layout.font.size, big.layout.title.font.size, big.layout.legend.font.size) == (20, 40, 16)
    assert big.layout.xaxis.tickfont.size == 12 and big.layout.annotations[0].font.size == 24
    assert big.layout.height == 800 and big.layout.uirevision == "presenter"
    css = presenter.css(("resolution", "seed"))
    assert ".st-key-resolution, .st-key-seed { display: none !important; }" in css
    assert "html { font-size: 21px; }" in css and "opacity: 1" in css
