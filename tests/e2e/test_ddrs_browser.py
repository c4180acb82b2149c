"""Real browser: the per-input σ page (maps, the R(σ) curve at a point, memory regions, the counterexample), and
issue 17's item 7 on it (classroom_kit.py)."""
from browser_kit import charts, open_page, settle, shot, wait_idle
from classroom_kit import ddrs_maps_and_curve


def test_page_renders_maps_point_memory_and_counterexample(page, server):
    open_page(page, server, "ddrs?model=moons-mlp-s0.25&sigma=0.25&x=1.5&y=1.5")
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_text("σ*(x): the radius-maximising σ").first.wait_for(timeout=60_000)
    assert charts(page, 1) == 1      # the R(σ) curve; the 3 maps are pictures; memory, counterexample: once opened
    assert page.locator(".imap .imap-plot").count() == 3
    assert page.get_by_text("Radius as a function of σ at the point").count() >= 1
    assert page.get_by_text("Memory-based certification of the test set").count() == 1
    assert page.get_by_text("OptimizeSigma with preset").count() >= 1         # which variant of the paper runs
    assert page.get_by_text("the paper's memory rule").count() >= 1
    shot(page, "ddrs_page", tour="per-input-sigma")
    # QA: the three maps must share size and layout (plot area and the square axes' pixel lengths)
    sizes = page.locator(".imap").evaluate_all("""els => els.slice(0, 3).map(e => {   // (in a shadow root)
        const s = e.querySelector('svg').getBoundingClientRect(), p = e.querySelector('.imap-plot').getBoundingClientRect();
        return [s.width, s.height, p.left - s.left, p.top - s.top, p.width, p.height].map(Math.round); })""")
    assert len(sizes) == 3 and sizes[0] == sizes[1] == sizes[2], sizes
    assert abs(sizes[0][4] - sizes[0][5]) <= 1 and sizes[0][4] >= 250, sizes      # square and large
    ddrs_maps_and_curve(page)                       # the classroom checks (issue 17's classroom walk)
    page.get_by_text("Radius as a function of σ at the point").first.scroll_into_view_if_needed()
    settle(page)
    shot(page, "ddrs_point")
    page.get_by_text("Memory-based certification of the test set (Table 1)").click()   # computed once opened
    wait_idle(page)
    assert charts(page, 2) == 2
    page.get_by_text("reversed", exact=True).click()                # the query order control
    wait_idle(page)
    page.get_by_text("Memory regions of the test set").first.scroll_into_view_if_needed()
    settle(page)
    shot(page, "ddrs_memory")
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("per-input σ* + memory (reversed)").count() >= 1 or \
        "reversed" in page.locator("[data-testid='stDataFrame']").first.inner_text()
    table = page.locator("[data-testid='stDataFrame']").filter(has_text="ACR").first
    table.scroll_into_view_if_needed()
    settle(page)
    box = table.bounding_box()
    assert table.evaluate("e => { const s = e.querySelector('.dvn-scroller'); "
                          "return !s || s.scrollWidth <= s.clientWidth + 1; }"), "the ACR table scrolls sideways"
    shot(page, "ddrs_table")
    page.get_by_text("Is it a certificate? The stripe counterexample").click()
    wait_idle(page)
    assert charts(page, 3) == 3
    page.get_by_text("Is it a certificate?").scroll_into_view_if_needed()
    page.mouse.wheel(0, 2000)                                       # to the end: the figure and its legend
    settle(page)
    shot(page, "ddrs_counterexample")
    assert box["width"] > 900, box
