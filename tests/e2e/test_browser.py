"""Real browser: the app shell, the Models page and the Decision boundaries page.

The server and chromium come from conftest.py. Screenshots go to tests/artifacts/ (gitignored);
look at them before calling a page done.
"""
from __future__ import annotations

import re
import time

from browser_kit import BOUNDARIES_SHOWN, CLOUD_TITLE, DEEP_LINK, IMAP, ROOT, Runs, no_exception, open_page, settle, shot, wait_idle
from classroom_kit import BOX
from cert_core.models.bundles import load_model, save_bundle
from ui import navigation

QUIET_POLLS_S = 1.2   # two periods of the inspector table's poll (ui/boundaries/answer.POLL_S = 0.5 s) and a margin
COUNT_RUNS = """() => { window.__runsStarted = 0; const app = document.querySelector("[data-testid='stApp']");
    new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') window.__runsStarted++; })
        .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""


def test_every_page_opens_without_the_network(page, server):
    outside: list[str] = []          # the app must work offline: no font, icon or favicon from elsewhere
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:", "blob:")) else None)
    for path, name in (("", "welcome"), ("models", "models"), ("boundaries", "boundaries")):
        open_page(page, server, path)
        shot(page, f"page_{name}", tour="decision-boundaries" if name == "boundaries" else None)
    assert page.get_by_text("Base classifier f").count() >= 1
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert nav.index("Welcome") < nav.index("Models") < nav.index("Per-input σ") < nav.index("Certification runs")
    assert "old link" not in nav
    assert not outside, outside


def test_old_per_input_sigma_link_lands_on_ddrs(page, server):
    # the link's query travels with it; at the default σ and without a point, so the maps are those the other
    # Per-input σ tests compute (sigma=0.3 here made the server compute them for a σ no other test opens)
    open_page(page, server, "per-input-sigma?present=1")
    wait_idle(page)
    assert re.search(r"/ddrs\?", page.url) and "present=1" in page.url, page.url


def test_deep_links_are_routed_on_a_fresh_server(served):
    # the link is the very first request of its server: app.py must run (sidebar, URL state) and route to the
    # page; a legacy pages/ folder would make Streamlit run the page file alone (ui/navigation.py). The shared
    # server makes that request before any test runs when this test is collected (conftest.py, browser_kit.
    # first_visit: a server of its own cost ~20 s on 2 cores); links with a point are also checked by the
    # presenter test.
    _, first = served
    assert first is not None and first["failure"] is None and not first["errors"], first
    assert first["path"] == DEEP_LINK == "ddrs?x=0.3&y=0.6", first
    assert first["dialogs"] == 0, first                                          # no "Page not found"
    assert first["title"] == navigation.DDRS.title, first
    assert first["model"] == "moons-mlp-s0.25", first                             # the shared sidebar ran
    assert "&x=0.300&y=0.600" in first["href"], first                             # and app.py's URL state


def _presenter_looks(page) -> tuple[str, bool, bool]:
    """(root font size, is the resolution widget visible, is the toolbar visible)."""
    font = page.evaluate("getComputedStyle(document.documentElement).fontSize")
    return (font, page.locator(".st-key-resolution").first.is_visible(),
            page.locator("[data-testid='stToolbar']").first.is_visible())


def test_presenter_mode_boundaries(page, server):
    open_page(page, server, "boundaries")                                 # no point: no inspector to wait for
    font, controls, toolbar = _presenter_looks(page)                   # an ordinary link: the normal page
    assert controls and toolbar and font != "21px"
    page.set_viewport_size({"width": 1280, "height": 720})              # a projector
    open_page(page, server, "boundaries?model=moons-mlp-s0.25&sigma=0.25&x=0&y=0&present=1")   # p_A = 0.50 here
    no_exception(page)
    # larger text, tuning controls hidden (their values kept), no toolbar; the toggle shows it is on
    assert _presenter_looks(page) == ("21px", False, False)
    assert page.get_by_role("switch", name="Presenter mode").is_checked()
    assert "present=1" in page.url
    # a narrow sidebar, the maps start on the first screen, and a hidden control leaves no empty column
    assert page.locator("[data-testid='stSidebar']").bounding_box()["width"] <= 0.22 * 1280
    plots = page.locator(".st-key-map_a_2 .imap-plot, .st-key-map_b_2 .imap-plot").all()
    assert len(plots) == 2                                                # both maps' plot areas
    for plot in plots:
        box = plot.bounding_box()                                        # whole on the first screen
        assert box["y"] > 0 and box["y"] + box["height"] <= 720
    # the sidebar starts with the model and σ, on the first screen; the page list follows them (Streamlit's own list
    # on top pushed σ below the fold at 1280×720)
    sigma = page.locator("[data-testid='stSidebar'] [data-testid='stSlider']").first.bounding_box()
    assert 0 < sigma["y"] and sigma["y"] + sigma["height"] <= 720
    assert page.locator("[data-testid='stSidebarNav']").count() == 0
    links = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink-NavLink']")
    assert links.count() == sum(p.visibility == "visible" for p in navigation.PAGES)
    hidden_column = ".st-key-resolution >> xpath=ancestor::div[@data-testid='stColumn'][1]"
    assert page.locator(hidden_column).evaluate("e => getComputedStyle(e).display") == "none"
    shot(page, "presenter_boundaries")
    page.get_by_text("Inspect a point", exact=True).evaluate("e => e.scrollIntoView({block: 'start'})")
    settle(page)
    shot(page, "presenter_inspector")
    # issue 17 item 7 on the projector, at a point on the smoothed boundary (x = y = 0 for moons-mlp-s0.25 at
    # σ = 0.25: the exact p_A is 0.50, so both bars end near n/2): no vote
    # count touches the n/2 line (a count above its bar sat on it); the Monte Carlo check's p_A axes stop at 1
    # (the equal scale stretched one to 1.2). It was test_projector_browser.py's page of its own.
    votes = page.locator(".js-plotly-plot").filter(has_text="Votes of f").first
    votes.wait_for(timeout=120_000)
    drawn = votes.evaluate(f"""d => {{
        const counts = Array.from(d._fullData[0].y).map(c => c.toLocaleString('en-US'));
        const texts = [...d.querySelectorAll('text')].filter(t => counts.some(c => t.textContent.includes(c)));
        return {{n: d.layout.shapes[0].y0 * 2, counts, line: ({BOX})(d.querySelector('.shapelayer path')),
                 boxes: texts.map({BOX})}}; }}""")
    n, counts = drawn["n"], [int(c.replace(",", "")) for c in drawn["counts"]]
    assert min(abs(c - n / 2) for c in counts) < 0.05 * n, drawn      # the point is on the boundary, as meant
    line_y = (drawn["line"]["top"] + drawn["line"]["bottom"]) / 2
    assert len(drawn["boxes"]) >= len(counts), drawn
    assert all(not (b["top"] - 3 <= line_y <= b["bottom"] + 3) for b in drawn["boxes"]), drawn
    page.get_by_role("tab", name="Check against Monte Carlo").click()
    page.get_by_role("button", name="Run the check").click()
    check = page.locator(".js-plotly-plot").filter(has_text="Monte Carlo vs exact").first
    check.wait_for(timeout=120_000)
    ranges = check.evaluate("d => [d._fullLayout.xaxis.range, d._fullLayout.yaxis.range].map(r => r.map(Number))")
    assert all(top <= 1.011 for _, top in ranges), ranges
    no_exception(page)


# what the smoothed map shows: (its data-scrub-sigma marker, its title), and the page's σ metric (ui/sigma_scrub.py)
SCRUB_SHOWN = """() => { const map = document.querySelector('.st-key-map_b_2'), picture = (%s)('.st-key-map_b_2');
    const metric = [...document.querySelectorAll("[data-testid='stMetric']")].find(m => m.innerText.startsWith('σ'));
    return [map.dataset.scrubSigma ?? null, picture.querySelector('.imap-title').textContent,
            metric.querySelector("[data-testid='stMetricValue']").innerText.trim()]; }""" % IMAP


def test_drag_sigma_then_click_a_point(page, server):
    """Drag σ (the map scrubs), click a point (one fragment run answers and puts the point on the maps; the slow rows
    arrive and the poll stops), step σ with the keyboard (the σ view's fragment alone reruns: issue 17), type x₁."""
    runs = Runs(page)                                  # before the page opens its websocket
    open_page(page, server, "boundaries")
    slider = page.locator("[data-testid='stSidebar'] [data-testid='stSlider']").first
    assert slider.bounding_box()["y"] < 1000 - 80                         # σ is above the fold, not scrolled to
    value = slider.locator("[data-testid='stSliderThumbValue']").first.bounding_box()
    x0, y0 = value["x"] + value["width"] / 2, value["y"] + value["height"] + 12   # the thumb, under its label
    live = slider.locator("input[type='range']").first
    # the picture draws its title and the scrubber marks the map after the script is idle (on a busy machine, later)
    page.wait_for_function("() => { const m = document.querySelector('.st-key-map_b_2');"
                           f"  return m && m.dataset.scrubSigma && ({IMAP})('.st-key-map_b_2')?.querySelector('.imap-title'); }}",
                           timeout=30_000)
    assert page.evaluate(SCRUB_SHOWN) == ["0.25", "Smoothed g, σ = 0.25", "0.25"]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for dx in range(1, 16):                    # one slider step: a first run on a cold server sends σ ± 1 step's
        page.mouse.move(x0 + dx, y0)           # frames (the look-ahead's wider window reaches a tab on later runs)
        if float(live.input_value()) >= 0.26:
            break
    held = f"{float(live.input_value()):g}"
    assert held != "0.25"
    # held, not released: the map already shows that σ's exact frame, while the page's numbers still say 0.25
    page.wait_for_function(f"document.querySelector('.st-key-map_b_2').dataset.scrubSigma === '{held}'",
                           timeout=5_000)
    assert page.evaluate(SCRUB_SHOWN) == [held, f"Smoothed g, σ = {held}", "0.25"]
    page.mouse.up()
    wait_idle(page)
    sigma = float(re.search(r"sigma=([0-9.]+)", page.url).group(1))
    assert f"{sigma:g}" == held
    assert page.evaluate(SCRUB_SHOWN) == [held, f"Smoothed g, σ = {held}", held]     # the rerun agrees
    assert page.get_by_text(f"Smoothed g, σ = {sigma:g}").count() == 1
    # click on the smoothed map, a little up-left of its centre
    runs.clear()
    b = page.locator(".st-key-map_b_2 .imap-plot").bounding_box()
    page.mouse.click(b["x"] + 0.42 * b["width"], b["y"] + 0.40 * b["height"])
    # one run (the inspector's fragment) answers, puts the point on both maps and into the address bar; the slow
    # rows follow in the table's polls, which are no whole-page run either
    page.wait_for_function("() => /[?&]x=/.test(location.search)", timeout=60_000)    # the run's last step
    page.wait_for_function("() => !!document.querySelector('.st-key-inspected_point')", timeout=60_000)
    runs.wait(lambda: runs.fragment_runs())
    wait_idle(page)
    no_exception(page)
    x, y = (float(v) for v in re.search(r"[?&]x=(-?[0-9.]+)&y=(-?[0-9.]+)", page.url).groups())
    assert page.get_by_text(f"Inspecting the point ({x:.3f}, {y:.3f}).").count() == 1
    page.wait_for_function(f"() => !!{CLOUD_TITLE}", timeout=60_000)      # the cloud is drawn
    clicked = page.evaluate(BOUNDARIES_SHOWN)
    assert clicked["points"] == [[[x, y]], [[x, y]]] and clicked["cloud"].endswith(f"σ = {sigma:g}"), clicked
    done = runs.fragment_runs()
    assert len(done) == 1 and not runs.whole_app() and runs.sidebar_deltas == 0, runs.finished   # one run
    click_run = done[0]
    # a loaded server may start the click's run after wait_idle's quiet window: wait for the answer itself
    page.get_by_text("Every certificate lies inside").wait_for(timeout=180_000)
    assert page.get_by_text("Every certificate lies inside").count() == 1
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    # the slow rows arrive on their own, then the table's poll stops itself: no run starts in the next two poll
    # periods (issue 17: neither endless polling nor a whole-page rerun for rows that only the table draws)
    page.get_by_text("Per-input σ* (no memory)").first.wait_for(state="attached", timeout=180_000)
    wait_idle(page)
    page.evaluate(COUNT_RUNS)
    time.sleep(QUIET_POLLS_S)
    assert page.evaluate("window.__runsStarted") == 0
    assert page.get_by_text("Still computing the slower methods").count() == 0
    page.set_viewport_size({"width": 1600, "height": 1250})
    page.get_by_text("Inspect a point", exact=True).evaluate("e => e.scrollIntoView({block: 'start'})")
    settle(page, tour_wait=1.0)
    shot(page, "boundaries_inspector", tour="point-inspector")
    page.set_viewport_size({"width": 1600, "height": 1000})
    # a σ step reruns the σ view's fragment alone (no whole-app run, nothing sent to the sidebar), which redraws
    # the smoothed map, the metrics and the inspector's cloud and votes at the new σ, and the address bar's σ
    before, step = page.evaluate(BOUNDARIES_SHOWN), f"{sigma + 0.01:g}"
    runs.clear()
    live.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => ({CLOUD_TITLE})?.endsWith('{step}')"
                           f" && /[?&]sigma={step}&/.test(location.search)", timeout=60_000)
    runs.wait(lambda: runs.fragment_runs())
    shown = page.evaluate(BOUNDARIES_SHOWN)
    assert (shown["title"], shown["sigma"]) == (f"Smoothed g, σ = {step}", step), shown
    assert shown["votes"] != before["votes"] and shown["points"] == before["points"], (before, shown)
    assert re.search(rf"[?&]sigma={step}&x=", page.url), page.url
    assert click_run not in runs.fragment_runs() and not runs.whole_app() and runs.sidebar_deltas == 0, (
        runs.finished, runs.sidebar_deltas)
    wait_idle(page)
    # a typed coordinate reruns the inspector's fragment (issue 17), which answers for the typed point, then puts the
    # point on the maps and into the address bar in the same run
    box = page.locator(".st-key-px input")
    box.fill("-0.123")
    box.press("Enter")
    page.get_by_text("Inspecting the point (-0.123,").wait_for(timeout=60_000)
    wait_idle(page)
    assert "x=-0.123" in page.url and box.input_value() == "-0.123"
    no_exception(page)

def test_overlay_and_test_certificates(page, server):
    open_page(page, server, "boundaries?sigma=0.5&x=0.3&y=0.6")
    page.get_by_text("overlay", exact=True).click()
    wait_idle(page)
    page.get_by_text("test certificates", exact=True).click()
    wait_idle(page)
    no_exception(page)
    assert page.get_by_text("Certified at r = 0.25").count() == 1
    shot(page, "boundaries_overlay_certificates")


def test_bad_uploads_give_clear_errors(page, server, tmp_path):
    zoo = load_model(ROOT / "assets" / "models" / "moons-mlp-s0.pt")
    bundle = tmp_path / "trained_bundle.pt"          # no dataset: the Models page then has nothing to evaluate
    save_bundle(zoo.model, zoo.config, {k: v for k, v in zoo.metadata.items() if k != "dataset"}, bundle)
    open_page(page, server, "models")
    page.get_by_role("tab", name=re.compile("Upload")).click()
    bad_csv = tmp_path / "three.csv"
    bad_csv.write_text("a,b,c\nfoo,bar,baz\n1,2,x\n")
    not_torch = tmp_path / "model.pt"
    not_torch.write_text("this is not a torch file\n")
    uploads = page.locator("[data-testid='stFileUploader'] input[type='file']")
    uploads.nth(0).set_input_files(str(bundle))
    page.get_by_text("Loaded trained_bundle.pt").wait_for(timeout=60_000)
    uploads.nth(1).set_input_files(str(bad_csv))
    page.get_by_text("three.csv cannot be used").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.get_by_text("three.csv cannot be used").count() == 1
    # issue 17 item 10: the "Loaded <file>" confirmation is gone once a later upload fails (no stale success)
    assert page.get_by_text("Loaded trained_bundle.pt").count() == 0
    uploads.nth(0).set_input_files(str(not_torch))
    wait_idle(page)
    assert page.get_by_text("model.pt is not a model this app can load").count() == 1
    no_exception(page)
    shot(page, "models_bad_uploads")
    # a good CSV far outside the view: the message gives the original range and the scale factor,
    # and the Train tab offers it at once
    good = tmp_path / "wide.csv"
    good.write_text("x1,x2,label\n" + "".join(f"{x},{x % 7 - 3},{int(x > 0)}\n" for x in range(-50, 51, 4)))
    uploads.nth(1).set_input_files(str(good))
    wait_idle(page)
    assert page.get_by_text(re.compile(r"x₁ ∈ \[-50, 50\].*scaled by ×0\.04")).count() == 1
    shot(page, "models_csv_upload")
    page.get_by_role("tab", name=re.compile("Train")).click()
    settle(page)
    shot(page, "models_train_after_csv")
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Dataset").first
    assert "uploaded CSV" in box.inner_html(), box.inner_html()
    # the app keeps working
    page.get_by_role("link", name="Decision boundaries").click()
    wait_idle(page)
    assert page.get_by_text("Base classifier f").count() >= 1


def test_image_model_link_explains_itself(page, server):
    open_page(page, server, "boundaries?model=digits-cnn-s0")
    assert page.get_by_text("not 2D points").count() == 1
    # the calm message every page uses (state.needs_2d): an info, not an error
    assert page.locator("[data-testid='stAlertContentInfo']").get_by_text("needs a 2D model").count() == 1
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    shot(page, "boundaries_image_model")
