"""AppTest of the "Draw your data" page: limits, start from a dataset, undo/clear, train, and links (good and bad).
Clicks on the canvas are a real-browser test (tests/e2e/test_draw_browser.py)."""
from apptest_kit import page_test, page_text
from cert_core.models import drawn
from ui import navigation

THREE = drawn.from_points([(-2, 1.5), (-1.5, 2), (1.8, 1.6), (2.2, 2), (0, -2), (0.5, -1.6)], [0, 0, 1, 1, 2, 2])


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_draw_page_limits_start_from_train_undo_clear():
    at = page_test(navigation.DRAW).run()
    _ok(at)
    assert "press **Train**" in page_text(at)
    at.button(key="FormSubmitter:draw_train-Train").click().run()
    assert "Cannot train yet: a classifier needs at least two classes" in page_text(at)
    at.selectbox(key="draw_start").set_value("xor")
    at.button(key="draw_load").click().run()
    _ok(at)
    assert len(at.session_state["draw_history"][-1].cells) == 150
    at.button(key="draw_clear").click().run()
    assert not at.session_state["draw_history"][-1].cells
    at.button(key="draw_undo").click().run()
    _ok(at)
    assert len(at.session_state["draw_history"][-1].cells) == 150
    at.select_slider(key="draw_epochs").set_value(100)
    at.button(key="FormSubmitter:draw_train-Train").click().run()      # (AppTest cannot rerun after this: its
    _ok(at)                                                            # selectbox cannot re-send a session model)
    assert at.session_state["model_key"].startswith("user:")
    assert "It is now the current model on every page" in page_text(at)
    assert at.query_params["draw_epochs"] == "100" and at.query_params["draw"].startswith(drawn.VERSION)


def test_a_drawn_link_retrains_the_model_and_shows_its_points():
    link = {"model": "drawn-mlp-s0.5", "sigma": "0.3", **drawn.link_params(THREE, drawn.DrawnTraining(0.5, 100, 2))}
    at = page_test(navigation.DRAW, query=link).run()
    _ok(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["model_key"].startswith("user:")
    assert at.session_state["draw_history"][-1] == THREE
    assert (at.slider(key="draw_sigma").value, at.session_state["draw_seed"]) == (0.5, 2)
    assert at.query_params["draw"] == link["draw"] and at.query_params["sigma"] == "0.3"


def test_a_bad_drawn_link_falls_back_with_a_message():
    at = page_test(navigation.DRAW, query={"model": "drawn-mlp-s0.25", "draw": "1<script>", "draw_sigma": "0.25",
                                           "draw_epochs": "300", "draw_seed": "0"}).run()
    _ok(at)
    assert any("The link's drawn data cannot be used" in e.value for e in at.error)
    assert at.session_state["model_key"] == "zoo:moons-mlp-s0.25"
