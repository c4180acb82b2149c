"""Issue 17's items 6, 7 and 10 as a class sees them, checked in the browser tests that already open each page
(they were one walk over six pages; each page's checks now run where that page is open anyway): the run charts'
fonts and x range, the figures that misled on the pages beyond Decision boundaries, and the SRA note on the two
MSCRs. Item 10's stale "Loaded <file>" check runs in test_browser.py::test_bad_uploads_give_clear_errors.

Each check reads what the browser drew: DOM text, and a chart's figure as Plotly.js holds it (``.js-plotly-plot``'s
``data``, ``layout`` and the ``_fullLayout`` it computed), never pixels. Each takes the page as its test left it
(the URL and tab are named in its docstring).
"""
import re

from browser_kit import no_exception, shot, wait_idle
from runs_kit import EXAMPLES_B
from ui import theme

DARK_RGB = "rgb({}, {}, {})".format(*theme.hex_rgb(theme.DARK))
WIDTH, FOLD = 1280, 720          # a common projector (issue 17, items 3 and 7: presenter mode on it)
BOX = ("e => { const b = e.getBoundingClientRect(); "
       "return {top: b.top, bottom: b.bottom, left: b.left, right: b.right}; }")
ON_SCREEN = 2 / 3                # share of a main figure's plot area that must lie above the fold (issue 17 item 3)


def on_first_screen(box: dict) -> float:
    """The share of ``box`` (a client rectangle, ``BOX``: top, bottom) above the fold, on a page not scrolled.
    "On the first screen" means at least ``ON_SCREEN`` of a figure's plot area, not only its top edge: with the top
    edge alone a figure whose plot starts 26 px above the fold would pass."""
    return max(0.0, min(box["bottom"], FOLD) - max(box["top"], 0)) / (box["bottom"] - box["top"])


def chart(pg, key: str, script: str):
    """Evaluate ``script`` (a JS function of the chart's ``.js-plotly-plot`` element) on the chart of widget ``key``,
    once Plotly has drawn it."""
    plot = f".st-key-{key} .js-plotly-plot"
    pg.wait_for_function(f"() => {{ const d = document.querySelector('{plot}'); return d && d._fullLayout; }}",
                         timeout=120_000)
    return pg.locator(plot).first.evaluate(script)


def picture(pg, key: str, script: str):
    """Evaluate ``script`` (a JS function of the ``.imap`` element) on the ``ui.image_map`` picture of widget
    ``key``, once it is drawn."""
    pg.wait_for_selector(f".st-key-{key} .imap .imap-plot", timeout=120_000)
    return pg.locator(f".st-key-{key} .imap").first.evaluate(script)


def axes_look(pg, key: str) -> dict:
    """Font sizes and colours of the chart's x and y axes as drawn, its x range and the curves' points."""
    return chart(pg, key, """d => { const L = d._fullLayout, look = a => ({size: a.tickfont.size,
        color: a.tickfont.color, title: a.title.font.size, titleColor: a.title.font.color});
        return {x: look(L.xaxis), y: look(L.yaxis), range: L.xaxis.range.map(Number),
                curves: d._fullData.filter(t => t.mode === 'lines').map(t => [Array.from(t.x), Array.from(t.y)])}; }""")


def readable(look: dict) -> None:
    """Axis text large and dark enough for a projector (the bug: Streamlit's theme drew 12 px grey)."""
    for axis in ("x", "y"):
        a = look[axis]
        assert a["size"] >= 14 and a["title"] >= 14, look
        assert a["color"] in (theme.DARK, DARK_RGB) and a["titleColor"] in (theme.DARK, DARK_RGB), look


def crowded(boxes: list[dict], gap: float = 3.0) -> list[tuple[int, int]]:
    """Pairs of text boxes (the browser's client rects) closer than ``gap`` px in both directions: text that
    touches or overlaps."""
    def near(a, b):
        return a["x"] < b["x"] + b["width"] + gap and b["x"] < a["x"] + a["width"] + gap and \
            a["y"] < b["y"] + b["height"] + gap and b["y"] < a["y"] + a["height"] + gap
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if near(boxes[i], boxes[j])]


def ddrs_maps_and_curve(pg) -> None:
    """Item 7 on Per-input σ (ddrs?model=moons-mlp-s0.25&sigma=0.25&x=1.5&y=1.5): the fixed-σ₀ map has its own
    scale (the pictures of ui/image_map.py), the σ* bar's title and tick labels keep apart, the R(σ) log axis reads 0.05 … 1.5 in order (it printed
    minor ticks "5 6 7 8 9 0.1 2 3")."""
    top = {key: picture(pg, key, "e => [Number(e.dataset.scaleTop), Number(e.dataset.valueMax)]")
           for key in ("ddrs_fixed", "ddrs_rstar")}
    (fixed_top, fixed_max), (rstar_top, _) = top["ddrs_fixed"], top["ddrs_rstar"]
    assert abs(fixed_top - fixed_max) <= 0.01 * fixed_max and fixed_top < 0.8 * rstar_top, top
    bar = picture(pg, "ddrs_sigma", """e => [...e.querySelectorAll('.imap-bar-label, .imap-bar-tick')]
        .map(e => { const b = e.getBoundingClientRect();
                    return {text: e.textContent, x: b.x, y: b.y, width: b.width, height: b.height}; })""")
    assert len(bar) >= 4 and "σ*" in [b["text"] for b in bar] and not crowded(bar), bar
    labels = chart(pg, "ddrs_curve", "d => [...d.querySelectorAll('.xaxislayer-above .xtick text')]"
                                     ".map(t => t.textContent)")
    values = [float(t) for t in labels]
    assert len(values) >= 3 and values == sorted(set(values)), labels
    assert set(labels) <= {"0.02", "0.05", "0.1", "0.2", "0.5", "1", "1.5", "2"}, labels


def bernstein_circle_above_point(pg) -> None:
    """Item 7 on Bernstein (bernstein?model=moons-mlp-s0.25&x=0.3&y=0.5): the sound circle is drawn after (above)
    the point's marker, not hidden under it."""
    pg.get_by_text("Zoom ×").first.wait_for(timeout=60_000)
    names = chart(pg, "bern_zoom_map", "d => d.data.map(t => t.name)")
    sound = [i for i, n in enumerate(names) if n and "Lipschitz" in n]
    assert "point" in names and sound and names.index("point") < min(sound), names


def paths_surfaces(pg) -> None:
    """Item 7 on Activation paths (paths?model=moons-mlp-s0.25&x=0.3&y=0.5, the Path surfaces tab open): each
    wireframe's legend swatch has its lines' colour; few 3D ticks."""
    wires = chart(pg, "paths_surf", """d => d.data.filter(t => t.hidesurface).map(t =>
        [t.name, t.contours.x.color, [...new Set(t.colorscale.map(c => c[1]))]])""")
    assert len(wires) == 2 and all(scale == [line] for _, line, scale in wires), wires
    ticks = chart(pg, "paths_surf", """d => ['scene', 'scene2', 'scene3'].flatMap(s =>
        ['xaxis', 'yaxis', 'zaxis'].map(a => d._fullLayout[s][a].nticks))""")
    assert all(0 < n <= 5 for n in ticks), ticks


def sra_gap_note(pg) -> None:
    """Item 10 on SRA (margin?model=moons-ortho-mscr-s0.2&sigma=0.25, the default loss): a Monte Carlo MSCR below
    the closed form's comes with the reason beside it."""
    pg.get_by_text("MSCR, closed form (Eq. 7)").first.wait_for(timeout=60_000)
    values = {}
    for name in ("MSCR, Monte Carlo (Eq. 5)", "MSCR, closed form (Eq. 7)"):
        metric = pg.locator("[data-testid='stMetric']").filter(has_text=name).first
        values[name] = float(metric.locator("[data-testid='stMetricValue']").inner_text())
    assert values["MSCR, Monte Carlo (Eq. 5)"] < values["MSCR, closed form (Eq. 7)"], values
    assert pg.get_by_text("Why the two MSCRs differ here").count() == 1


def run_charts(pg) -> None:
    """Item 6 on Certification runs (runs, a store made by runs_kit.make_store in this test, its run list open):
    the live and compare charts use the figure's own large dark axis fonts, and the live chart's x range ends just
    past the largest certified radius (it ran to 4σ, mostly empty). The newest "moons σ=0.5" run is runs_kit's
    finished run at σ = 0.5 (radii up to 1.4, so 4σ = 2): no worker to wait for."""
    largest = max(radius for *_, radius, _ in EXAMPLES_B)
    pg.get_by_role("option", name=re.compile("moons σ=0.5")).first.click()           # the newest
    wait_idle(pg)
    live = axes_look(pg, "live_curve")
    readable(live)
    assert live["range"][0] == 0 and largest < live["range"][1] <= 1.2 * largest < 4 * 0.5, live["range"]
    shot(pg, "classroom_runs_live")
    pg.get_by_role("tab", name=re.compile("Compare")).click()
    readable(axes_look(pg, "cmp_fig"))
    no_exception(pg)


def draw_canvas_axes_inside_the_viewport(pg) -> None:
    """Item 3 on Draw (a draw page in presenter mode, ``present=1``, at WIDTH×FOLD): the canvas's x axis (tick
    labels and title) was cut off at the bottom of the first screen."""
    pg.get_by_role("button", name="Load").wait_for(timeout=120_000)        # the toolbar is drawn: nothing shifts
    canvas = "[class*='st-key-draw_canvas'] .js-plotly-plot"
    pg.wait_for_function(f"() => {{ const d = document.querySelector(\"{canvas}\"); return d && d._fullLayout; }}",
                         timeout=60_000)
    axis = pg.locator(canvas).first.evaluate(
        f"d => [...d.querySelectorAll('.xaxislayer-above .xtick text, .yaxislayer-above .ytick text, "
        f".g-xtitle text, .g-ytitle text')].map({BOX})")
    assert len(axis) >= 16, axis                      # 7 ticks an axis and the two titles
    assert all(0 <= b["top"] and b["bottom"] <= FOLD and 0 <= b["left"] and b["right"] <= WIDTH for b in axis), axis
