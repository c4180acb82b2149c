"""Real browser, issue 17's item 10 on the Models page as a class sees it (the shared server and chromium of
conftest.py): no stale "Loaded <file>" beside a later error.

The walk's other checks (items 6, 7 and 10 on Per-input σ, Bernstein, Activation paths, SRA and Certification
runs) live in classroom_kit.py and run in the browser tests that already open those pages:
test_ddrs_browser.py, test_bernstein_browser.py, test_paths_browser.py, test_margin_browser.py and
test_runs_browser.py::test_first_visit_opens_on_no_run.
"""
import re

from browser_kit import ROOT, no_exception, open_page, wait_idle
from cert_core.models.bundles import load_model, save_bundle


def test_figures_and_messages_a_class_sees(page, server, tmp_path):
    """Item 10: the "Loaded <file>" confirmation is gone once a later upload fails."""
    zoo = load_model(ROOT / "assets" / "models" / "moons-mlp-s0.pt")
    bundle = tmp_path / "trained_bundle.pt"          # no dataset: the Models page then has nothing to evaluate
    save_bundle(zoo.model, zoo.config, {k: v for k, v in zoo.metadata.items() if k != "dataset"}, bundle)
    bad_csv = tmp_path / "broken.csv"
    bad_csv.write_text("x1,x2,label\n1,2\n")
    open_page(page, server, "models")
    page.get_by_role("tab", name=re.compile("Upload")).click()
    uploads = page.locator("[data-testid='stFileUploader'] input[type='file']")
    uploads.nth(0).set_input_files(str(bundle))
    page.get_by_text("Loaded trained_bundle.pt").wait_for(timeout=60_000)
    uploads.nth(1).set_input_files(str(bad_csv))
    page.get_by_text("broken.csv cannot be used").wait_for(timeout=60_000)
    wait_idle(page, settle=0.3)                          # the run that drew the error is over
    assert page.get_by_text("Loaded trained_bundle.pt").count() == 0
    no_exception(page)
