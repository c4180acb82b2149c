"""The start-up warm-up (ui/warmup.py) finds every slice's warm() (a plain module such as ui/lessons.py is no slice)."""
from ui import warmup


def test_the_warm_up_finds_the_slices_that_warm_themselves():
    names = [step.__module__ for step in warmup.slice_warmers()]
    assert names == ["ui.boundaries.cache", "ui.ddrs.cache", "ui.margin.cache"], names
