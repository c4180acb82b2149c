"""Helpers shared by the AppTest page tests (streamlit.testing.v1)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.navigation import Page

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def page_test(page: Page, query: dict | None = None, timeout: float = 240, **state) -> AppTest:
    """An AppTest of the whole app (router + sidebar) switched to ``page`` (ui/navigation.py), not yet run."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in state.items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page.file)
    return at


def page_text(at: AppTest) -> str:
    """All the prose the page shows: markdown, captions and every kind of message."""
    return " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.error, *at.warning,
                                           *at.success])


def dataframe_with(at: AppTest, column: str):
    """The first dataframe with ``column`` (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def first_screen_maps(at: AppTest) -> list[str]:
    """The keys of the ``ui.image_map`` pictures a run drew, once it is checked that it drew no Plotly chart: a
    page whose first screen holds a Plotly chart makes every new visitor's browser fetch, evaluate and draw
    Plotly's 4.7 MB chunk after the script's end (issue 17, first loads; bench/RESULTS.md "loads7")."""
    assert at.get("plotly_chart") == [], [c.proto.id for c in at.get("plotly_chart")]
    return [c.proto.id.rsplit("-", 1)[-1] for c in at.get("bidi_component") if "image_map" in c.proto.component_name]
