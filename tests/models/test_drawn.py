"""Drawn datasets (cert_core.models.drawn): link round trip, limits with clear messages, hostile link strings,
CSV round trip, and seeded training that a link reproduces bit for bit."""
import numpy as np
import pytest
import torch

from cert_core.models import drawn
from cert_core.models.csv_dataset import load_csv

THREE = drawn.from_points([(-2, 1.5), (-1.5, 2), (1.8, 1.6), (2.2, 2), (0, -2), (0.5, -1.6)], [0, 0, 1, 1, 2, 2])


def random_drawing(n: int, seed: int = 0) -> drawn.Drawing:
    rng = np.random.default_rng(seed)
    return drawn.from_points(rng.uniform(-3, 3, (n, 2)), rng.integers(0, drawn.MAX_CLASSES, n))


@pytest.mark.parametrize("n", [0, 1, 2, 7, drawn.MAX_LINK_POINTS])
def test_encoding_round_trips_points_and_order(n):
    d = random_drawing(n, seed=n)
    code = drawn.encode_points(d)
    assert drawn.decode_points(code) == d
    assert set(code[1:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(code) <= 1 + -(-5 * n // 2) * 4 / 3 + 1        # 2.5 bytes a point, base64


def test_points_snap_to_the_grid_inside_the_box():
    d = drawn.Drawing().add(0.013, -0.012, 1).add(9.0, -9.0, 0)
    np.testing.assert_allclose(d.points, [[0.025, 0.0], [3.0, -3.0]], atol=1e-6)
    assert d.labels.tolist() == [1, 0]
    assert abs(drawn.MAX_LINK_POINTS * 2.5 * 4 / 3) < 1400    # the link stays under ~1.4 kB of points


def test_erase_removes_only_the_nearest_point_within_reach():
    d = THREE.erase_near(-2.0, 1.45, 0.3)
    assert len(d.cells) == 5 and THREE.cells[0] not in d.cells
    assert THREE.erase_near(3, -3, 0.3) == THREE


def test_link_params_round_trip():
    training = drawn.DrawnTraining(0.5, 100, 7)
    assert drawn.from_link(drawn.link_params(THREE, training)) == (THREE, training)


@pytest.mark.parametrize("cells, message", [
    ([(0, 0, 0), (1, 1, 0), (2, 2, 0)], "at least two classes; the drawing has only class 0"),
    ([], "the drawing has no points"),
    ([(0, 0, 0), (1, 1, 0), (5, 5, 2), (6, 6, 2)], "class 1 has no points"),
    ([(0, 0, 0), (1, 1, 0), (5, 5, 1)], "class 1 has 1 point; every class needs at least 2"),
])
def test_limits_have_clear_messages(cells, message):
    with pytest.raises(drawn.DrawingError, match=message):
        drawn.check_trainable(drawn.Drawing(tuple(cells)))


def test_too_many_points_for_a_link():
    full = random_drawing(drawn.MAX_LINK_POINTS)
    with pytest.raises(drawn.DrawingError, match="at most 400 points"):
        full.add(0, 0, 0)
    with pytest.raises(drawn.DrawingError, match="more than a link can carry"):
        drawn.from_points(np.zeros((401, 2)), np.zeros(401, int))


HOSTILE = ["", "2AAAA", "1", "1AAA", "1!!!!", "1" + "A" * 5000, "1AAAAAA=", "1\x00AA", "1ＡＡＡ",
           "1" + drawn.encode_points(THREE)[1:-1], "1__________", None, 12, "1////", "1A%20B"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_link_strings_give_a_clear_error(text):
    try:
        d = drawn.decode_points(text)
    except drawn.DrawingError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:                                                     # a few short strings are valid drawings
        assert drawn.decode_points(drawn.encode_points(d)) == d


@pytest.mark.parametrize("params, message", [
    ({"draw_sigma": "abc"}, "draw_sigma is missing or not a number"),
    ({"draw_sigma": "nan"}, "sigma_train"),
    ({"draw_epochs": "250"}, "epochs"),
    ({"draw_seed": "-1"}, "seed"),
    ({"draw_epochs": None}, "draw_epochs is missing"),
])
def test_bad_training_settings_in_a_link(params, message):
    link = {**drawn.link_params(THREE, drawn.DrawnTraining()), **params}
    with pytest.raises(drawn.DrawingError, match=message):
        drawn.from_link({k: v for k, v in link.items() if v is not None})


def test_csv_round_trip_and_load_csv_reads_the_export():
    text = drawn.to_csv(THREE)
    back, note = drawn.from_csv(text)
    assert back == THREE and "grid" in note
    assert load_csv(drawn.to_csv(random_drawing(60)).encode()).num_classes == drawn.MAX_CLASSES


def test_csv_outside_the_view_is_standardised_and_labels_remapped():
    rows = "\n".join(f"{100 + i},{200 + 3 * i},{7 if i % 2 else -1}" for i in range(10))
    d, note = drawn.from_csv(rows)
    assert np.abs(d.points).max() <= 2.0 + drawn.GRID_STEP and sorted(set(d.labels.tolist())) == [0, 1]
    assert "centred and scaled" in note and "-1, 7 became classes 0..1" in note


def test_csv_with_too_many_labels():
    with pytest.raises(drawn.DrawingError, match="at most 6 classes"):
        drawn.from_csv("\n".join(f"0,0,{k}" for k in range(7)))


def test_dataset_is_the_drawing_unscaled():
    data = drawn.to_dataset(THREE)
    np.testing.assert_array_equal(data.x_train, THREE.points)
    assert data.num_classes == 3 and data.spec == {"name": "drawn", "points": drawn.encode_points(THREE)}


def test_training_is_seeded_and_a_link_retrains_the_same_weights():
    training = drawn.DrawnTraining(0.25, 100, 3)
    first, result = drawn.train_drawn(THREE, training)
    again, _ = drawn.train_drawn(*drawn.from_link(first.metadata["link"]))
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    assert result.train_accuracy == 1.0
    assert torch.get_num_threads() >= 1 and first.metadata["dataset"]["name"] == "drawn"
