"""Fuzzing the three upload loaders with ~300 seeded bad files (security issue, last item).

``load_model`` (model files), ``load_csv`` (CSV datasets) and ``load_npz`` (run inputs) each get ~100 generated
inputs: mutations of a valid file (bit flips, truncations, inserted bytes, zip entries swapped or duplicated,
declared sizes changed), random bytes, valid zips with wrong content, pickles whose ``__reduce__`` would write a
file, odd numbers and encodings. The whole loop runs in a child process (this file run as a script) under an
address-space limit, so an allocation bomb fails there and not on the machine. Every input must end as

* a clear error: the loader's documented exception, with no traceback text in its message, or
* a success that is structurally valid (a model giving finite (1, K) scores on a zero input, a dataset with
  finite coordinates and labels in range, finite arrays of matching lengths),

within a per-input time limit, and nothing may be written outside the child's temporary folder (a Python audit
hook records every file opened for writing; the pickles and the TorchScript archive aim at a sentinel outside it).
``pytest -s`` prints the summary: inputs tried, clear errors, tracebacks, hangs, silent wrong results, peak memory.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import random
import resource
import signal
import struct
import subprocess
import sys
import time
import warnings
import zipfile

SEED = 20261201
PER_INPUT_LIMIT_S = 10.0          # a limit against hangs, not a timing assertion
MEMORY_LIMIT = 3 * 2**30          # address space the child may add on top of what its imports take
NPZ_SHAPE = (1, 4, 4)


# ------------------------------------------------------------------------------------------ generic mutations
def _bit_flips(rng, data, n):
    b = bytearray(data)
    for _ in range(n):
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def _mutations(rng, name, data, count):
    """``count`` byte-level mutations of ``data``: (description, bytes)."""
    out = []
    kinds = ("flip1", "flip8", "flip64", "truncate", "insert", "delete", "overwrite", "duplicate-tail")
    for i in range(count):
        kind = kinds[i % len(kinds)]
        if kind.startswith("flip"):
            m = _bit_flips(rng, data, int(kind[4:]))
        elif kind == "truncate":
            m = data[:rng.randrange(len(data))]
        elif kind == "insert":
            at = rng.randrange(len(data))
            m = data[:at] + rng.randbytes(rng.randrange(1, 300)) + data[at:]
        elif kind == "delete":
            at = rng.randrange(len(data))
            m = data[:at] + data[at + rng.randrange(1, 200):]
        elif kind == "overwrite":
            at = rng.randrange(len(data))
            m = data[:at] + bytes([rng.choice((0, 0xFF, 0x7F, 0x80))]) * rng.randrange(1, 64) + data[at + 64:]
        else:
            at = rng.randrange(len(data))
            m = data + data[at:]
        out.append((f"{name}: {kind} #{i}", m))
    return out


def _rezip(data, transform, compression=zipfile.ZIP_STORED):
    """The zip ``data`` with its (name, bytes) entries passed through ``transform``."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        entries = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as dst:
        for name, body in transform(entries):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")     # duplicate names warn
                dst.writestr(name, body)
    return buf.getvalue()


def _zip_structure(rng, name, data):
    """Zip-level mutations: entries swapped, duplicated, dropped, bodies swapped, declared sizes changed."""
    out = [
        (f"{name}: entries reversed", _rezip(data, lambda e: e[::-1])),
        (f"{name}: first entry duplicated", _rezip(data, lambda e: [e[0]] + e)),
        (f"{name}: last entry duplicated with other bytes", _rezip(data, lambda e: e + [(e[-1][0], b"junk")])),
        (f"{name}: every entry deflated", _rezip(data, lambda e: e, zipfile.ZIP_DEFLATED)),
        (f"{name}: first entry dropped", _rezip(data, lambda e: e[1:])),
        (f"{name}: last entry dropped", _rezip(data, lambda e: e[:-1])),
        (f"{name}: bodies rotated", _rezip(data, lambda e: [(n, e[(i + 1) % len(e)][1]) for i, (n, _) in enumerate(e)])),
        (f"{name}: entries renamed", _rezip(data, lambda e: [(n.upper(), b) for n, b in e])),
        (f"{name}: bodies emptied", _rezip(data, lambda e: [(n, b"") for n, _ in e])),
        (f"{name}: bodies random", _rezip(data, lambda e: [(n, rng.randbytes(len(b))) for n, b in e])),
    ]
    for label, value in (("0", 0), ("1", 1), ("huge", 0xFFFFFFFF), ("2 GiB", 2**31), ("random", None)):
        b = bytearray(data)
        for field in (20, 24):                       # central directory: compressed size, uncompressed size
            pos = b.find(b"PK\x01\x02")
            while pos >= 0:
                v = rng.randrange(2**32) if value is None else value
                b[pos + field:pos + field + 4] = struct.pack("<I", v)
                pos = b.find(b"PK\x01\x02", pos + 4)
        out.append((f"{name}: central directory sizes set to {label}", bytes(b)))
    b = bytearray(data)
    pos = b.find(b"PK\x01\x02")                     # general-purpose flag bit 11 (UTF-8 name), a name that is not
    b[pos + 9] |= 0x08
    b[pos + 46] = 0xAE
    out.append((f"{name}: entry name flagged UTF-8 but not UTF-8", bytes(b)))
    b = bytearray(data)
    pos = b.find(b"PK\x03\x04")
    while pos >= 0:                                  # local headers' sizes, central directory left alone
        b[pos + 22:pos + 26] = struct.pack("<I", rng.randrange(2**20))
        pos = b.find(b"PK\x03\x04", pos + 4)
    out.append((f"{name}: local header sizes random", bytes(b)))
    return out


class _WritesSentinel:
    """A pickle payload: unpickling it would create ``path`` (open(path, 'w')). It must never run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _plain_zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in entries:
            z.writestr(name, body)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ model files
def model_inputs(rng, sentinel):
    import torch
    from cert_core.models.architectures import ModelConfig, build_model, config_dict
    from cert_core.models.bundles import BUNDLE_FORMAT, bundle_bytes

    mlp = ModelConfig("mlp", (2,), 3, width=8, depth=2)
    cnn = ModelConfig("cnn", (1, 8, 8), 4, width=2, depth=1)
    good = {"mlp": bundle_bytes(build_model(mlp, seed=0), mlp, {"name": "m"}),
            "cnn": bundle_bytes(build_model(cnn, seed=0), cnn, {"name": "c"})}

    def saved(obj):
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    def payload(**change):
        p = {"format": BUNDLE_FORMAT, "config": config_dict(mlp),
             "state_dict": build_model(mlp, seed=0).state_dict(), "metadata": {}}
        p.update(change)
        return saved(p)

    out = [("valid mlp bundle", good["mlp"]), ("valid cnn bundle", good["cnn"])]
    out += _mutations(rng, "mlp bundle", good["mlp"], 24) + _mutations(rng, "cnn bundle", good["cnn"], 16)
    out += _zip_structure(rng, "mlp bundle", good["mlp"])
    writer = _WritesSentinel(sentinel)
    out += [
        ("raw pickle whose __reduce__ writes a file", pickle.dumps(writer)),
        ("raw pickle protocol 0 whose __reduce__ writes a file", pickle.dumps(writer, protocol=0)),
        ("torch.save of an object whose __reduce__ writes a file", saved(writer)),
        ("bundle whose metadata holds a file-writing pickle", payload(metadata={"x": writer})),
        ("bundle whose config holds a file-writing pickle", payload(config=writer)),
        ("legacy-format bundle", (lambda b: (torch.save({"format": BUNDLE_FORMAT}, b,
                                                        _use_new_zipfile_serialization=False), b.getvalue())[1])(io.BytesIO())),
        ("bare state dict", saved(build_model(mlp).state_dict())),
        ("a tensor", saved(torch.zeros(3))),
        ("a list", saved([1, 2, 3])),
        ("wrong format tag", payload(format="cert-explorer-bundle/99")),
        ("format tag not a string", payload(format=1)),
        ("config None", payload(config=None)),
        ("config a list", payload(config=[1, 2])),
        ("config negative width", payload(config=config_dict(mlp) | {"width": -4})),
        ("config zero depth", payload(config=config_dict(mlp) | {"depth": 0})),
        ("config huge input shape", payload(config=config_dict(mlp) | {"input_shape": (10**9, 10**9)})),
        ("config input shape with zero", payload(config=config_dict(mlp) | {"input_shape": (0,)})),
        ("config input shape negative", payload(config=config_dict(mlp) | {"input_shape": (-2,)})),
        ("config input shape a string", payload(config=config_dict(mlp) | {"input_shape": "ab"})),
        ("config num_classes float", payload(config=config_dict(mlp) | {"num_classes": 3.5})),
        ("config num_classes bool", payload(config=config_dict(mlp) | {"num_classes": True})),
        ("config num_classes huge", payload(config=config_dict(mlp) | {"num_classes": 10**12})),
        ("config width huge", payload(config=config_dict(mlp) | {"width": 2**40})),
        ("config unknown arch", payload(config=config_dict(mlp) | {"arch": "x" * 1000})),
        ("config mean/std with zero std", payload(config=config_dict(mlp) | {"mean": (0.0, 0.0), "std": (0.0, 1.0)})),
        ("config mean NaN", payload(config=config_dict(mlp) | {"mean": (float("nan"), 0.0), "std": (1.0, 1.0)})),
        ("config std inf", payload(config=config_dict(mlp) | {"mean": (0.0, 0.0), "std": (float("inf"), 1.0)})),
        ("config unknown activation", payload(config=config_dict(mlp) | {"activation": "gelu"})),
        ("state_dict None", payload(state_dict=None)),
        ("state_dict of lists", payload(state_dict={k: v.tolist() for k, v in build_model(mlp).state_dict().items()})),
        ("state_dict half precision", payload(state_dict={k: v.half() for k, v in build_model(mlp).state_dict().items()})),
        ("state_dict float64 huge values", payload(state_dict={k: v.double() * 1e300 for k, v in build_model(mlp).state_dict().items()})),
        ("state_dict sparse", payload(state_dict={k: v.to_sparse() for k, v in build_model(mlp).state_dict().items()})),
        ("state_dict non-contiguous", payload(state_dict={k: (v.t().contiguous().t() if v.dim() == 2 else v)
                                                          for k, v in build_model(mlp).state_dict().items()})),
        ("state_dict a NaN bias", payload(state_dict=build_model(mlp).state_dict() | {"1.bias": torch.full((8,), float("nan"))})),
        ("metadata a list", payload(metadata=[1, 2])),
        ("metadata a tensor", payload(metadata={"t": torch.zeros(2)})),
        ("zip with data.pkl of random bytes", _plain_zip([("archive/data.pkl", rng.randbytes(200))])),
        ("zip with data.pkl of text", _plain_zip([("archive/data.pkl", b"not a pickle")])),
        ("zip with data.pkl a raw file-writing pickle", _plain_zip([("archive/data.pkl", pickle.dumps(writer)),
                                                                  ("archive/version", b"3\n")])),
        ("zip of a CSV", _plain_zip([("data.csv", b"1,2,0\n")])),
        ("empty zip", _plain_zip([])),
        ("zip with constants.pkl only", _plain_zip([("archive/constants.pkl", b"\x80\x02N.")])),
        ("empty file", b""),
        ("PNG header", b"\x89PNG\r\n\x1a\n" + rng.randbytes(100)),
        ("text", b"def forward(x): return x\n"),
        ("a lone zip local header", b"PK\x03\x04" + b"\0" * 40),
    ]
    out += [(f"random bytes #{i}", rng.randbytes(rng.randrange(1, 4096))) for i in range(6)]
    import hostile_kit                     # a TorchScript archive that would write the sentinel as it loads
    out.append(("TorchScript whose __setstate__ writes a file (untrusted)",
                hostile_kit.archive(hostile_kit.SetstateWriter(sentinel))))
    return [(d, b, {"as_path": i % 5 == 0}) for i, (d, b) in enumerate(out)]


def check_model(loaded):
    import torch
    from cert_core.models.bundles import LoadedModel
    if not isinstance(loaded, LoadedModel) or loaded.config is None:
        return "not a bundle LoadedModel"
    with torch.no_grad():
        scores = loaded.model(torch.zeros(1, *loaded.input_shape))
    if tuple(scores.shape) != (1, loaded.num_classes) or not torch.isfinite(scores).all():
        return f"scores {tuple(scores.shape)} finite={bool(torch.isfinite(scores).all())}"
    return None


# ------------------------------------------------------------------------------------------ CSVs
def csv_inputs(rng):
    rows = [f"{rng.uniform(-5, 5):.6f},{rng.uniform(-5, 5):.6f},{i % 2}" for i in range(30)]
    good = ("x1,x2,label\n" + "\n".join(rows) + "\n").encode()

    def body(values):
        return "\n".join(",".join(map(str, r)) for r in values).encode()

    def with_row(row):
        return ("\n".join(rows[:15] + [row] + rows[15:]) + "\n").encode()

    out = [("valid csv", good)]
    out += _mutations(rng, "csv", good, 32)
    for bad in ("nan", "inf", "-inf", "NaN", "1e309", "-1e400", "1.7e308", "1e-320", "0x10", "1_000", "", " ",
                "１２", "١", "1,5", "'3'", "1e5000000", "9" * 400, "+-1", "∞", "None", "true"):
        out.append((f"coordinate {bad!r}", with_row(f"{bad},1.0,0")))
    for bad in ("1.5", "1e20", "-1e20", "2147483648", "-2147483648", "nan", "inf", "a", "1e308", "0.9999999999999999999"):
        out.append((f"label {bad!r}", with_row(f"1.0,1.0,{bad}")))
    out += [
        ("all coordinates 1.7e308", body([(1.7e308, -1.7e308, i % 2) for i in range(12)])),
        ("all coordinates subnormal", body([(5e-324 * (i % 3), 0.0, i % 2) for i in range(12)])),
        ("all points equal", body([(1.0, 1.0, i % 2) for i in range(12)])),
        ("one class", body([(i, i, 7) for i in range(12)])),
        ("a class of one row", body([(i, i, int(i == 0)) for i in range(12)])),
        ("too few rows", body([(i, i, i % 2) for i in range(5)])),
        ("1000 classes of 2 rows", body([(i, -i, i // 2) for i in range(2000)])),
        ("huge labels", body([(i, i, (i % 2) * (2**31 - 1)) for i in range(12)])),
        ("negative labels", body([(i, i, -(i % 3)) for i in range(12)])),
        ("two columns", body([(i, i % 2) for i in range(12)])),
        ("four columns", body([(i, i, i, i % 2) for i in range(12)])),
        ("mixed column counts", good + b"1,2\n3,4,5,6\n"),
        ("huge field (200 KB)", with_row("1" * 200_000 + ",1,0")),
        ("huge quoted field with newlines", with_row('"' + "a\n" * 60_000 + '",1,0')),
        ("unterminated quote", with_row('"1.0,1.0,0')),
        ("NUL byte", with_row("1.0\x00,1.0,0")),
        ("latin-1 header", "x1,x²,étiquette\n".encode("latin-1") + good.split(b"\n", 1)[1]),
        ("utf-16", good.decode().encode("utf-16")),
        ("utf-8 BOM", b"\xef\xbb\xbf" + good),
        ("CR line endings", good.replace(b"\n", b"\r")),
        ("CRLF line endings", good.replace(b"\n", b"\r\n")),
        ("semicolon separated", good.replace(b",", b";")),
        ("tab separated", good.replace(b",", b"\t")),
        ("only a header", b"x1,x2,label\n"),
        ("empty", b""),
        ("blank lines only", b"\n\n \n\t\n"),
        ("200,000 blank-ish lines", b",,\n" * 100_000),
        ("quoted numbers", good.replace(b",", b'","')),
        ("a pickle", pickle.dumps(_WritesSentinel("never"))),
        ("a zip", _plain_zip([("a.csv", good)])),
        ("invalid utf-8 mid-file", good[:200] + b"\xff\xfe" + good[200:]),
    ]
    out += [(f"random bytes #{i}", rng.randbytes(rng.randrange(1, 2048))) for i in range(4)]
    out += [(f"random printable #{i}", bytes(rng.choice(b"0123456789.,-+e\n naif") for _ in range(rng.randrange(1, 3000))))
            for i in range(6)]
    return [(d, b, {"as_path": i % 5 == 0}) for i, (d, b) in enumerate(out)]


def check_csv(ds):
    import numpy as np
    from cert_core.models.dataset import Dataset
    if not isinstance(ds, Dataset):
        return "not a Dataset"
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != 2 or len(x) != len(y):
            return f"x {x.dtype} {x.shape}, y {y.shape}"
        if not np.isfinite(x).all() or np.abs(x).max(initial=0) > 2.0001:
            return "coordinates not finite or outside [-2, 2]"
        if y.dtype != np.int64 or (len(y) and (y.min() < 0 or y.max() >= ds.num_classes)):
            return "labels out of range"
    if ds.num_classes < 2 or len(ds.class_names) != ds.num_classes or ds.input_shape != (2,):
        return "inconsistent classes or shape"
    return None


# ------------------------------------------------------------------------------------------ .npz archives
def npz_inputs(rng, sentinel):
    import numpy as np
    gen = np.random.default_rng(rng.randrange(2**32))

    def npz(compressed=False, **arrays):
        buf = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(buf, **arrays)
        return buf.getvalue()

    x = gen.random((6, *NPZ_SHAPE)).astype(np.float32)
    y = np.arange(6) % 2
    good = npz(x=x, y=y)
    out = [("valid npz", good), ("valid npz, uint8 HWC", npz(images=(gen.random((6, 4, 4, 1)) * 255).astype(np.uint8),
                                                           labels=y))]
    out += _mutations(rng, "npz", good, 24)
    out += _zip_structure(rng, "npz", good)
    obj = np.empty(2, dtype=object)
    obj[:] = [_WritesSentinel(sentinel), None]
    out += [
        ("object x holding a file-writing pickle", npz(x=obj, y=np.array([0, 1]))),
        ("object y holding a file-writing pickle", npz(x=x[:2], y=obj)),
        ("raw pickle whose __reduce__ writes a file", pickle.dumps(_WritesSentinel(sentinel))),
        ("a single .npy", (lambda b: (np.save(b, x), b.getvalue())[1])(io.BytesIO())),
        ("complex x", npz(x=x.astype(np.complex64), y=y)),
        ("string x", npz(x=np.array([["a"]] * 6), y=y)),
        ("bytes x", npz(x=np.array([[b"a"]] * 6), y=y)),
        ("structured x", npz(x=np.zeros((6, 2), dtype=[("a", "f4"), ("b", "i4")]), y=y)),
        ("datetime x", npz(x=np.zeros((6, 2), dtype="datetime64[s]"), y=y)),
        ("float16 x", npz(x=x.astype(np.float16), y=y)),
        ("float64 x beyond float32", npz(x=x.astype(np.float64) * 1e300, y=y)),
        ("longdouble x", npz(x=x.astype(np.longdouble), y=y)),
        ("bool x", npz(x=x > 0.5, y=y)),
        ("int64 x huge", npz(x=np.full((6, *NPZ_SHAPE), 2**62, np.int64), y=y)),
        ("NaN x", npz(x=np.where(x > 0.5, np.nan, x), y=y)),
        ("inf x", npz(x=np.where(x > 0.5, np.inf, x), y=y)),
        ("float y", npz(x=x, y=y.astype(np.float32))),
        ("float y with NaN", npz(x=x, y=np.full(6, np.nan))),
        ("bool y", npz(x=x, y=y.astype(bool))),
        ("uint64 y huge", npz(x=x, y=np.full(6, 2**64 - 1, np.uint64))),
        ("negative y", npz(x=x, y=-y - 1)),
        ("2-d y", npz(x=x, y=y[:, None])),
        ("scalar y", npz(x=x, y=np.int64(1))),
        ("lengths differ", npz(x=x, y=y[:5])),
        ("zero examples", npz(x=x[:0], y=y[:0])),
        ("1-d x", npz(x=np.arange(6.0), y=y)),
        ("scalar x", npz(x=np.float32(1), y=y)),
        ("x (N, 4, 4)", npz(x=x[:, 0], y=y)),
        ("x (N, 4, 4, 1)", npz(x=x.transpose(0, 2, 3, 1), y=y)),
        ("x (N, 5, 5)", npz(x=gen.random((6, 5, 5)), y=y)),
        ("x (N, 1, 4, 4, 1)", npz(x=x[..., None], y=y)),
        ("x (N, 16)", npz(x=x.reshape(6, 16), y=y)),
        ("x with a zero dimension", npz(x=np.zeros((6, 0, 4, 4)), y=y)),
        ("Fortran-order x", npz(x=np.asfortranarray(x), y=y)),
        ("big-endian x", npz(x=x.astype(">f4"), y=y.astype(">i8"))),
        ("extra arrays", npz(x=x, y=y, z=obj, w=np.zeros(3))),
        ("only x", npz(x=x)),
        ("only y", npz(y=y)),
        ("keys x_test/y_test", npz(x_test=x, y_test=y)),
        ("keys X/Y", npz(X=x, Y=y)),
        ("two pairs, one bad", npz(x=x, y=y, images=obj, labels=obj)),
        ("no arrays", npz()),
        ("compressed zeros declaring 64 MiB", npz(True, x=np.zeros((2**22, 1, 2, 2), np.float32),
                                                 y=np.zeros(2**22, np.int64))),
        ("compressed zeros declaring 600 MiB", npz(True, x=np.zeros((2**24, 1, 3, 3), np.uint8), y=np.zeros(2**24, np.int8))),
        ("zip of a CSV", _plain_zip([("x.csv", b"1,2\n")])),
        ("zip with x.npy random bytes", _plain_zip([("x.npy", rng.randbytes(300)), ("y.npy", rng.randbytes(100))])),
        ("npy header: shape 10**12", _plain_zip([("x.npy", _npy_header("<f4", (10**12, 1, 4, 4))),
                                                 ("y.npy", _npy_header("<i8", (10**12,)))])),
        ("npy header: data missing", _plain_zip([("x.npy", _npy_header("<f4", (6, 1, 4, 4))),
                                                 ("y.npy", _npy_header("<i8", (6,)))])),
        ("npy header: garbled dict", _plain_zip([("x.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': }      \n"),
                                                 ("y.npy", b"\x93NUMPY\x01\x00")])),
        ("npy header: version 9", _plain_zip([("x.npy", b"\x93NUMPY\x09\x00" + rng.randbytes(80)),
                                              ("y.npy", b"\x93NUMPY\x09\x00" + rng.randbytes(80))])),
        ("npy header: code in descr", _plain_zip([("x.npy", b"\x93NUMPY\x01\x00\x46\x00{'descr': __import__('os').system('x'), "
                                                            b"'fortran_order': False, 'shape': (6,), }       \n"),
                                                  ("y.npy", b"")])),
        ("encrypted-flag zip", _encrypted_flag(good)),
        ("empty zip (end record only)", b"PK\x05\x06" + b"\0" * 18),
        ("empty file", b""),
        ("text", b"x,y\n1,2\n"),
    ]
    out += [(f"random bytes #{i}", rng.randbytes(rng.randrange(1, 4096))) for i in range(3)]
    out += [(f"PK + random bytes #{i}", b"PK\x03\x04" + rng.randbytes(rng.randrange(1, 4096))) for i in range(3)]
    return [(d, b, {"as_path": i % 5 == 0}) for i, (d, b) in enumerate(out)]


def _npy_header(descr, shape):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _encrypted_flag(data):
    b = bytearray(data)
    for magic, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = b.find(magic)
        while pos >= 0:
            b[pos + flag_at] |= 1
            pos = b.find(magic, pos + 4)
    return bytes(b)


def check_npz(result):
    import numpy as np
    x, y = result
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
        return "not arrays"
    if x.dtype != np.float32 or x.shape[1:] != NPZ_SHAPE or y.dtype != np.int64 or y.shape != (len(x),) or len(x) == 0:
        return f"x {x.dtype} {x.shape}, y {y.dtype} {y.shape}"
    if not np.isfinite(x).all():
        return "x not finite"
    return None


# ------------------------------------------------------------------------------------------ the child process
class _Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Hang()


def _peak_rss_reset():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")            # resets VmHWM, so each input's own peak can be read
        return True
    except OSError:
        return False


def _peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(workdir, sentinel):
    """Generate every input, load it here under the memory limit, print the JSON summary."""
    import torch                # imports first: their address space is not counted against the inputs
    from cert_core.models.bundles import ModelLoadError, load_model
    from cert_core.models.csv_dataset import load_csv
    from cert_core.models.dataset import DataError
    from cert_core.runs.inputs import load_npz
    torch.set_num_threads(1)

    writes_outside = []
    root = os.path.realpath(workdir)

    def audit(event, args):
        if event == "open" and args[0] is not None and not isinstance(args[0], int):
            mode, flags = args[1], args[2]
            writing = (mode is not None and any(c in mode for c in "wax+")) or \
                      (mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            path = os.path.realpath(os.fsdecode(args[0]))
            if writing and not path.startswith(root + os.sep) and path not in ("/proc/self/clear_refs", "/dev/null") \
                    and not path.startswith(f"/proc/{os.getpid()}/"):
                writes_outside.append(path)
        elif event in ("os.mkdir", "os.rename", "os.symlink", "os.link", "os.remove", "shutil.rmtree"):
            path = os.path.realpath(os.fsdecode(args[0]))
            if not path.startswith(root + os.sep):
                writes_outside.append(f"{event} {path}")

    rng = random.Random(SEED)
    loaders = {
        "load_model": (model_inputs(rng, sentinel), lambda src: load_model(src), ModelLoadError, check_model),
        "load_csv": (csv_inputs(rng), lambda src: load_csv(src), DataError, check_csv),
        "load_npz": (npz_inputs(rng, sentinel), lambda src: load_npz(src, NPZ_SHAPE), ValueError, check_npz),
    }
    sys.addaudithook(audit)
    vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (vm + MEMORY_LIMIT, vm + MEMORY_LIMIT))
    signal.signal(signal.SIGALRM, _on_alarm)
    baseline = _peak_rss_mib()
    summary = {"memory_limit_gib": MEMORY_LIMIT / 2**30, "rss_before_mib": round(baseline, 1), "loaders": {},
               "failures": [], "max_seconds": 0.0, "slowest": None, "worst_memory": None}
    worst_mib = 0.0
    for name, (inputs, load, expected, check) in loaders.items():
        counts = dict(inputs=len(inputs), clear_errors=0, successes=0, tracebacks=0, other_exceptions=0, hangs=0,
                      silent_wrong=0, max_input_kib=round(max(len(b) for _, b, _ in inputs) / 1024, 1))
        for i, (desc, data, opts) in enumerate(inputs):
            if opts["as_path"]:
                src = os.path.join(workdir, f"{name}-{i}.bin")
                with open(src, "wb") as f:
                    f.write(data)
            else:
                src = data if name != "load_npz" else io.BytesIO(data)
            _peak_rss_reset()
            start = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, PER_INPUT_LIMIT_S)
            outcome = None
            try:
                try:
                    result = load(src)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                problem = check(result)
                if problem is None:
                    counts["successes"] += 1
                else:
                    counts["silent_wrong"] += 1
                    outcome = f"silent wrong result: {problem}"
            except _Hang:
                counts["hangs"] += 1
                outcome = "hang"
            except expected as exc:
                tb = exc.__traceback__
                while tb.tb_next is not None:
                    tb = tb.tb_next
                raised_in = tb.tb_frame.f_code.co_filename
                if "Traceback" in str(exc) or 'File "' in str(exc):
                    counts["tracebacks"] += 1
                    outcome = f"traceback in message: {str(exc)[:300]}"
                elif os.sep + "cert_core" + os.sep not in raised_in:     # e.g. a ValueError leaking from numpy
                    counts["other_exceptions"] += 1
                    outcome = f"{type(exc).__name__} raised in {raised_in}, not by the loader: {str(exc)[:300]}"
                else:
                    counts["clear_errors"] += 1
            except BaseException as exc:        # MemoryError included: an allocation the loader let through
                counts["other_exceptions"] += 1
                outcome = f"{type(exc).__name__}: {str(exc)[:300]}"
            seconds = time.perf_counter() - start
            if seconds > PER_INPUT_LIMIT_S:
                counts["hangs"] += 1
                outcome = outcome or f"took {seconds:.1f} s"
            peak = _peak_rss_mib()
            if peak > worst_mib:
                worst_mib = peak
                summary["worst_memory"] = {"loader": name, "input": desc, "peak_rss_mib": round(peak, 1),
                                           "bytes": len(data)}
            if seconds > summary["max_seconds"]:
                summary["max_seconds"] = round(seconds, 3)
                summary["slowest"] = f"{name}: {desc}"
            if outcome:
                summary["failures"].append(f"{name}: {desc}: {outcome}")
        summary["loaders"][name] = counts
    summary["peak_rss_mib"] = round(worst_mib, 1)     # VmHWM per input (ru_maxrss when /proc is not there)
    summary["writes_outside"] = writes_outside
    summary["sentinel_exists"] = os.path.exists(sentinel)
    print("FUZZ-SUMMARY " + json.dumps(summary))


# ------------------------------------------------------------------------------------------ the test
def test_fuzzed_bad_files_give_clear_errors_within_limits(tmp_path):
    work = tmp_path / "child"               # the child's only writable place: cwd, TMPDIR, HOME
    (work / "tmp").mkdir(parents=True)
    outside = tmp_path / "outside"          # the pickles' and the TorchScript archive's target
    outside.mkdir()
    sentinel = outside / "written-by-a-pickle"
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, TMPDIR=str(work / "tmp"), HOME=str(work),
               PYTHONPATH=os.pathsep.join([repo, os.path.join(repo, "tests"), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), str(work), str(sentinel)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("FUZZ-SUMMARY ")]
    assert proc.returncode == 0 and lines, f"fuzz child died (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    s = json.loads(lines[-1][len("FUZZ-SUMMARY "):])
    totals = {k: sum(c[k] for c in s["loaders"].values())
              for k in ("inputs", "clear_errors", "successes", "tracebacks", "other_exceptions", "hangs", "silent_wrong")}
    print(f"\nfuzz of the loaders ({wall:.1f} s, seed {SEED}, memory limit +{s['memory_limit_gib']:.0f} GiB):")
    for name, c in s["loaders"].items():
        print(f"  {name}: {c}")
    print(f"  total: {totals}")
    print(f"  slowest input {s['max_seconds']} s ({s['slowest']}); RSS after the imports {s['rss_before_mib']} MiB, "
          f"peak {s['peak_rss_mib']} MiB, reached by {s['worst_memory']}")
    print(f"  writes outside the child's folder: {s['writes_outside']}; sentinel exists: {s['sentinel_exists']}")
    assert s["failures"] == [], "\n".join(s["failures"])
    assert totals["inputs"] >= 250
    assert totals["other_exceptions"] == totals["tracebacks"] == totals["hangs"] == totals["silent_wrong"] == 0
    assert totals["clear_errors"] + totals["successes"] == totals["inputs"]
    assert all(c["max_input_kib"] < 512 for c in s["loaders"].values())
    assert s["max_seconds"] < PER_INPUT_LIMIT_S
    assert not s["sentinel_exists"] and not sentinel.exists() and list(outside.iterdir()) == []
    assert s["writes_outside"] == []


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2])
