"""Tests for cert_core.models.data: shapes, standardisation, seeding, spec round-trip, CSV errors, local-only torchvision."""
import io

import numpy as np
import pytest

from cert_core.models.csv_dataset import load_csv
from cert_core.models.data import BOX_2D, TOY_DATASETS, load_dataset, load_digits, load_torchvision, make_toy
from cert_core.models.dataset import DataError, Dataset, DatasetUnavailable


def _same(a: Dataset, b: Dataset) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("x_train", "y_train", "x_test", "y_test"))


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_toy_shapes_dtypes_and_box(name):
    ds = make_toy(name, n_samples=200, seed=3)
    assert ds.input_shape == (2,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.shape[1:] == (2,) and len(ds.x_train) + len(ds.x_test) == 200
    assert len(ds.class_names) == ds.num_classes == len(np.unique(ds.y_train)) == len(np.unique(ds.y_test))
    allx = np.concatenate([ds.x_train, ds.x_test])
    # centred and scaled isotropically: max |coord| is exactly 2, inside the view box
    np.testing.assert_allclose(np.abs(allx).max(), 2.0, rtol=1e-6)
    np.testing.assert_allclose(allx.mean(axis=0), 0.0, atol=1e-5)
    xmin, xmax, ymin, ymax = BOX_2D
    assert xmin < -2 and xmax > 2 and ymin < -2 and ymax > 2


def test_toy_split_fraction_and_stratified():
    ds = make_toy("blobs", n_samples=400, test_fraction=0.25)
    assert len(ds.x_test) == 100
    assert np.bincount(ds.y_test).tolist() == [25, 25, 25, 25]


def test_toy_determinism_by_seed():
    assert _same(make_toy("spirals", seed=1), make_toy("spirals", seed=1))
    assert not np.array_equal(make_toy("spirals", seed=1).x_train, make_toy("spirals", seed=2).x_train)


@pytest.mark.parametrize("kwargs", [dict(name="moons", noise=0.2, seed=4), dict(name="blobs", n_classes=3),
                                    dict(name="xor", n_samples=100), dict(name="gaussian_quantiles", n_classes=3)])
def test_spec_round_trip(kwargs):
    ds = make_toy(**kwargs)
    again = load_dataset(**ds.spec)
    assert _same(ds, again) and again.spec == ds.spec and again.num_classes == ds.num_classes


def test_blobs_n_classes_and_bad_arguments():
    assert make_toy("blobs").num_classes == 4
    assert make_toy("blobs", n_classes=6).num_classes == 6
    with pytest.raises(ValueError, match="The 'name' parameter of make_toy must be one of"):
        make_toy("swirls")
    with pytest.raises(ValueError, match=r"The 'noise' parameter of make_toy must be a float in \[0, 10\]"):
        make_toy("moons", noise=-1.0)
    with pytest.raises(ValueError, match="'n_classes' parameter of make_toy must be None or 2"):
        make_toy("moons", n_classes=3)


def test_digits():
    ds = load_digits(seed=0)
    assert ds.input_shape == (1, 8, 8) and ds.x_train.shape[1:] == (1, 8, 8)
    assert ds.num_classes == 10 and len(ds.x_train) + len(ds.x_test) == 1797
    assert ds.x_train.dtype == np.float32 and ds.x_train.min() >= 0 and ds.x_train.max() == 1.0
    assert _same(ds, load_dataset(**ds.spec))
    assert not np.array_equal(ds.y_test, load_digits(seed=1).y_test)


GOOD_CSV = "x1,x2,label\n" + "".join(f"{i * 0.5},{-i},{i % 2}\n" for i in range(20))


def test_csv_good_from_path_bytes_and_filelikes(tmp_path):
    path = tmp_path / "pts.csv"
    path.write_text(GOOD_CSV)
    from_path = load_csv(path)
    for src in (GOOD_CSV.encode(), io.BytesIO(GOOD_CSV.encode()), io.StringIO(GOOD_CSV)):
        assert _same(from_path, load_csv(src))
    assert from_path.num_classes == 2 and from_path.input_shape == (2,)
    np.testing.assert_allclose(np.abs(np.concatenate([from_path.x_train, from_path.x_test])).max(), 2.0, rtol=1e-6)
    assert _same(from_path, load_dataset(**from_path.spec))  # spec keeps the path


def test_csv_without_header_and_label_remapping():
    text = "".join(f"{i},{i * i % 7},{[-1, 5, 9][i % 3]}\n" for i in range(30))
    ds = load_csv(text.encode())
    assert ds.class_names == ("-1", "5", "9") and ds.num_classes == 3
    assert set(np.unique(ds.y_train)) == {0, 1, 2}


def test_csv_from_bytes_cannot_be_rebuilt_from_spec():
    ds = load_csv(GOOD_CSV.encode())
    with pytest.raises(DataError, match="load the file again"):
        load_dataset(**ds.spec)


@pytest.mark.parametrize("text, message", [
    ("x1,x2,label,extra\n" + "1,2,0,9\n" * 12, "expected 3 columns x1,x2,label, got 4"),
    ("1,2\n" * 12, "expected 3 columns x1,x2,label, got 2"),
    ("1,nan,0\n" + GOOD_CSV.split("\n", 1)[1], "NaN or infinite"),
    ("1,inf,1\n" + GOOD_CSV.split("\n", 1)[1], "NaN or infinite"),
    ("1,2,0.5\n" + GOOD_CSV.split("\n", 1)[1], "labels must be integers"),
    ("1,2,abc\n" + GOOD_CSV.split("\n", 1)[1], "not a number"),
    ("".join(f"{i},{i},3\n" for i in range(20)), "need at least 2 classes"),
    ("1,2,0\n3,4,1\n5,6,0\n", "too few rows"),
    ("".join(f"{i},{i},0\n" for i in range(20)) + "1,1,1\n", "at least 2 rows"),
    ("", "too few rows"),
    ("".join(f"1.7e308,{i},{i % 2}\n" for i in range(12)), r"span \[0, 1\.7e\+308\], which cannot be centred"),
    ("".join(f"{i}e-310,0,{i % 2}\n" for i in range(12)), "overflows to infinity"),   # a subnormal spread
])
def test_csv_bad_cases(text, message):
    with pytest.raises(DataError, match=message):
        load_csv(text.encode())


def test_csv_not_text_or_missing_file(tmp_path):
    with pytest.raises(DataError, match="not UTF-8"):
        load_csv(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(DataError, match="could not read CSV file"):
        load_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST"),
                                          ("cifar10", "cifar-10-batches-py")])
def test_torchvision_absent_names_the_folder(tmp_path, name, folder):
    with pytest.raises(DatasetUnavailable, match=f"not found in the folder {tmp_path}") as info:
        load_torchvision(name, root=tmp_path)
    assert folder in str(info.value) and "Nothing is downloaded" in str(info.value)
    assert "torchvision said" not in str(info.value) and "download" not in str(info.value).replace("downloaded", "")
    assert list(tmp_path.iterdir()) == []  # and nothing was written there


def test_torchvision_default_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CERT_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DatasetUnavailable, match="data"):
        load_dataset("mnist")


def test_mnist_from_local_files(tmp_path):
    """A tiny fake MNIST in the IDX format torchvision reads: shapes, scaling, limits, spec."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 7), ("t10k", 5)):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            bytes([0, 0, 8, 3]) + np.array([n, 28, 28], ">i4").tobytes() + imgs.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + np.array([n], ">i4").tobytes() + labels.tobytes())
    ds = load_torchvision("mnist", root=tmp_path, max_train=4)
    assert ds.x_train.shape == (4, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    assert ds.x_train.dtype == np.float32 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert _same(ds, load_dataset(**ds.spec))
