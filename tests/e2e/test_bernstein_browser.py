"""Real browser: the Bernstein page (2D lattice and radii, then the image pipeline)."""
from browser_kit import no_exception, open_page, shot, wait_idle


def test_bernstein_page_draws_lattice_radii_and_the_image_pipeline(page, server):
    page.set_viewport_size({"width": 1500, "height": 1700})
    open_page(page, server, "bernstein?model=moons-mlp-s0.25&x=0.3&y=0.5")
    page.get_by_text("Bernstein-smoothed, n = 10").first.wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    assert page.get_by_text("Bernstein Lipschitz certificate (n=10)").count() + \
        page.locator("[data-testid='stDataFrame']").count() >= 1
    shot(page, "bernstein_2d")
    page.get_by_role("tab", name="Images: the paper's pipeline").click()
    wait_idle(page)
    page.get_by_role("button", name="Certify the subset").click()
    wait_idle(page)
    page.get_by_text("L_G (guaranteed)").first.wait_for(timeout=120_000)
    no_exception(page)
    shot(page, "bernstein_images")
