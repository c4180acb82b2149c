"""Datasets: 2D toy sets, sklearn digits and local torchvision sets, and ``load_dataset``, which rebuilds any
dataset from its spec (also a user CSV, ``cert_core.models.csv_dataset``, and an image folder).

Every loader returns a frozen :class:`Dataset` whose ``spec`` rebuilds it:
``load_dataset(**ds.spec)`` gives the same arrays (same seed -> same split, bit for bit).

Shapes (N examples, K classes)::

    x_train, x_test   (N, *input_shape) float32   input_shape: (2,) | (1, 8, 8) | (1, 28, 28) | (3, 32, 32)
    y_train, y_test   (N,) int64 in [0, K)

Every 2D set (toys and CSV) is standardised -- centred on its mean and scaled isotropically so that
max |coord| = 2 -- so it lies in [-2, 2]^2 inside the view box ``BOX_2D``. Images are in [0, 1]; no
normalisation is applied here because smoothing noise is added in this input space (a normalisation
layer, if wanted, lives inside the model). The train/test split is stratified and seeded.
"""
from __future__ import annotations

import os
import pathlib

import numpy as np

from cert_core.models.csv_dataset import load_csv_spec
from cert_core.models.dataset import Dataset, DatasetUnavailable, split_dataset, standardise_2d
from cert_core.validation import check_choice, check_float, check_int

BOX_2D = (-3.0, 3.0, -3.0, 3.0)  # (xmin, xmax, ymin, ymax)
TOY_DATASETS = ("moons", "circles", "blobs", "gaussian_quantiles", "spirals", "xor")
IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}
_CLASS_NAMES = {
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"),
}
_DEFAULT_CLASSES = {"blobs": 4, "gaussian_quantiles": 2, "spirals": 2}


def _spirals(n, k, noise, rng):
    """k interleaved Archimedean arms of 1.75 turns in the unit disc, Gaussian jitter ``noise``."""
    y = np.arange(n) % k
    r = rng.uniform(0.08, 1.0, n)  # radius along the arm; skip the crowded centre
    theta = 2 * np.pi * (1.75 * r + y / k)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return x + noise * rng.standard_normal((n, 2)), y


def _xor(n, noise, rng):
    x = rng.uniform(-1.0, 1.0, (n, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return x + noise * rng.standard_normal((n, 2)), y


def _blobs(n, k, noise, rng):
    """k blobs with centres on the unit circle; cluster std 0.1 + 2 * noise."""
    y = np.arange(n) % k
    angle = 2 * np.pi * y / k
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + (0.1 + 2 * noise) * rng.standard_normal((n, 2)), y


def _toy_points(name, n, noise, seed, k):
    from sklearn import datasets as skd  # local: keep `import cert_core.models.data` light
    rng = np.random.default_rng(seed)
    if name == "moons":
        return skd.make_moons(n, noise=noise, random_state=seed)
    if name == "circles":
        return skd.make_circles(n, noise=noise, factor=0.5, random_state=seed)
    if name == "gaussian_quantiles":
        x, y = skd.make_gaussian_quantiles(n_samples=n, n_features=2, n_classes=k, random_state=seed)
        return x + noise * rng.standard_normal(x.shape), y
    if name == "spirals":
        return _spirals(n, k, noise, rng)
    if name == "xor":
        return _xor(n, noise, rng)
    return _blobs(n, k, noise, rng)


def make_toy(name, n_samples=600, noise=0.1, seed=0, n_classes=None, test_fraction=0.3) -> Dataset:
    """A seeded 2D toy set standardised into [-2, 2]^2 (see ``BOX_2D``).

    ``noise`` is the std of the Gaussian jitter in the generator's unit scale (moons/circles: sklearn's
    ``noise``; blobs: cluster std 0.1 + 2 * noise). ``n_classes`` applies to blobs (default 4),
    gaussian_quantiles (default 2) and spirals (default 2); moons, circles and xor have 2 classes.
    """
    func = "make_toy"
    check_choice(name, "name", func, TOY_DATASETS)
    n_samples = check_int(n_samples, "n_samples", func, low=20, high=1_000_000)
    noise = check_float(noise, "noise", func, low=0.0, high=10.0)
    seed = check_int(seed, "seed", func, low=0)
    test_fraction = check_float(test_fraction, "test_fraction", func, 0.0, 1.0, True, True)
    if name in _DEFAULT_CLASSES:
        k = _DEFAULT_CLASSES[name] if n_classes is None else check_int(n_classes, "n_classes", func, 2, 10)
    elif n_classes not in (None, 2):
        raise ValueError(f"The 'n_classes' parameter of make_toy must be None or 2 for {name!r}. "
                         f"Got {n_classes!r} instead.")
    else:
        k = 2
    x, y = _toy_points(name, n_samples, noise, seed, k)
    spec = {"name": name, "n_samples": n_samples, "noise": noise, "seed": seed,
            "n_classes": n_classes, "test_fraction": test_fraction}
    names = tuple(f"class {c}" for c in range(k))
    return split_dataset(name, standardise_2d(np.asarray(x)), np.asarray(y), seed, test_fraction, names, spec)


def load_digits(seed=0, test_fraction=0.3) -> Dataset:
    """sklearn's 1797 8x8 digits as (1, 8, 8) float32 in [0, 1]; seeded stratified split."""
    from sklearn.datasets import load_digits as sk_digits
    seed = check_int(seed, "seed", "load_digits", low=0)
    test_fraction = check_float(test_fraction, "test_fraction", "load_digits", 0.0, 1.0, True, True)
    bunch = sk_digits()
    x = (bunch.data / 16.0).reshape(-1, 1, 8, 8)  # pixel values are 0..16
    spec = {"name": "digits", "seed": seed, "test_fraction": test_fraction}
    names = tuple(str(d) for d in range(10))
    return split_dataset("digits", x, bunch.target, seed, test_fraction, names, spec)


def default_data_root() -> pathlib.Path:
    """``$CERT_DATA_DIR`` if set, else ``~/.cache/cert_explorer/data``."""
    env = os.environ.get("CERT_DATA_DIR")
    return pathlib.Path(env) if env else pathlib.Path.home() / ".cache" / "cert_explorer" / "data"


def _torchvision_split(cls, root, train, limit):
    try:
        ds = cls(str(root), train=train, download=False)
    except (RuntimeError, OSError):  # torchvision's own text suggests download=True, which this app never does
        name = cls.__name__
        if name == "CIFAR10":
            where = f"{root / 'cifar-10-batches-py'} (the extracted cifar-10-python.tar.gz)"
        else:
            where = f"{root / name / 'raw'} (the IDX files train-images-idx3-ubyte, t10k-labels-idx1-ubyte, ...)"
        raise DatasetUnavailable(
            f"{name} was not found in the folder {root}. Nothing is downloaded: put {where} there, "
            f"or point CERT_DATA_DIR at a folder that has it.") from None
    x = np.asarray(ds.data)[:limit]
    y = np.asarray(ds.targets, dtype=np.int64)[:limit]
    # (N, 28, 28) -> (N, 1, 28, 28); CIFAR (N, 32, 32, 3) -> (N, 3, 32, 32)
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    return (x.astype(np.float32) / 255.0), y


def load_torchvision(name, root=None, max_train=None, max_test=None) -> Dataset:
    """MNIST / FashionMNIST / CIFAR10 from a local folder (``download=False`` only, never downloads).

    ``max_train`` / ``max_test`` keep the first examples of each official split.
    """
    import torchvision.datasets as tvd
    func = "load_torchvision"
    check_choice(name, "name", func, tuple(_TORCHVISION))
    for arg, val in (("max_train", max_train), ("max_test", max_test)):
        if val is not None:
            check_int(val, arg, func, low=1)
    folder = pathlib.Path(root).expanduser() if root is not None else default_data_root()
    cls = getattr(tvd, _TORCHVISION[name])
    x_tr, y_tr = _torchvision_split(cls, folder, True, max_train)
    x_te, y_te = _torchvision_split(cls, folder, False, max_test)
    names = _CLASS_NAMES.get(name, tuple(str(d) for d in range(10)))
    spec = {"name": name, "root": None if root is None else str(root),
            "max_train": max_train, "max_test": max_test}
    return Dataset(name, x_tr, y_tr, x_te, y_te, 10, tuple(x_tr.shape[1:]), names, spec)


def load_dataset(name, **kwargs) -> Dataset:
    """Dispatch on ``name`` over toys, digits, torchvision sets, "csv" (from a path) and "image_folder"."""
    check_choice(name, "name", "load_dataset", TOY_DATASETS + IMAGE_DATASETS + ("csv", "image_folder"))
    if name in TOY_DATASETS:
        return make_toy(name, **kwargs)
    if name == "digits":
        return load_digits(**kwargs)
    if name == "csv":
        return load_csv_spec(**kwargs)
    if name == "image_folder":
        from cert_core.models.image_folder import load_image_folder   # local: imports torchvision
        return load_image_folder(**kwargs)
    return load_torchvision(name, **kwargs)
