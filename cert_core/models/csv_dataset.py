"""A user's 2D dataset from a CSV file with columns ``x1,x2,label`` (header optional), standardised like the toy
sets (``standardise_2d``: centred, max |coord| = 2, inside ``BOX_2D``) and split like them (seeded, stratified).

Labels may be any integers; they are mapped to 0..K-1 in sorted order. Shapes as in ``cert_core.models.data``:
x (N, 2) float32, y (N,) int64. Every problem with the file is a ``DataError`` that names it.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import pathlib

import numpy as np

from cert_core.models.dataset import Dataset, DataError, split_dataset, standardise_2d
from cert_core.validation import check_float, check_int

MIN_CSV_ROWS = 10


def _read_source(source) -> tuple[bytes, str | None]:
    """(raw bytes, path or None) from a path, bytes or a binary/text file-like object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    if isinstance(source, (str, os.PathLike)):
        try:
            return pathlib.Path(source).read_bytes(), str(source)
        except OSError as exc:
            raise DataError(f"could not read CSV file {str(source)!r}: {exc.strerror or exc}") from None
    if hasattr(source, "read"):
        raw = source.read()
        return (raw.encode() if isinstance(raw, str) else bytes(raw)), None
    raise DataError(f"expected a path, bytes or a file-like object, got {type(source).__name__}")


MAX_LABEL = 2**31 - 1      # a CSV label beyond this (1e20) is a mistake, and would not fit int64 exactly anyway


def parse_csv_rows(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``x1,x2,label`` -> points (N, 2) float64 and raw integer labels (N,)."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(f.strip() for f in r)]
    except csv.Error as exc:          # e.g. a field over csv.field_size_limit() (131,072 characters), a NUL byte
        raise DataError(f"the file is not a CSV with columns x1,x2,label (a field over "
                        f"{csv.field_size_limit():,} characters or a NUL byte?): {exc}") from None
    if rows and not _is_number(rows[0][0]):  # a header: its first field is not a number
        rows = rows[1:]
    points, labels = [], []
    for line, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise DataError(f"expected 3 columns x1,x2,label, got {len(row)} in data row {line}")
        try:
            vals = [float(f) for f in row]
        except ValueError:
            raise DataError(f"data row {line} has a value that is not a number: {row}") from None
        if not all(math.isfinite(v) for v in vals):
            raise DataError(f"data row {line} has a NaN or infinite value: {row}")
        if vals[2] != int(vals[2]):
            raise DataError(f"labels must be integers; data row {line} has label {row[2].strip()[:40]!r}")
        if abs(vals[2]) > MAX_LABEL:
            raise DataError(f"labels must be integers within ±{MAX_LABEL:,}; data row {line} has label "
                            f"{row[2].strip()[:40]!r}")
        points.append(vals[:2])
        labels.append(int(vals[2]))
    return np.asarray(points, dtype=np.float64).reshape(-1, 2), np.asarray(labels, dtype=np.int64)


def _is_number(field: str) -> bool:
    try:
        float(field)
        return True
    except ValueError:
        return False


def load_csv(source, seed=0, test_fraction=0.3) -> Dataset:
    """A user 2D dataset from CSV with columns ``x1,x2,label`` (header optional), standardised like the toys.

    Labels may be any integers; they are mapped to 0..K-1 in sorted order and ``class_names`` keeps the
    originals. Needs >= 10 rows, >= 2 classes and >= 2 rows per class. ``spec`` records the file's
    sha256 (and its path when given one), so ``load_dataset(**spec)`` rebuilds it from a path.
    """
    seed = check_int(seed, "seed", "load_csv", low=0)
    test_fraction = check_float(test_fraction, "test_fraction", "load_csv", 0.0, 1.0, True, True)
    raw, path = _read_source(source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("the file is not UTF-8 text; expected a CSV with columns x1,x2,label") from None
    x, labels = parse_csv_rows(text)
    if len(labels) < MIN_CSV_ROWS:
        raise DataError(f"too few rows: need at least {MIN_CSV_ROWS} data rows, got {len(labels)}")
    classes, y, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if len(classes) < 2:
        raise DataError(f"need at least 2 classes, got only label {classes[0]}")
    if counts.min() < 2:
        raise DataError(f"every class needs at least 2 rows; label {classes[counts.argmin()]} has 1")
    spec = {"name": "csv", "source": path, "sha256": hashlib.sha256(raw).hexdigest(),
            "seed": seed, "test_fraction": test_fraction}
    names = tuple(str(c) for c in classes)
    return split_dataset("csv", _standardised_csv(x), y, seed, test_fraction, names, spec)


def _standardised_csv(x: np.ndarray) -> np.ndarray:
    """``standardise_2d`` of finite points whose mean or spread may still overflow (1.7e308 sums to inf, a
    subnormal spread inverts to inf): refused rather than handed on as NaN/inf, which would be "certified"."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = standardise_2d(x)
    if not np.isfinite(out).all():
        raise DataError(f"the coordinates span [{x.min():.4g}, {x.max():.4g}], which cannot be centred and scaled "
                        "in floating point (the arithmetic overflows to infinity); rescale them to a moderate "
                        "range, e.g. values near 1")
    return out


def load_csv_spec(source=None, sha256=None, seed=0, test_fraction=0.3) -> Dataset:
    """``load_dataset(name="csv", ...)``: the CSV again from its path, refused if the file changed (sha256)."""
    if source is None:
        raise DataError("this CSV dataset was loaded from an upload, not a path; load the file again")
    ds = load_csv(source, seed=seed, test_fraction=test_fraction)
    if sha256 is not None and ds.spec["sha256"] != sha256:
        raise DataError(f"the CSV file {source!r} changed since the dataset was recorded (sha256 differs)")
    return ds
