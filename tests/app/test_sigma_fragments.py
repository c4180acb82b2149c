"""The σ slider's callback (ui/sigma_fragments.py): it reruns the page's σ fragments alone only when the page's
latest run drew some and the σ change is the slider's own (a whole-app request); otherwise the default rerun."""
from types import SimpleNamespace

import pytest
import streamlit
from ui import sigma_fragments


@pytest.fixture
def asked(monkeypatch):
    """What on_sigma_change asked of st.rerun (None: nothing), in a session and run context made up by the test."""
    calls, session = [], {}
    ctx = SimpleNamespace(fragment_ids_this_run=[])
    monkeypatch.setattr(streamlit, "session_state", session)
    monkeypatch.setattr(sigma_fragments, "get_script_run_ctx", lambda: ctx)
    monkeypatch.setattr(streamlit, "rerun", calls.append)

    def run(drawn=None, fragment_ids=()):
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


def test_otherwise_the_default_rerun_happens(asked):
    assert asked() is None                                       # a page without σ fragments: the whole app
    assert asked(()) is None
    assert asked(("boundaries_at_sigma",), ["table-poll"]) is None   # a poll's stale σ: its own fragment rerun


def test_every_whole_app_run_forgets_the_fragments(monkeypatch):
    session = {sigma_fragments.DRAWN: ("boundaries_at_sigma",)}
    monkeypatch.setattr(streamlit, "session_state", session)
    sigma_fragments.forget()
    assert sigma_fragments.DRAWN not in session
