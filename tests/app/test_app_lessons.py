"""AppTest of the lesson, the sidebar lesson card, presenter mode and the glossary: every step's button
reaches the state it promises (page shown, URL and session state hold its model, σ and point)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import lessons, navigation, presenter

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def app(page: navigation.Page = navigation.LESSONS) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.switch_page(page.file)
    return at.run()


def assert_at_target(at: AppTest, step: lessons.Step) -> None:
    t = step.target
    assert not at.exception, at.exception
    assert at.title[0].value == t.page.title
    assert {k: v for k, v in at.query_params.items() if k != "present"} == t.query
    assert at.session_state["model_key"] == f"zoo:{t.model}" and at.session_state["sigma"] == t.sigma
    assert at.session_state["point"] == t.point
    assert not [e.value for e in at.error if "cannot" in str(e.value) or "not in the zoo" in str(e.value)]


def assert_step_shown(at: AppTest, index: int) -> None:
    assert at.subheader[0].value.startswith(f"{index + 1} · ")
    assert len(at.latex) == 1 and "Try this" in at.info[0].value


# steps 1 and 2 (indices 0 and 1): their buttons are pressed in test_sidebar_card_next_and_back_keep_presenter_mode,
# which opens both targets anyway (a fresh app per step cost two more runs of the lesson and of each target)
@pytest.mark.parametrize("index", range(2, len(lessons.LESSON)))
def test_each_step_button_reaches_its_state(index):
    at = app()
    assert at.title[0].value.startswith("Lesson")
    at.radio(key="lesson_view").set_value(index).run()
    assert_step_shown(at, index)
    at.button(key=f"lesson_go_{index}").click().run()
    assert_at_target(at, lessons.LESSON[index])
    if index == 6:            # the step points at the sequential chart under the inspector's table
        assert any(e.label.startswith("Sequential certification: Stopped after") for e in at.expander)
    if index == 5:            # the step promises the page flags the false per-input σ radius in red
        assert any("not a certificate" in str(e.value) for e in at.error)
    if index == 4:            # ... and here that it does not
        assert not any("not a certificate" in str(e.value) for e in at.error)


def test_sidebar_card_next_and_back_keep_presenter_mode():
    """Also test_each_step_button_reaches_its_state for steps 1 and 2: their Show me buttons reach their states."""
    at = app()
    assert at.title[0].value.startswith("Lesson")
    assert_step_shown(at, 0)
    at.toggle(key=presenter.KEY).set_value(True).run()
    assert at.query_params.get("present") == "1"
    at.button(key="lesson_go_0").click().run()
    assert_at_target(at, lessons.LESSON[0])
    card = " ".join(str(m.value) for m in at.sidebar.markdown)
    assert "Lesson 1/7" in card and lessons.LESSON[0].try_this[:30] in card
    at.button(key="lesson_next").click().run()
    assert_at_target(at, lessons.LESSON[1])
    assert at.query_params.get("present") == "1" and at.session_state[presenter.KEY]
    at.button(key="lesson_back").click().run()
    assert at.title[0].value.startswith("Lesson") and at.radio(key="lesson_view").value == 1
    assert_step_shown(at, 1)
    at.button(key="lesson_go_1").click().run()                         # step 2's own button
    assert_at_target(at, lessons.LESSON[1])
    at.button(key="lesson_close").click().run()
    assert "Lesson 2/6" not in " ".join(str(m.value) for m in at.sidebar.markdown)


def test_presenter_toggle_injects_css_and_url():
    at = app(navigation.BOUNDARIES)
    assert "present" not in at.query_params and not at.get("html")
    at.toggle(key=presenter.KEY).set_value(True).run()
    assert not at.exception and at.query_params["present"] == "1"
    css = " ".join(h.proto.body for h in at.get("html"))
    assert ".st-key-resolution" in css and "font-size: 21px" in css
    at.toggle(key=presenter.KEY).set_value(False).run()
    assert "present" not in at.query_params and not at.get("html")


def test_presenter_link_opens_in_presenter_mode():
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"model": "moons-mlp-s0", "sigma": "0.3", "present": "1"})
    at.run()
    assert at.toggle(key=presenter.KEY).value is True and at.query_params["present"] == "1"


def test_previous_and_next():
    at = app()
    assert at.button(key="lesson_prev").disabled
    at.button(key="lesson_next_step").click().run()
    assert at.radio(key="lesson_view").value == 1
    at.button(key="lesson_prev").click().run()
    assert at.radio(key="lesson_view").value == 0 and at.button(key="lesson_prev").disabled


def test_glossary_page_search_and_no_match():
    at = app(navigation.GLOSSARY)
    assert not at.exception and at.title[0].value == "Glossary"
    assert len(at.subheader) >= 20
    at.text_input(key="glossary_q").set_value("memory").run()
    assert [s.value for s in at.subheader][:2] == ["Per-input σ (DDRS)", "Memory-based certification"]
    at.text_input(key="glossary_q").set_value("qwertz").run()
    assert not at.exception and "No term matches" in at.warning[0].value and not at.subheader


def _folded_page(on: bool) -> None:
    import streamlit as st
    from ui import presenter as p
    st.session_state[p.KEY] = on
    with p.folded("About this page"):
        st.caption("The introduction.")
        st.slider("σ range", 0.0, 1.0, 0.5, key="folded_slider")


@pytest.mark.parametrize("on", [False, True])
def test_presenter_folds_an_introduction_into_a_closed_expander(on):
    """In presenter mode a page's introduction and settings fold away, so its figure starts on a projector's first
    screen; the widget inside keeps working either way."""
    at = AppTest.from_function(_folded_page, args=(on,)).run()
    assert not at.exception and at.caption[0].value == "The introduction." and at.slider[0].value == 0.5
    assert [(e.label, e.proto.expanded) for e in at.expander] == ([("About this page", False)] if on else [])
