"""The start-up warm-up (ui/warmup.py) finds the page slices' caches (a plain module such as ui/lessons.py is no
slice; it once stopped the warm-up thread at once). Finding them imports none, so this stays cheap."""
from ui import warmup


def test_the_warm_up_finds_the_slice_caches_in_sidebar_order():
    names = warmup.slice_caches()
    assert "ui.lessons.cache" not in names and "ui.glossary.cache" not in names
    wanted = ["ui.boundaries.cache", "ui.ddrs.cache", "ui.margin.cache"]     # the three that define warm()
    assert [n for n in names if n in wanted] == wanted, names
