"""Draw your data in a real browser: click a three-class dataset onto the canvas, train, see f and g, then open
the link in a fresh page and see the same view (the model retrained from the link: the same region pictures).
The fresh page opens the link in presenter mode on a 1280×720 projector, where it also makes issue 17's item 3
check on Draw (classroom_kit.draw_canvas_axes_inside_the_viewport; it opened a page of its own before)."""
import re

import numpy as np
from browser_kit import open_page, shot, wait_idle
from classroom_kit import FOLD, WIDTH, draw_canvas_axes_inside_the_viewport

from cert_core.models import drawn
from ui import navigation

PAD = 3.05                                                   # the canvas's axis range is [-PAD, PAD]²
POINTS = {0: [(-2.0, 1.5), (-1.5, 2.0)], 1: [(1.8, 1.6), (2.2, 2.0)], 2: [(0.0, -2.0), (0.5, -1.6)]}
COUNTS = "6 / 400 points · class 0: 2 · class 1: 2 · class 2: 2"


def _click(page, x: float, y: float) -> None:
    """Click the canvas at view coordinates (x, y); its plot area spans [-PAD, PAD]² exactly."""
    box = page.locator("[class*='st-key-draw_canvas_'] .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + (x + PAD) / (2 * PAD) * box["width"],
                     box["y"] + (PAD - y) / (2 * PAD) * box["height"])
    wait_idle(page)


def _map_pictures(page) -> tuple[str, str]:
    """The PNG data URIs of the f and g maps (identical pictures = identical predictions on the grid)."""
    return tuple(page.locator(f".st-key-{key} image").first.get_attribute("href") for key in ("draw_map_f", "draw_map_g"))


def test_draw_three_classes_train_and_share_the_link(page, server, browser):
    open_page(page, server, navigation.DRAW.url_path)
    for label, points in POINTS.items():
        if label:                                   # class 0 is chosen when the page opens (a click would unselect it)
            page.get_by_text(f"● {label}", exact=True).click()
            wait_idle(page)
        for x, y in points:
            _click(page, x, y)
    assert page.get_by_text(COUNTS).count() == 1
    page.get_by_test_id("stFormSubmitButton").click()
    wait_idle(page)
    assert page.get_by_text("It is now the current model on every page").count() == 1
    pictures = _map_pictures(page)
    assert all(p and p.startswith("data:image/png") for p in pictures)
    shot(page, "draw_trained")
    link = page.url
    drawing = drawn.decode_points(re.search(r"[?&]draw=([^&]+)", link).group(1))    # what the link carries
    np.testing.assert_allclose(drawing.points, sum(POINTS.values(), []), atol=0.11)  # a click snaps to 0.1
    assert drawing.labels.tolist() == [0, 0, 1, 1, 2, 2]

    fresh = browser.new_context(viewport={"width": WIDTH, "height": FOLD})         # a projector
    try:
        other = fresh.new_page()
        open_page(other, server, link[len(server) + 1:] + "&present=1")       # the link, in presenter mode
        assert other.get_by_text(COUNTS).count() == 1                   # the same points on the canvas
        assert _map_pictures(other) == pictures                         # the same model: the same maps
        assert other.url == link + "&present=1"
        draw_canvas_axes_inside_the_viewport(other)                     # the classroom check (issue 17, item 3)
        shot(other, "draw_from_link")
    finally:
        fresh.close()
