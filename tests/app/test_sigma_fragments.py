"""The σ slider's callback (ui/sigma_fragments.py): a step is a rerun of the slider's own fragment, which it turns into
a rerun of the page's σ fragments alone when the page's latest run drew some, else of the whole app; a σ carried by
another fragment's rerun (the inspector table's poll) or by a whole-app run is left alone."""
from types import SimpleNamespace

import pytest
import streamlit
from ui import sigma_fragments


@pytest.fixture
def asked(monkeypatch):
    """What on_sigma_change asked of st.rerun (None: nothing), in a session and run context made up by the test."""
    calls, session = [], {}
    storage = SimpleNamespace(resolve_target=lambda key: ["slider-id"] if key == sigma_fragments.SLIDER else [])
    ctx = SimpleNamespace(fragment_ids_this_run=[], fragment_storage=storage)
    monkeypatch.setattr(streamlit, "session_state", session)
    monkeypatch.setattr(sigma_fragments, "get_script_run_ctx", lambda: ctx)
    monkeypatch.setattr(streamlit, "rerun", lambda *args, **kwargs: calls.append(args[0] if args else kwargs))

    def run(drawn=None, fragment_ids=("slider-id",)):
        calls.clear()
        session.clear()
        if drawn is not None:
            session[sigma_fragments.DRAWN] = drawn
        ctx.fragment_ids_this_run = list(fragment_ids)
        sigma_fragments.on_sigma_change()
        return calls[0] if calls else None
    return run


def test_a_sigma_step_reruns_the_pages_sigma_fragments_alone(asked):
    assert asked(("boundaries_at_sigma",)) == ["boundaries_at_sigma"]


def test_a_page_without_sigma_fragments_reruns_whole(asked):
    assert asked() == {"scope": "app"}
    assert asked(()) == {"scope": "app"}


def test_a_sigma_another_run_carries_is_left_alone(asked):
    assert asked(("boundaries_at_sigma",), ["table-poll"]) is None   # a poll's stale σ: its own fragment rerun
    assert asked(("boundaries_at_sigma",), []) is None               # a whole-app run draws the new σ anyway


def test_every_whole_app_run_forgets_the_fragments(monkeypatch):
    session = {sigma_fragments.DRAWN: ("boundaries_at_sigma",)}
    monkeypatch.setattr(streamlit, "session_state", session)
    sigma_fragments.forget()
    assert sigma_fragments.DRAWN not in session
