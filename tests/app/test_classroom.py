"""Issue 17's broken or confusing details, checked on the pure pieces (no Streamlit run, well under a second):
clickable maps, the figures that misled, run labels and queue words, the compact rate, the SRA gap note and the
presenter stylesheet. The browser walk-through is tests/e2e/test_classroom_browser.py."""
from types import SimpleNamespace

import numpy as np

from cert_core.grid_view import GridView
from ui import image_map, presenter, theme
from ui.bernstein import figures as bern_figures
from ui.boundaries import figures as bf
from ui.ddrs import figures as ddrs_figures
from ui.margin import figures as margin_figures
from ui.paths import figures as paths_figures
from ui.runs.live import compact, model_name, progress_text, run_label

VIEW = GridView((-3.0, 3.0, -3.0, 3.0), 60)


def test_ddrs_maps_are_clickable_and_fixed_map_has_its_own_scale():
    radius0, star = np.full((60, 60), 0.5), np.full((60, 60), 3.0)
    radius0[0, 0] = 1.0
    mp = SimpleNamespace(radius0=radius0, radius_star=star, sigma_star=np.full((60, 60), 0.3),
                         violation=np.zeros((60, 60), bool))
    maps = ddrs_figures.three_maps(VIEW, mp, 0.25, 1.5, (0.1, 0.2))
    for picture in maps.values():      # pictures without Plotly (issue 17: first load), reading out themselves
        assert isinstance(picture, image_map.MapPicture) and picture.image.startswith("data:image/png;base64,")
        rows = np.asarray(picture.readout.values)
        assert rows.shape == (ddrs_figures.READOUT_LATTICE,) * 2 and [p.symbol for p in picture.points] == ["star"]
    assert maps["ddrs_fixed"].scale_top == 1.0 and maps["ddrs_rstar"].scale_top == 3.0
    assert maps["ddrs_fixed"].readout.values[0][0] == 1.0      # the lattice's first point: the exact map's pixel
    bar = maps["ddrs_sigma"].colour_bar
    assert 0 < min(f for f, _ in bar.ticks) and max(f for f, _ in bar.ticks) < 1 - 1e-9   # none at the bar's ends
    assert theme.CLICK_MAP_CONFIG["displayModeBar"] is False


def test_misleading_figures_fixed():
    votes = bf.vote_histogram([5010, 4990], ("a", "b"), 10_000, 0.49, -1, [60, 40])
    assert votes.data[0].text is None and "5,010" in votes.data[0].x[0]       # the count is not on the n/2 line
    mc = bf.monte_carlo_agreement(np.array([0.6, 0.9]), np.array([0.61, 0.9]), np.array([0.01, 0.01]), 0.0, 1000)
    assert mc.layout.xaxis.constrain == "domain" and mc.layout.xaxis.range[1] <= 1.01
    sig = np.geomspace(0.05, 1.5, 12)
    curve = ddrs_figures.curve_figure(sig, sig, sig[:3], sig[:3], sig[:3], 0.25, "c")
    assert list(curve.layout.xaxis.ticktext) == ["0.05", "0.1", "0.2", "0.5", "1", "1.5"]
    s, t = np.meshgrid(np.linspace(0, 1, 4), np.linspace(0, 1, 4))
    surf = paths_figures.surfaces_figure(SimpleNamespace(s=s, t=t, fixed=s, f=t, float=s, scrfp=t), 0.1, "z")
    wire = next(d for d in surf.data if d.name == "f")
    assert {c for _, c in wire.colorscale} == {theme.VERMILLION} and surf.layout.scene.xaxis.nticks == 4
    regions = bern_figures.regions(np.zeros((5, 5), int), 2, "zoom", point=(0.5, 0.5), extent=(0.4, 0.6, 0.4, 0.6),
                                   circles=[(0.001, "sound", theme.BLACK, "solid")])
    names = [d.name for d in regions.data]
    assert names.index("point") < len(names) - 1 and "too small to draw to scale" in names[-1]


def test_run_labels_queue_words_and_compact_rate():
    spec = SimpleNamespace(model={"path": "/home/someone/trained_bundle.pt"}, data={}, data_label="moons test",
                           model_label="/home/someone/trained_bundle.pt", device="auto")
    run = SimpleNamespace(id=3, name="/home/someone/trained_bundle.pt σ=0.25", spec=spec, created=0.0,
                          status="queued", device="")
    assert model_name(spec) == "trained_bundle" and run_label(run).startswith("#3 trained_bundle σ=0.25 · ")
    assert model_name(SimpleNamespace(model={"zoo": "moons-mlp-s0.25"})) == "moons-mlp-s0.25"
    assert "waiting for a free CPU slot" in progress_text(run)
    assert (compact(950), compact(12_345), compact(1_277_000), compact(float("nan"))) == ("950", "12.3 k", "1.28 M", "–")


def test_sra_gap_note_and_presenter_css():
    radii = {"MSCR, Monte Carlo (Eq. 5)": 0.0, "MSCR, closed form (Eq. 7)": 0.015}
    assert "lower confidence bound" in margin_figures.radii_gap_note(radii, 2000, 0.001)
    assert margin_figures.radii_gap_note({**radii, "MSCR, closed form (Eq. 7)": 0.0}, 2000, 0.001) == ""
    css = presenter.css(("resolution",))
    assert '[data-testid="stColumn"]:has(.st-key-resolution)' in css and "clamp(230px, 20vw, 360px)" in css
