"""Every registered receipt, recomputed at its test scale: the suite fails on a ✗ (and says which number)."""
import dataclasses

import pytest

from cert_core.receipts.base import Receipt, ReceiptResult
from cert_core.receipts.registry import RECEIPTS, receipt
from ui.navigation import BY_KEY as PAGES


@pytest.mark.parametrize("entry", RECEIPTS, ids=[r.key for r in RECEIPTS])
def test_receipt_holds(entry: Receipt):
    result = entry.run("test")
    assert isinstance(result, ReceiptResult) and result.key == entry.key
    failed = [line for line in result.lines if not line.passed]
    assert result.passed, f"{entry.key}: ✗ {failed} (tolerance: {result.tolerance})"
    assert result.claim and result.source and result.tolerance and result.setting
    assert result.view.page in PAGES and PAGES[result.view.page].file, result.view      # the card's button works


def test_registry_keys_are_unique_and_results_are_frozen():
    assert len({r.key for r in RECEIPTS}) == len(RECEIPTS)
    result = receipt("predict-n10").run("test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.claim = "changed"                                            # type: ignore[misc]


def test_bad_key_and_scale_are_clear_errors():
    with pytest.raises(ValueError, match="The 'key' parameter of receipt must be one of"):
        receipt("nope")
    with pytest.raises(ValueError, match="The 'scale' parameter of Receipt.run must be one of"):
        RECEIPTS[0].run("huge")
