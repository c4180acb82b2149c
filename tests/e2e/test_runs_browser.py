"""Real browser: start a small certification run on /runs, see the live curve appear and grow, download the
Cohen et al. TSV from the compare tab; the method selector with a DDRS run beside its fixed-σ Cohen run and a
Bernstein run of the digits bottleneck model (shared streamlit server + Debian chromium from conftest.py); issue 17's
item 6 on the run charts (classroom_kit.py)."""
import os
import re
from pathlib import Path

from browser_kit import open_page, settle, shot, wait_idle
from classroom_kit import run_charts
from runs_kit import make_store

# Few examples where no check needs many: a DDRS example runs OptimizeSigma (and a fixed-σ Cohen run certifies it
# too), a Bernstein example root-finding (0.1-5 s each). The Cohen run keeps 150: its curve must be seen to grow.
DDRS_EXAMPLES, BERNSTEIN_EXAMPLES = 24, 4
FIRST_METRIC = "document.querySelector(\"[data-testid='stMetricValue']\").innerText"


def _done(page) -> int:
    text = page.locator("[data-testid='stMetricValue']").first.inner_text()
    return int(re.match(r"(\d+)/", text).group(1))


def _fill(page, label, value):
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")


def _wait_metric(page, text: str, timeout=300_000):
    page.wait_for_function(f"() => {FIRST_METRIC} === '{text}'", timeout=timeout)
    wait_idle(page)


def test_start_watch_grow_and_download_tsv(page, server):
    open_page(page, server, "runs?model=moons-mlp-s0.25&sigma=0.25")
    _fill(page, "Examples (at most)", 150)
    _fill(page, "n (estimation)", 20000)
    _fill(page, "Batch", 2000)
    page.get_by_text("cpu", exact=True).click()
    page.get_by_role("button", name=re.compile("Start")).click()
    page.locator("[data-testid='stMetricValue']").first.wait_for(timeout=60_000)
    page.wait_for_function("() => { const m = document.querySelector(\"[data-testid='stMetricValue']\");"
                           " return m && parseInt(m.innerText) > 0; }", timeout=120_000)
    first = _done(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    settle(page, tour_wait=1.5)
    shot(page, "runs_live", full=True, tour="runs-live")
    page.wait_for_function(f"() => parseInt({FIRST_METRIC}) > {first}", timeout=120_000)   # grows without a click
    assert _done(page) > first
    _wait_metric(page, "150/150")
    page.get_by_role("tab", name=re.compile("Compare")).click()      # a tab: the button's click waits for it
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=re.compile("Cohen et al. TSV")).click()
    lines = Path(info.value.path()).read_text().splitlines()
    assert lines[0] == "idx\tlabel\tpredict\tradius\tcorrect\ttime" and len(lines) == 151
    shot(page, "runs_compare", full=True)
    assert page.locator("[data-testid='stException']").count() == 0


def test_ddrs_method_beside_fixed_sigma(page, server):
    """The method selector: a DDRS run next to its fixed-σ Cohen run, live σ*ₓ metrics, the compare table."""
    open_page(page, server, "runs?model=moons-mlp-s0.25&sigma=0.25")
    page.get_by_text("Per-input σ (DDRS)", exact=True).click()
    wait_idle(page)
    assert page.get_by_text("Memory (Sec. 3.5)").count() == 1
    _fill(page, "Examples (at most)", DDRS_EXAMPLES)
    _fill(page, "n (estimation)", 1000)
    _fill(page, "Batch", 1000)
    page.get_by_text("cpu", exact=True).click()
    page.get_by_role("button", name=re.compile("Start")).click()
    page.get_by_text("Median σ*ₓ").first.wait_for(timeout=120_000)
    _wait_metric(page, f"{DDRS_EXAMPLES}/{DDRS_EXAMPLES}")
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    settle(page)
    shot(page, "runs_ddrs_live", full=True)
    page.get_by_role("tab", name=re.compile("Compare")).click()
    wait_idle(page)
    page.locator("[data-testid='stDataFrame']").first.scroll_into_view_if_needed()
    settle(page)
    shot(page, "runs_ddrs_compare", full=True)
    assert page.locator("[data-testid='stException']").count() == 0


def test_bernstein_method(page, server):
    """A Bernstein run of the digits bottleneck model: sound radius through L_G, root-finding as its own curve."""
    open_page(page, server, "runs?model=digits-bottleneck-d3-s0")
    page.get_by_text("Bernstein (bottleneck)", exact=True).click()
    wait_idle(page)
    _fill(page, "σ for Cohen runs beside it", "")
    _fill(page, "Examples (at most)", BERNSTEIN_EXAMPLES)
    page.get_by_role("button", name=re.compile("Start")).click()
    page.get_by_text("sound Lipschitz radius", exact=False).first.wait_for(timeout=120_000)
    _wait_metric(page, f"{BERNSTEIN_EXAMPLES}/{BERNSTEIN_EXAMPLES}")
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    settle(page)
    shot(page, "runs_bernstein_live", full=True)
    assert page.get_by_text("L_G ≤", exact=False).count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0


def test_first_visit_opens_on_no_run(page, server):
    """Issue 17, item 9: the run store is shared (other tabs, users, the command line), so a first visit lists its
    runs and opens none of them (before: the newest run, someone else's, opened with its live metrics). Then item 6
    on the run chosen from that list (classroom_kit.run_charts, from issue 17's classroom walk)."""
    # the session's own run store (tests/conftest.py), in a group of its own: Compare's default is the newest group
    make_store(os.environ["CERT_EXPLORER_RUNS"], name_a="first visit σ=0.25", group="first-visit")
    open_page(page, server, "runs")
    assert page.get_by_text("No run chosen.", exact=False).count() == 1
    assert page.locator("[data-testid='stMetricValue']").count() == 0            # no run's live view
    shot(page, "runs_first_visit")
    runs = page.get_by_role("combobox", name="Run", exact=True)
    assert runs.input_value() == "" and "Choose a run to watch" in runs.get_attribute("placeholder")
    runs.evaluate("el => el.scrollIntoView({block: 'center'})")   # room below it for the list
    runs.click()                               # the list to pick from (choosing one: tests/app/test_app_runs.py)
    page.get_by_role("option", name=re.compile("first visit σ=0.25")).first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    run_charts(page)                                  # make_store's σ = 0.5 run, the newest, from the open list
