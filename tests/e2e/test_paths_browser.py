"""Real browser: the activation-paths page (Figure 2, Figure 6 surfaces, the SC-RFP audit with a counterexample),
and issue 17's items 3 and 7 on it (classroom_kit.py). The page opens in presenter mode on a 1280×720 projector,
where Figure 6's scenes must lie on the first screen with readable ticks (it was test_projector_browser.py's page of
its own), then leaves presenter mode for the audit at 1500×1700. The audit certifies and searches the first 4 test
points, not the page's 8 (half the time; the tour's picture with UPDATE_TOUR=1 keeps 8)."""
import os

from browser_kit import no_exception, open_page, settle, shot, wait_idle
from classroom_kit import BOX, FOLD, ON_SCREEN, WIDTH, chart, on_first_screen, paths_surfaces

def surfaces_on_the_projector(pg) -> None:
    """Item 3 on Activation paths (presenter mode, WIDTH×FOLD, the Path surfaces tab open): Figure 6's scenes
    started below the fold (12% on screen), their tick labels were 11 px (item 7 asked for no overlap; they are now
    ≥ 14 px with at most 5 ticks an axis). 3D tick labels are drawn in WebGL, so their overlap cannot be read here:
    their size is, and the screenshot shows the rest."""
    surf = ".st-key-paths_surf .js-plotly-plot"
    pg.wait_for_function(f"""() => {{ const d = document.querySelector("{surf}");
        return d && d._fullLayout && d.querySelector('.gl-container > div').getBoundingClientRect().height > 0; }}""",
                         timeout=120_000)
    assert pg.evaluate("() => window.scrollY") == 0
    scenes = pg.locator(f"{surf} .gl-container > div").evaluate_all(f"els => els.map({BOX})")
    assert len(scenes) == 3 and all(on_first_screen(s) >= ON_SCREEN for s in scenes), scenes
    ticks = chart(pg, "paths_surf", """d => ['scene', 'scene2', 'scene3'].flatMap(s =>
        ['xaxis', 'yaxis', 'zaxis'].map(a => [d._fullLayout[s][a].tickfont.size, d._fullLayout[s][a].nticks]))""")
    assert all(size >= 14 and 0 < n <= 5 for size, n in ticks), ticks


def test_paths_page_surfaces_audit_and_counterexample(page, server):
    page.set_viewport_size({"width": WIDTH, "height": FOLD})                # a projector, in presenter mode
    open_page(page, server, "paths?model=moons-mlp-s0.25&x=0.3&y=0.5&present=1")
    page.get_by_text("Fixed-neuron ratio per layer (Figure 2)").first.wait_for(timeout=120_000)
    for key in ("paths_ratio", "paths_heat", "paths_constructed"):    # ui.image_map pictures (issue 17)
        page.locator(f".st-key-{key} .imap .imap-plot").wait_for(timeout=120_000)
    assert page.locator(".js-plotly-plot").count() == 0                # no Plotly chart on the first screen
    heat = page.locator(".st-key-paths_heat .imap-plot")
    heat.hover()                                                         # the map's read-out, as Plotly's hover
    assert "float" in page.locator(".st-key-paths_heat .imap-tip").inner_text()
    shot(page, "paths_float")
    page.get_by_role("tab", name="Path surfaces").click()                 # only the open tab runs: a rerun
    page.get_by_text("(b) Z_float = f − Z_fixed").first.wait_for(timeout=120_000)   # computed on the click
    wait_idle(page)
    no_exception(page)
    surfaces_on_the_projector(page)               # issue 17 item 3, on the projector
    shot(page, "projector_paths_surfaces")
    paths_surfaces(page)                          # the classroom check (issue 17's classroom walk)
    page.get_by_role("tab", name="SC-RFP audit").click()                  # only the open tab runs: a rerun
    page.get_by_role("button", name="Run the audit").wait_for(timeout=60_000)
    wait_idle(page)
    page.locator(".st-key-presenter label").click()                       # presenter mode off for the audit
    page.set_viewport_size({"width": 1500, "height": 1700})
    wait_idle(page)
    assert "present=1" not in page.evaluate("location.href")
    eta = page.locator("[data-testid='stSlider']").filter(has_text="Repression η").locator("input[type='range']").first
    eta.focus()
    eta.press("End")                                                     # η = 1
    wait_idle(page)
    if os.environ.get("UPDATE_TOUR") != "1":     # the tour's picture audits the page's 8 points; 4 show a violation
        count = page.locator("[data-testid='stSlider']").filter(has_text="Test points").locator("input[type='range']")
        count.first.focus()
        count.first.press("Home")                                        # 2 points, the least
        wait_idle(page)
        for _ in range(2):
            count.first.press("ArrowRight")                              # 4: test points 1 and 2 flip at η = 1
            wait_idle(page)
    page.get_by_role("button", name="Run the audit").click()
    wait_idle(page)
    page.get_by_text("SC-RFP claims radius").first.wait_for(timeout=240_000)   # η = 1 on moons: a violation
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    no_exception(page)
    settle(page, tour_wait=1.5)
    shot(page, "paths_audit", full=True, tour="scrfp-audit")
