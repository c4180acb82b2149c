"""Summaries, the paper table, Cohen et al.'s TSV (export, parse, import) and CSV."""
import csv
import io
import math

import numpy as np
import pytest
from scipy.stats import norm

from cert_core.runs.export import import_tsv, paper_table, parse_cohen_tsv, summarize, to_cohen_tsv, to_csv
from cert_core.runs.store import RunSpec, RunStore

SPEC = RunSpec({"zoo": "m"}, {"name": "moons"}, 0.5, n0=100, n=900, model_label="m", data_label="moons test")
# idx, label, prediction, radius, base prediction, seconds
ROWS = [(0, 1, 1, 0.8, 1, 0.2), (2, 0, 0, 0.3, 1, 0.2), (4, 1, -1, 0.0, 1, 0.2), (6, 1, 0, 0.5, 0, 0.2)]


@pytest.fixture
def filled(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run = store.create_run(SPEC, 8)
    store.add_examples(run, [dict(idx=i, label=y, prediction=p, radius=r, p_lower=norm.cdf(r / 0.5) if p >= 0 else 0.4,
                                  correct=p == y, base_prediction=b, seconds=s, rank=0) for i, y, p, r, b, s in ROWS])
    return store, store.get(run), store.examples(run)


def test_summary_closed_form(filled):
    _, run, ex = filled
    s = summarize(run, ex, [0.0, 0.3, 0.5, 0.9])
    assert s.curve.tolist() == [0.5, 0.5, 0.25, 0.0]      # correct: idx 0 (r .8) and 2 (r .3)
    assert s.acr == pytest.approx((0.8 + 0.3) / 4)
    assert (s.smoothed_accuracy, s.abstain_rate, s.clean_accuracy) == (0.5, 0.25, 0.5)
    assert s.samples_per_second == pytest.approx(1000 / 0.2)
    assert s.eta_seconds == pytest.approx(4 * 0.2) and (s.done, s.total) == (4, 8)


def test_empty_summary_is_nan_not_an_error(tmp_path):
    store = RunStore(tmp_path / "r.sqlite")
    run = store.get(store.create_run(SPEC, 3))
    s = summarize(run, store.examples(run.id), [0.0, 1.0])
    assert s.done == 0 and math.isnan(s.acr) and s.curve.tolist() == [0.0, 0.0]


def test_paper_table(filled):
    _, run, ex = filled
    (row,) = paper_table([(run, ex)], radii=(0.0, 0.5))
    assert row["r = 0"] == 0.5 and row["r = 0.5"] == 0.25 and row["examples"] == "4/8" and row["σ"] == 0.5


def test_tsv_round_trip_and_import_gives_p_lower_consistent_with_the_written_radius(filled):
    store, run, ex = filled
    text = to_cohen_tsv(ex)
    assert text.splitlines()[0] == "idx\tlabel\tpredict\tradius\tcorrect\ttime"
    assert text.splitlines()[3] == "4\t1\t-1\t0.0000\t0\t0.2000"
    back = parse_cohen_tsv(text)
    assert back.idx.tolist() == [0, 2, 4, 6] and back.correct.tolist() == [True, True, False, False]
    new = import_tsv(store, text, "paper run", sigma=0.5)
    imported = store.get(new)
    assert imported.status == "imported" and imported.done == imported.total == 4
    p = store.examples(new).p_lower
    np.testing.assert_allclose(p[[0, 1, 3]], ex.p_lower[[0, 1, 3]], atol=1e-4)   # radius = σ Φ⁻¹(p) inverted
    assert np.all(p[[0, 1, 3]] <= ex.p_lower[[0, 1, 3]])    # from radii rounded down: never above the certified one
    assert p[2] == -1.0


def test_format_radius_down_never_exceeds_the_radius():
    from cert_core.runs.export import format_radius_down
    # to nearest, these were written 0.1235, 1.0000 and 2.0000: above the certificate
    assert [format_radius_down(r) for r in (0.12345, 0.99999, 1.99995)] == ["0.1234", "0.9999", "1.9999"]
    # exact decimals stay (0.3 is not written 0.2999 from its binary expansion); 0 stays 0
    assert [format_radius_down(r) for r in (0.3, 2.5, 0.0, -0.0, 1e-9)] == ["0.3000", "2.5000", "0.0000", "0.0000", "0.0000"]
    assert format_radius_down(float("inf")) == "inf"
    radii = np.random.default_rng(0).exponential(0.5, 20_000)
    back = np.array([float(format_radius_down(r)) for r in radii])
    assert np.all(back <= radii) and np.all(radii - back < 1e-4 + 1e-15)  # 1e-15: one ulp of the subtraction


def test_tsv_radii_are_rounded_down(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    radii = [0.12345, 0.99999, 0.3, 0.0, *np.random.default_rng(1).exponential(0.5, 200)]
    run = store.create_run(SPEC, len(radii))
    store.add_examples(run, [dict(idx=i, label=1, prediction=1 if r > 0 else -1, radius=r, p_lower=0.9,
                                  correct=r > 0, base_prediction=1, seconds=0.1, rank=0) for i, r in enumerate(radii)])
    ex = store.examples(run)
    written = parse_cohen_tsv(to_cohen_tsv(ex)).radius
    assert np.all(written <= ex.radius) and np.all(ex.radius - written < 1e-4 + 1e-15)
    assert written[:4].tolist() == [0.1234, 0.9999, 0.3, 0.0]


def test_parse_accepts_cohen_timedelta_and_orders_by_idx():
    text = "idx\tlabel\tpredict\tradius\tcorrect\ttime\n5\t3\t3\t0.734\t1\t0:00:01.500000\n1\t2\t-1\t0.0\t0\t0:01:00\n"
    ex = parse_cohen_tsv(text)
    assert ex.idx.tolist() == [1, 5] and ex.seconds.tolist() == [60.0, 1.5]


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("a,b,c\n", "must start with the header"),
    ("idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\tzero\t1\t0.1\n", "Line 2"),
    ("idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t-0.5\t1\t0.1\n", "Line 2"),
    ("idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t0.1\n0\t1\t1\t0.5\t1\t0.1\n", "more than once"),
])
def test_bad_tsv_is_reported(text, message):
    with pytest.raises(ValueError, match=message):
        parse_cohen_tsv(text)


def test_import_needs_a_positive_sigma(tmp_path):
    with pytest.raises(ValueError, match="'sigma' parameter of import_tsv"):
        import_tsv(RunStore(tmp_path / "r.sqlite"), "idx\tlabel\tpredict\tradius\tcorrect\ttime\n", "x", sigma=0)


def test_csv_has_parameters_and_every_column(filled):
    _, run, ex = filled
    rows = list(csv.DictReader(io.StringIO(to_csv(run, ex))))
    assert len(rows) == 4 and rows[0]["sigma"] == "0.5" and rows[0]["n"] == "900"
    assert rows[2]["prediction"] == "-1" and rows[0]["base_prediction"] == "1" and "p_lower" in rows[0]
