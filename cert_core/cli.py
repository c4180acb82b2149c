"""Headless certification with the same engine as the app.

    python -m cert_core certify --model moons-mlp-s0.25 --sigma 0.25 --n0 100 --n 100000 \
        --alpha 0.001 --batch 1000 --max 500 --device auto --seed 0 --out results.tsv
    python -m cert_core predict --model digits-cnn-s0.25 --sigma 0.25 --n 1000 --alpha 0.001

``certify`` writes Cohen et al.'s TSV (``idx label predict radius correct time``) one line per example as
it finishes and prints certified accuracy at a few radii and the ACR; ``predict`` writes
``idx label predict correct time``. Bad arguments get argparse-style messages (exit 2), never tracebacks.
"""
from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import numpy as np
import torch

from .data import IMAGE_DATASETS, TOY_DATASETS, Dataset, load_dataset
from .metrics import average_certified_radius, certified_accuracy
from .models import LoadedModel, load_model
from .smoothing import Smooth
from .zoo import list_zoo, load_zoo_model

SUMMARY_RADII = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1. Got {text!r} instead.") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1. Got {text!r} instead.")
    return value


def _float_in(low: float, high: float, low_open: bool, high_open: bool):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
        if not ok:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"must be a float in {left}{low:g}, {high:g}{right}. Got {text!r} instead.")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cert_core", description="Certify or predict with a Gaussian-smoothed classifier.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("certify", "predict"):
        p = sub.add_parser(name, help=f"run {name.upper()} (Cohen et al.) on a test split")
        p.add_argument("--model", required=True, help="zoo name (see `python -m cert_core.zoo list`) or bundle/TorchScript path")
        p.add_argument("--dataset", choices=TOY_DATASETS + IMAGE_DATASETS, help="dataset (default: the model's own)")
        p.add_argument("--data-dir", help="local folder with MNIST/Fashion-MNIST/CIFAR-10 (never downloaded)")
        p.add_argument("--sigma", type=_float_in(0, math.inf, True, True), required=True, help="noise level σ > 0")
        if name == "certify":
            p.add_argument("--n0", type=_positive_int, default=100, help="selection samples")
        p.add_argument("--n", type=_positive_int, default=100_000 if name == "certify" else 1_000, help="estimation samples")
        p.add_argument("--alpha", type=_float_in(0, 1, True, True), default=0.001, help="failure probability")
        p.add_argument("--batch", type=_positive_int, default=1000, help="noisy samples per forward pass")
        p.add_argument("--max", type=_positive_int, default=None, help="certify at most this many examples")
        p.add_argument("--skip", type=_positive_int, default=1, help="take every k-th test example")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
        p.add_argument("--seed", type=int, default=0, help="seed of the noise generator")
        p.add_argument("--out", help="TSV file to write (Cohen et al. format)")
        p.set_defaults(parser=p)
    return parser


def resolve_model(spec: str) -> LoadedModel:
    """A zoo name or a path to a bundle / TorchScript file."""
    if pathlib.Path(spec).is_file():
        return load_model(spec)
    names = [e.name for e in list_zoo()]
    if spec in names:
        return load_zoo_model(spec)
    raise ValueError(f"--model {spec!r} is neither a file nor a zoo entry (zoo: {', '.join(names)})")


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ValueError(f"--device must be auto, cpu, cuda or cuda:N. Got {spec!r} instead.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available here (use --device auto or cpu)")
    return device


def resolve_dataset(args, loaded: LoadedModel) -> Dataset:
    spec = dict(loaded.metadata.get("dataset") or {})
    if args.dataset and args.dataset != spec.get("name"):
        spec = {"name": args.dataset}
    if not spec:
        raise ValueError("the model does not record its dataset; pass --dataset")
    if args.data_dir and spec["name"] in IMAGE_DATASETS and spec["name"] != "digits":
        spec["root"] = args.data_dir
    return load_dataset(**spec)


def _chunk_size(n: int, batch: int) -> int:
    """Examples per certify_batch call: enough to fill a few forward batches when n is small."""
    return int(min(256, max(1, math.ceil(8 * batch / n))))


def run(args, out=None) -> int:
    out = out or sys.stdout
    loaded = resolve_model(args.model)
    device = resolve_device(args.device)
    dataset = resolve_dataset(args, loaded)
    if loaded.input_shape is not None and tuple(loaded.input_shape) != tuple(dataset.input_shape):
        raise ValueError(f"the model takes inputs of shape {tuple(loaded.input_shape)}, but {dataset.name} has {dataset.input_shape}")
    model = loaded.model.to(device)
    smooth = Smooth(model, dataset.num_classes, args.sigma)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    indices = np.arange(0, len(dataset.y_test), args.skip)[: args.max]
    certify = args.command == "certify"
    sink = open(args.out, "w") if args.out else None
    header = "idx\tlabel\tpredict\tradius\tcorrect\ttime" if certify else "idx\tlabel\tpredict\tcorrect\ttime"
    radii, correct = [], []
    start = time.perf_counter()
    try:
        if sink:
            print(header, file=sink, flush=True)
        step = _chunk_size(args.n, args.batch) if certify else 64
        for lo in range(0, len(indices), step):
            idx = indices[lo: lo + step]
            xs = torch.from_numpy(dataset.x_test[idx]).to(device)
            t0 = time.perf_counter()
            if certify:
                results = smooth.certify_batch(xs, args.n0, args.n, args.alpha, args.batch, generator)
                preds, rads = [c.prediction for c in results], [c.radius for c in results]
            else:
                preds = smooth.predict_batch(xs, args.n, args.alpha, args.batch, generator)
                rads = [0.0] * len(preds)
            per = (time.perf_counter() - t0) / len(idx)
            for i, p, r in zip(idx, preds, rads):
                label = int(dataset.y_test[i])
                radii.append(r)
                correct.append(p == label)
                if sink:
                    fields = [i, label, p, f"{r:.4f}", int(p == label), f"{per:.4f}"]
                    if not certify:
                        del fields[3]
                    print("\t".join(map(str, fields)), file=sink, flush=True)
    finally:
        if sink:
            sink.close()
    _summary(out, args, dataset, radii, correct, time.perf_counter() - start, device)
    return 0


def _summary(out, args, dataset, radii, correct, seconds, device) -> None:
    m = len(radii)
    print(f"{args.command} {args.model} on {dataset.name} test: {m} examples, σ={args.sigma:g}, "
          f"device={device}, {seconds:.1f} s", file=out)
    if args.command == "predict":
        print(f"smoothed accuracy {np.mean(correct):.4f}  abstain rate "
              f"{np.mean([not c for c in correct]) if m else 0:.4f}", file=out)
        return
    acc = certified_accuracy(radii, correct, SUMMARY_RADII)
    print("radius    " + "  ".join(f"{r:>5.2f}" for r in SUMMARY_RADII), file=out)
    print("cert acc  " + "  ".join(f"{a:>5.3f}" for a in acc), file=out)
    print(f"ACR {average_certified_radius(radii, correct):.4f}", file=out)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError, OSError) as error:
        args.parser.error(str(error))  # exits 2 with the sub-command's usage line, like argparse
    except KeyboardInterrupt:
        print("interrupted; the lines written so far are complete", file=sys.stderr)
        return 130
