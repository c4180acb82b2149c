"""Real browser, the classroom walk-through of issue 17 in one session (the shared server and chromium of
conftest.py): a click on a Per-input σ map selects the point, no Plotly toolbar covers a clicked map's title,
the lesson card's buttons read in full, and its Back keeps the slider's σ in the address bar.

Presenter mode at 1280×720 and the calm "needs a 2D model" message are checked in test_browser.py (same pages,
no extra load); the figures, labels and messages themselves by the pure tests in tests/app/test_classroom.py.
"""
import re
import time

from browser_kit import no_exception, open_page, shot, wait_idle
from ui import lessons


def idle(pg) -> None:
    wait_idle(pg)
    no_exception(pg)


def href(pg) -> str:
    return pg.evaluate("location.href")          # Streamlit rewrites it with history.replaceState


def query(pg) -> dict[str, str]:
    return dict(kv.split("=") for kv in href(pg).split("?", 1)[1].split("&"))


def wait_for(check, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, what
        time.sleep(0.2)


def cut_off(locator) -> list[str]:
    """Texts inside ``locator`` wider than their box (an ellipsis or clipping)."""
    return locator.evaluate_all("els => els.filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)"
                                ".map(e => e.innerText)")


def test_ddrs_click_and_the_lesson_card_round_trip(page, server):
    step = lessons.LESSON[4]                                 # "Beyond one σ": Per-input σ at (-0.2, 1.8)
    assert step.target.page.key == "ddrs"
    open_page(page, server, "lessons")
    page.get_by_text(f"5. {step.title}", exact=True).click()
    idle(page)
    page.get_by_role("button", name=re.compile("^Show me")).click()
    wait_for(lambda: "x=-0.200" in href(page), "the lesson did not open its point")
    idle(page)
    assert page.locator(".st-key-ddrs_curve").count() == 1          # "At a point" is drawn

    # 1. a click on the R* map (away from the lesson's point) selects the clicked point
    plot = page.locator(".st-key-ddrs_rstar .imap-plot").first
    box = plot.bounding_box()
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.75 * box["height"])
    wait_for(lambda: query(page).get("x") not in (None, "-0.200"), f"a map click selected nothing: {href(page)}")
    idle(page)
    x, y = float(query(page)["x"]), float(query(page)["y"])
    assert x > 0.5 and y < 0 and page.locator(".st-key-ddrs_curve").count() == 1
    # 5. the pointer now rests on the map: no toolbar over its title
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.1 * box["height"])
    time.sleep(0.3)
    assert not page.locator(".st-key-ddrs_rstar .modebar-container").first.is_visible()
    shot(page, "classroom_ddrs_clicked")

    # 4. the lesson card's buttons read in full, also in presenter mode's narrow sidebar on a 1280×720 projector;
    # 2. Back keeps the slider's σ in the address bar (it wrote 0.02)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.locator("[data-testid='stSidebar']").get_by_text("Presenter mode", exact=True).click()
    wait_for(lambda: "present=1" in href(page), "presenter mode did not switch on")
    idle(page)
    card = page.locator(".st-key-lesson_card")
    card.evaluate("e => e.scrollIntoView()")
    assert not cut_off(card.locator("button *")), cut_off(card.locator("button *"))
    shot(page, "classroom_presenter_card")
    card.get_by_role("button", name="Lesson", exact=True).click()
    wait_for(lambda: "/lessons?" in href(page), "Back did not open the lesson")
    idle(page)
    slider = page.locator("[data-testid='stSidebar'] [data-testid='stSliderThumbValue']").first.inner_text()
    assert query(page)["sigma"] == slider == f"{step.target.sigma:g}", (href(page), slider)
    assert query(page)["x"] == f"{x:.3f}"                              # the clicked point travels with the link
