"""Real browser: the Bernstein page (2D lattice and radii, then the image pipeline on its fewest test images), and
issue 17's item 7 on it (classroom_kit.py)."""
from browser_kit import charts, no_exception, open_page, shot, wait_idle
from classroom_kit import bernstein_circle_above_point


def test_bernstein_page_draws_lattice_radii_and_the_image_pipeline(page, server):
    page.set_viewport_size({"width": 1500, "height": 1700})
    open_page(page, server, "bernstein?model=moons-mlp-s0.25&x=0.3&y=0.5")
    page.get_by_text("Bernstein-smoothed, n = 10").first.wait_for(timeout=60_000)
    assert charts(page, 2) >= 2
    assert page.get_by_text("Bernstein Lipschitz certificate (n=10)").count() + \
        page.locator("[data-testid='stDataFrame']").count() >= 1
    shot(page, "bernstein_2d", tour="bernstein")
    # QA: base, smoothed and zoom panels share size and layout; the zoom panel frames the radius circles
    sizes = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].slice(0, 3).map(d => {
        const L = d._fullLayout; return [L.width, L.height, L._size.l, L._size.t, L._size.w, L._size.h,
                                         L.xaxis._length, L.yaxis._length].map(Math.round); })""")
    assert len(sizes) == 3 and sizes[0] == sizes[1] == sizes[2], sizes
    assert page.get_by_text("Zoom ×").count() >= 1
    bernstein_circle_above_point(page)            # the classroom check (issue 17's classroom walk)
    page.get_by_role("tab", name="Images: the paper's pipeline").click()    # a tab: no script run to wait for
    size = page.locator("[data-testid='stSlider']").filter(has_text="Test examples").locator("input[type='range']")
    size.first.focus()
    size.first.press("Home")                # 10 test images, the least (the page's 30 cost 3× the LM root-finding)
    wait_idle(page)
    page.get_by_role("button", name="Certify the subset").click()
    wait_idle(page)
    page.get_by_text("L_G (guaranteed)").first.wait_for(timeout=120_000)
    no_exception(page)
    shot(page, "bernstein_images")
