"""Drawn 2D datasets: points clicked into the view's box, carried in a link, and the model trained on them.

A drawing is what a lecturer clicks on the "Draw your data" canvas. It lives in the view's own coordinates
(``BOX_2D`` = [-3, 3]^2) and is *not* centred or scaled (unlike a CSV upload, see ``csv_dataset.load_csv``): the
maps drawn after training show the regions exactly where the points were clicked.

Link format (compact, URL-safe, versioned): every point is snapped to a lattice of step ``GRID_STEP`` over
the box (241 levels per axis, one byte each) and its class (0..5) takes a nibble, so a point costs 2.5 bytes,
about 3.3 base64url characters. ``encode_points`` / ``decode_points`` round-trip a drawing exactly (same
points, same order); ``decode_points`` rejects any other string with ``DrawingError``. A link carries at most
``MAX_LINK_POINTS`` points, which keeps it under ~1.5 kB.

Training is the Models page's noise-augmented training (Cohen et al. 2019, Sec. 3.3; ``train.train_model``)
of a fixed small MLP, seeded, single-threaded with deterministic kernels (as the zoo is built): the same
(drawing, settings) give bit-identical weights on the same machine (CPU), so opening a link retrains the very
model it was made with. Shapes: points (N, 2) float32 in view
coordinates, labels (N,) int64 in 0..K-1.
"""
from __future__ import annotations

import base64
import binascii
import csv
import io
from dataclasses import dataclass

import numpy as np

from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.bundles import LoadedModel
from cert_core.models.csv_dataset import parse_csv_rows
from cert_core.models.data import BOX_2D
from cert_core.models.dataset import standardise_2d
from cert_core.models.dataset import DataError, Dataset
from cert_core.models.train import TrainConfig, TrainResult, deterministic_training, train_model
from cert_core.validation import check_choice, check_float, check_int

VERSION = "1"                       # first character of an encoded drawing
GRID_STEP = 0.025                   # quantisation of a point in a link (view units)
LEVELS = int(round((BOX_2D[1] - BOX_2D[0]) / GRID_STEP)) + 1     # 241 lattice values per axis: one byte
MAX_CLASSES = 6                     # colours as on the maps; a class is one nibble
MAX_LINK_POINTS = 400               # -> at most 1 + ceil(2.5 * 400 * 4 / 3) = 1335 characters in the link
MIN_POINTS_PER_CLASS = 2            # as load_csv asks of a CSV; fewer cannot outline a region
ARCHITECTURE = dict(width=64, depth=3, activation="relu")         # the MLP every drawing trains
LEARNING_RATE = 1e-2                                              # Adam, as on the Models page
BATCH_SIZE = MAX_LINK_POINTS        # one full-batch step per epoch: a link retrains in a few hundred steps
EPOCH_CHOICES = (100, 200, 300, 500)  # full-batch steps; the page offers exactly these
LINK_KEYS = ("draw", "draw_sigma", "draw_epochs", "draw_seed")    # the query parameters of a drawn model


class DrawingError(DataError):
    """A drawing (or its link or CSV) cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Drawing:
    """Points on the lattice, in the order they were drawn: (ix, iy, label), x = BOX_2D[0] + ix * GRID_STEP."""
    cells: tuple[tuple[int, int, int], ...] = ()

    @property
    def points(self) -> np.ndarray:                               # (N, 2) float32, view coordinates
        ij = np.asarray([c[:2] for c in self.cells], dtype=np.float64).reshape(-1, 2)
        return (np.array([BOX_2D[0], BOX_2D[2]]) + ij * GRID_STEP).astype(np.float32)

    @property
    def labels(self) -> np.ndarray:                               # (N,) int64
        return np.asarray([c[2] for c in self.cells], dtype=np.int64)

    def counts(self) -> np.ndarray:
        """Points per class 0..MAX_CLASSES-1."""                  # (MAX_CLASSES,)
        return np.bincount(self.labels, minlength=MAX_CLASSES)[:MAX_CLASSES]

    def add(self, x: float, y: float, label: int) -> Drawing:
        """This drawing plus the point (x, y) of class ``label``, snapped to the lattice."""
        label = check_int(label, "label", "Drawing.add", 0, MAX_CLASSES - 1)
        if len(self.cells) >= MAX_LINK_POINTS:
            raise DrawingError(f"a drawing holds at most {MAX_LINK_POINTS} points (what a link can carry); "
                               "erase some before adding more")
        return Drawing(self.cells + ((*snap(x, y), label),))

    def erase_near(self, x: float, y: float, radius: float) -> Drawing:
        """This drawing without its point nearest to (x, y), if that point lies within ``radius``."""
        if not self.cells:
            return self
        d = np.hypot(*(self.points - np.array([x, y], dtype=np.float32)).T)
        k = int(d.argmin())
        return Drawing(self.cells[:k] + self.cells[k + 1:]) if d[k] <= radius else self


def snap(x: float, y: float) -> tuple[int, int]:
    """Lattice indices (ix, iy) of the point (x, y), clipped into the view's box."""
    x = check_float(x, "x", "snap")
    y = check_float(y, "y", "snap")
    ix = int(np.clip(np.rint((x - BOX_2D[0]) / GRID_STEP), 0, LEVELS - 1))
    iy = int(np.clip(np.rint((y - BOX_2D[2]) / GRID_STEP), 0, LEVELS - 1))
    return ix, iy


def from_points(points: np.ndarray, labels: np.ndarray) -> Drawing:
    """A drawing of ``points`` (N, 2) in view coordinates with labels (N,) in 0..5; off-box points are clipped."""
    points, labels = np.asarray(points, dtype=np.float64).reshape(-1, 2), np.asarray(labels).reshape(-1)
    if len(points) != len(labels) or not np.isfinite(points).all():
        raise DrawingError("points must be finite (N, 2) coordinates with one label each")
    if len(labels) and (labels.min() < 0 or labels.max() >= MAX_CLASSES):
        raise DrawingError(f"a drawing has classes 0..{MAX_CLASSES - 1}; got label {int(labels.max())}")
    if len(labels) > MAX_LINK_POINTS:
        raise DrawingError(f"{len(labels)} points are more than a link can carry ({MAX_LINK_POINTS})")
    return Drawing(tuple((*snap(px, py), int(k)) for (px, py), k in zip(points, labels)))


# ----------------------------------------------------------------------------- the link
def encode_points(drawing: Drawing) -> str:
    """The drawing as ``VERSION`` + base64url (no padding) of [ix bytes][iy bytes][label nibbles]."""
    cells = np.asarray(drawing.cells, dtype=np.uint8).reshape(-1, 3)
    nibbles = np.append(cells[:, 2], np.uint8(0))[:len(cells) + len(cells) % 2].reshape(-1, 2)
    packed = (nibbles[:, 0] << 4) | nibbles[:, 1]
    raw = cells[:, 0].tobytes() + cells[:, 1].tobytes() + packed.astype(np.uint8).tobytes()
    return VERSION + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_points(text) -> Drawing:
    """The drawing ``encode_points`` wrote; ``DrawingError`` (never another exception) for any other input."""
    if not isinstance(text, str) or not text.startswith(VERSION):
        raise DrawingError(f"drawn points start with the format version {VERSION!r}; this is not an encoded drawing")
    body = text[len(VERSION):]
    if len(body) > 4 * MAX_LINK_POINTS or not all(c.isascii() and (c.isalnum() or c in "-_") for c in body):
        raise DrawingError(f"drawn points are at most {MAX_LINK_POINTS} points of URL-safe base64 "
                           "(letters, digits, - and _)")
    try:
        raw = np.frombuffer(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), dtype=np.uint8)
    except (binascii.Error, ValueError):
        raise DrawingError("the drawn points are not valid base64 (was the link cut short?)") from None
    n = 2 * len(raw) // 5
    if 2 * len(raw) != 5 * n + n % 2:
        raise DrawingError("the drawn points have a length no drawing has (was the link cut short?)")
    nibbles = np.stack([raw[2 * n:] >> 4, raw[2 * n:] & 15], 1).ravel()
    if n % 2 and nibbles[-1]:
        raise DrawingError("the drawn points end in stray bits (was the link edited?)")
    ix, iy, labels = raw[:n], raw[n:2 * n], nibbles[:n]
    if n and (max(ix.max(), iy.max()) >= LEVELS or labels.max() >= MAX_CLASSES):
        raise DrawingError(f"a drawn point lies outside the view or has a class over {MAX_CLASSES - 1}")
    return Drawing(tuple(zip(ix.tolist(), iy.tolist(), labels.tolist())))


@dataclass(frozen=True)
class DrawnTraining:
    """How a drawing is trained (and what its link says besides the points)."""
    sigma_train: float = 0.25       # std of the Gaussian noise added to every batch
    epochs: int = 300               # passes over the drawn points
    seed: int = 0                   # initial weights, shuffling and noise

    def __post_init__(self):
        check_float(self.sigma_train, "sigma_train", "DrawnTraining", 0.0, 1.0)
        check_choice(check_int(self.epochs, "epochs", "DrawnTraining"), "epochs", "DrawnTraining", EPOCH_CHOICES)
        check_int(self.seed, "seed", "DrawnTraining", 0, 10_000)


def link_params(drawing: Drawing, training: DrawnTraining) -> dict[str, str]:
    """The query parameters that rebuild this drawn model (``LINK_KEYS``)."""
    return dict(zip(LINK_KEYS, (encode_points(drawing), f"{training.sigma_train:g}", str(training.epochs),
                                str(training.seed))))


def from_link(params) -> tuple[Drawing, DrawnTraining]:
    """(drawing, training) from a link's query parameters; ``DrawingError`` naming the first bad one."""
    drawing = decode_points(params.get("draw"))
    values = []
    for key, kind in zip(LINK_KEYS[1:], (float, int, int)):
        raw = params.get(key)
        try:
            values.append(kind(raw))
        except (TypeError, ValueError, OverflowError):
            raise DrawingError(f"the link's {key} is missing or not a number") from None
    try:
        training = DrawnTraining(*values)
    except ValueError as exc:
        raise DrawingError(f"the link's training settings cannot be used: {exc}") from None
    check_trainable(drawing)
    return drawing, training


# ----------------------------------------------------------------------------- limits, data, training
def check_trainable(drawing: Drawing) -> None:
    """``DrawingError`` unless the drawing has 2..6 consecutive classes from 0, each with enough points."""
    counts = drawing.counts()
    used = np.flatnonzero(counts)
    if len(drawing.cells) > MAX_LINK_POINTS:
        raise DrawingError(f"{len(drawing.cells)} points are more than a link can carry ({MAX_LINK_POINTS})")
    if len(used) < 2:
        only = f"only class {int(used[0])}" if len(used) else "no points"
        raise DrawingError(f"a classifier needs at least two classes; the drawing has {only}")
    missing = [k for k in range(used.max() + 1) if counts[k] == 0]
    if missing:
        raise DrawingError(f"class {missing[0]} has no points, but class {int(used.max())} has: classes are numbered "
                           f"from 0 without gaps, so draw class {missing[0]} or move those points to it")
    few = [int(k) for k in used if counts[k] < MIN_POINTS_PER_CLASS]
    if few:
        n = int(counts[few[0]])
        raise DrawingError(f"class {few[0]} has {n} point{'' if n == 1 else 's'}; every class needs at least "
                           f"{MIN_POINTS_PER_CLASS}")


def to_dataset(drawing: Drawing) -> Dataset:
    """Every drawn point both trains and evaluates (a drawing is too small to hold points out); no rescaling."""
    check_trainable(drawing)
    x, y = drawing.points, drawing.labels
    k = int(y.max()) + 1
    spec = {"name": "drawn", "points": encode_points(drawing)}
    return Dataset("drawn", x, y, x.copy(), y.copy(), k, (2,), tuple(f"class {c}" for c in range(k)), spec)


def train_drawn(drawing: Drawing, training: DrawnTraining, progress=None) -> tuple[LoadedModel, TrainResult]:
    """The ``ARCHITECTURE`` MLP trained on the drawing with noise augmentation, on CPU, seeded.

    Deterministic: the same (drawing, training) give bit-identical weights on the same machine.
    ``progress(epoch, epochs, loss)`` as in ``train_model``. Raises ``DrawingError`` for an untrainable drawing.
    """
    data = to_dataset(drawing)
    config = ModelConfig("mlp", (2,), data.num_classes, **ARCHITECTURE)
    model = build_model(config, seed=training.seed)
    with deterministic_training():   # bit-identical on any core count, and far faster for a tiny MLP
        result = train_model(model, data, TrainConfig(training.epochs, LEARNING_RATE, BATCH_SIZE,
                                                      training.sigma_train, 0.0, training.seed), progress)
    label = f"drawn-mlp-s{training.sigma_train:g}"
    metadata = {"name": label, "description": f"MLP {config.width}×{config.depth} ({config.activation}) trained "
                f"on {len(drawing.cells)} drawn points, σ_train = {training.sigma_train:g}", "dataset": data.spec,
                "class_names": list(data.class_names), "sigma_train": training.sigma_train,
                "accuracy": result.train_accuracy, "train_accuracy": result.train_accuracy, "seed": training.seed,
                "train": {"epochs": training.epochs, "lr": LEARNING_RATE, "sigma_train": training.sigma_train,
                          "seed": training.seed},
                "link": link_params(drawing, training)}
    return LoadedModel(model.eval(), config, metadata), result


# ----------------------------------------------------------------------------- CSV, the format load_csv reads
def to_csv(drawing: Drawing) -> str:
    """Rows ``x1,x2,label`` in view coordinates (``load_csv`` and ``from_csv`` read them back)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("x1", "x2", "label"))
    for (px, py), k in zip(drawing.points.astype(np.float64), drawing.labels):
        writer.writerow((f"{px:.3f}", f"{py:.3f}", int(k)))
    return out.getvalue()


def from_csv(text: str) -> tuple[Drawing, str]:
    """A drawing from CSV rows ``x1,x2,label`` and a note on what was changed.

    Points inside the view's box are kept where they are (so ``to_csv`` round-trips); a file with points
    outside it is centred and scaled like ``load_csv`` (``standardise_2d``). Labels are mapped to 0..K-1 in
    sorted order, like ``load_csv``. Points are snapped to the link's lattice.
    """
    x, raw_labels = parse_csv_rows(text)
    if not len(raw_labels):
        raise DrawingError("the CSV has no data rows x1,x2,label")
    classes, labels = np.unique(raw_labels, return_inverse=True)
    if len(classes) > MAX_CLASSES:
        raise DrawingError(f"the CSV has {len(classes)} labels; a drawing has at most {MAX_CLASSES} classes")
    notes = [] if np.array_equal(classes, np.arange(len(classes))) else [
        f"labels {', '.join(str(c) for c in classes)} became classes 0..{len(classes) - 1}"]
    lo, hi = np.array(BOX_2D[0::2]), np.array(BOX_2D[1::2])
    if not ((x >= lo) & (x <= hi)).all():
        with np.errstate(all="ignore"):
            x = standardise_2d(x)
        if not np.isfinite(x).all():
            raise DrawingError("the coordinates cannot be centred and scaled in floating point; rescale them")
        notes.append("points outside the view were centred and scaled into [−2, 2]² (as a CSV upload is)")
    notes.append(f"points snapped to the link's {GRID_STEP:g} grid")
    return from_points(x, labels), "; ".join(notes).capitalize() + "."
