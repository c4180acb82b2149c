"""AppTest of the Receipts page: every registered card renders with its verdict, a ✗ and a receipt that raises
show as such (never a traceback), and a card's button opens its view like a shared link. The registry is swapped
for the cheap receipts plus two fakes, so this stays a smoke test (the real checks run in tests/receipts)."""
import pytest

from apptest_kit import page_test, page_text
from cert_core.receipts import registry
from cert_core.receipts.base import Line, Receipt, ReceiptResult, View
from ui.navigation import GLOSSARY, RECEIPTS
from ui.receipts import cache

CHEAP = ("radius-cap", "predict-n10", "per-input-sigma", "bernstein")


def _failing(scale):
    return ReceiptResult("", "A claim that our number misses.", "A made-up source", "± 0.01",
                         (Line("x", "1.00", "2.00", False),), View(GLOSSARY.key, "moons-mlp-s0.5", 0.5, None, "a term"),
                         setting="fake")


def _raising(scale):
    raise FileNotFoundError("assets/models/nope.pt is missing")


@pytest.fixture
def fake_registry(monkeypatch):
    entries = tuple(registry.BY_KEY[k] for k in CHEAP) + (Receipt("fake-miss", "A receipt that misses", _failing),
                                                          Receipt("fake-raise", "A receipt that raises", _raising))
    monkeypatch.setattr(registry, "RECEIPTS", entries)
    monkeypatch.setattr(registry, "BY_KEY", {r.key: r for r in entries})
    cache.clear()
    yield entries
    cache.clear()


def test_cards_verdicts_and_errors(fake_registry):
    at = page_test(RECEIPTS, timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Receipts"
    text = page_text(at)
    assert "4 of 6 receipts hold" in text and "2 do not hold" in text
    for entry in fake_registry[:-1]:
        assert at.button(key=f"receipt_go_{entry.key}")
    assert "Tolerance:" in text and "± 0.005σ" in text and "locuslab/smoothing issue #8" in text
    assert any("nope.pt is missing" in str(e.value) for e in at.error)
    assert "p̲_A" not in text and r"$\underline{p_A}$ = α^(1/n)" in text    # typeset as the glossary does
    at.toggle(key="receipts_quick").set_value(True).run()
    assert not at.exception and "quick settings" in page_text(at)


def test_show_me_opens_the_view_as_a_shared_link(fake_registry):
    at = page_test(RECEIPTS, timeout=120).run()
    at.button(key="receipt_go_fake-miss").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith(GLOSSARY.title)
    assert at.query_params["model"] == "moons-mlp-s0.5" and at.query_params["sigma"] == "0.5"
    assert at.session_state["model_key"] == "zoo:moons-mlp-s0.5" and at.session_state["sigma"] == 0.5
