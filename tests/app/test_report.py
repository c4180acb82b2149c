"""The stakeholder demo export: a self-contained HTML report of a run comparison (figures, paper-like
table, model description, settings), and its button on the runs page's Compare & export tab."""
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cert_core.runs.export import paper_table
from ui import navigation
from ui.runs import report
from runs_kit import make_store

APP = str(Path(__file__).resolve().parents[2] / "app.py")
def items(store):
    return [(run, store.examples(run.id)) for run in reversed(store.list_runs())]


def test_report_is_self_contained_with_figures_table_model_and_settings(tmp_path):
    text = report.build_report(items(make_store(tmp_path / "r.sqlite")))
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert len(text) > 3_000_000                                              # plotly.js is inlined ...
    assert text.count("plotly.js v") >= 1 and not re.search(r"<script[^>]+src=", text)   # ... once, nothing fetched
    markup = re.sub(r"<script.*?</script>", "", text, flags=re.S)             # the document outside scripts
    assert not re.search(r"""(href|src)=["']https?:""", markup) and "<link" not in markup
    assert text.count('class="plotly-graph-div"') == 3                        # accuracy curve + 2 histograms
    assert "Certified accuracy against radius" in text and "envelope (best over runs)" in text
    for needle in ("moons-mlp-s0.25 (built-in zoo)", "two interleaved half-moons", "σ_train", "mlp · width",
                   "clean test accuracy", "1,000", "0.001", "moons test", "--sigma 0.25", "--sigma 0.5",
                   "What the numbers promise"):
        assert needle in text, needle


def test_table_matches_paper_table_and_bolds_the_best(tmp_path):
    data = items(make_store(tmp_path / "r.sqlite"))
    rows = paper_table(data, report.DEFAULT_RADII)
    assert rows[0]["r = 0.25"] == pytest.approx(2 / 5) and rows[1]["r = 0.25"] == pytest.approx(2 / 4)
    text = report.build_report(data)
    table = text[text.index("<h2>Table</h2>"):text.index("<h2>Models</h2>")]
    assert "<td><b>0.500</b></td>" in table and "<td>0.400</td>" in table    # r = 0.25: B is best
    assert f"<td>{rows[0]['ACR']:.3f}</td>" in table


def test_user_text_is_escaped_and_bad_inputs_are_messages(tmp_path):
    store = make_store(tmp_path / "r.sqlite", name_a="<script>alert(1)</script>")
    text = report.build_report(items(store))
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    with pytest.raises(ValueError, match="at least one run with finished examples"):
        report.build_report([])
    with pytest.raises(ValueError, match="radii must be numbers ≥ 0"):
        report.build_report(items(store), radii=(0.5, -1.0))


def test_uploaded_model_is_described_by_its_spec():
    rows = dict(report.describe_model({"path": "/tmp/m.pt", "sha256": "abc"}, "my model"))
    assert rows["model"] == "my model" and rows["sha256"] == "abc"


def test_compare_tab_has_the_report_button(tmp_path, monkeypatch):
    monkeypatch.setenv("CERT_EXPLORER_RUNS", str(tmp_path / "r.sqlite"))
    make_store(tmp_path / "r.sqlite")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(navigation.RUNS.file)
    at.run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Demo report (HTML)" in labels
