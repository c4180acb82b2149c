"""Real browser: the per-input σ page (maps, the R(σ) curve at a point, memory regions, the counterexample)."""
from browser_kit import open_page, shot, wait_idle


def test_page_renders_maps_point_memory_and_counterexample(page, server):
    open_page(page, server, "ddrs?model=moons-mlp-s0.25&sigma=0.25&x=1.5&y=1.5")
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_text("σ*(x): the radius-maximising σ").first.wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 5      # 3 maps, the R(σ) curve, memory, counterexample
    assert page.get_by_text("Radius as a function of σ at the point").count() >= 1
    assert page.get_by_text("Memory-based certification of the test set").count() == 1
    shot(page, "ddrs_page")
    page.get_by_text("Radius as a function of σ at the point").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shot(page, "ddrs_point")
    page.get_by_text("reversed", exact=True).click()                # the query order control
    wait_idle(page)
    page.get_by_text("Memory regions of the test set").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shot(page, "ddrs_memory")
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("per-input σ* + memory (reversed)").count() >= 1 or \
        "reversed" in page.locator("[data-testid='stDataFrame']").first.inner_text()
    page.get_by_text("Is it a certificate?").scroll_into_view_if_needed()
    shot(page, "ddrs_counterexample")
