"""The command line's argument parser: ``python -m cert_core certify|predict`` and every flag, in one place.

Bad arguments get argparse-style messages (exit 2), never tracebacks. Under torchrun spell ``--n`` as
``--num-samples`` and ``--max`` as ``--max-examples`` (torchrun reads the short ones as prefixes of its own
options); ``TORCHRUN_NOTE`` says so in every ``--help``. What the flags do: ``cert_core.runs.cli``.
"""
from __future__ import annotations

import argparse
import math

from cert_core.methods.sequential.run import GRID, parse_radii
from cert_core.models.data import IMAGE_DATASETS, TOY_DATASETS
from cert_core.runs.spec import MAX_SEED
from cert_core.runs.store import default_store_path

# torchrun's own parser accepts any prefix of its options, so `--n` (--nnodes, --node-rank, ...) and `--max`
# (--max-restarts) stop it before our program starts; every other flag passes through unchanged.
TORCHRUN_NOTE = ("Under torchrun, write --num-samples (or --n-samples) for --n and --max-examples for --max: "
                 "torchrun reads --n and --max as prefixes of its own options and stops. Every other flag is "
                 "passed through as written.")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1. Got {text!r} instead.") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1. Got {text!r} instead.")
    return value


def _seed(text: str) -> int:
    """One rule for certify and predict: an int in [0, 2**63 - 1] (what torch and numpy seeds take)."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an int in [0, {MAX_SEED}]. Got {text!r} instead.")
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


def _channel_floats(text: str) -> tuple[float, ...]:
    """'0.485,0.456,0.406' -> (0.485, 0.456, 0.406): --mean / --std (their count and sign: check_channel_stats)."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"must be numbers separated by commas, one per channel, e.g. "
                                         f"0.485,0.456,0.406. Got {text!r} instead.")
    return values


def _radii_in_sigma(text: str) -> str:
    """A radius or comma-separated grid in units of σ, as ``RunSpec.radii`` stores it (exact reprs)."""
    try:
        radii = parse_radii(text)
    except ValueError:
        radii = None
    if not radii:
        raise argparse.ArgumentTypeError(f"must be radii >= 0 in units of σ, comma separated. Got {text!r} instead.")
    return ",".join(map(repr, radii))


def _sequential_flags(p: argparse.ArgumentParser) -> None:
    """certify's sequential flags; none is a prefix of a torchrun option (tests/runs/test_torchrun.py)."""
    group = p.add_argument_group("sequential certification (anytime-valid: the same 1 − α guarantee, far fewer samples)")
    group.add_argument("--sequential", action="store_true",
                       help="sequential CERTIFY: votes are drawn in growing batches and each example stops as soon as "
                            "its question is settled (Ville's inequality; valid whatever the stopping rule)")
    target = group.add_mutually_exclusive_group()
    target.add_argument("--radius", type=_float_in(0, math.inf, False, True), metavar="R",
                        help="with --sequential: stop once 'radius >= R·σ' is certified or cannot be within the budget "
                             "(R in units of σ, e.g. 0.5)")
    target.add_argument("--radius-grid", type=_radii_in_sigma, nargs="?", const=GRID, metavar="R1,R2,...",
                        help=f"with --sequential: certify each grid radius (units of σ; default {GRID}) and report the "
                             "largest certified. Without --radius or --radius-grid: an anytime bound")
    group.add_argument("--max-n", type=_positive_int, default=None, metavar="N",
                       help="with --sequential: at most N votes per example (default: --n)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cert_core", epilog=TORCHRUN_NOTE,
                                     description="Certify or predict with a Gaussian-smoothed classifier.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("certify", "predict"):
        p = sub.add_parser(name, help=f"run {name.upper()} (Cohen et al.) on a test split", epilog=TORCHRUN_NOTE)
        p.add_argument("--model", required=True, help="zoo name (see `python -m cert_core.models.zoo list`), a bundle, a Cohen et al. "
                            "checkpoint.pth.tar (arch cifar_resnet20/110 or resnet50), a TorchScript path, or "
                            "torchvision:ARCH (a torchvision classification architecture, e.g. torchvision:resnet18) "
                            "with --weights FILE")
        tv = p.add_argument_group("a torchvision architecture with your weights (--model torchvision:ARCH)")
        tv.add_argument("--weights", metavar="FILE", help="with --model torchvision:ARCH (e.g. torchvision:resnet18): "
                        "the state dict saved with torch.save (bare or under 'state_dict'; 'module.' prefixes are "
                        "removed), loaded with weights_only=True. Its input is 3 × --image-size × --image-size")
        tv.add_argument("--num-classes", type=_positive_int, default=None, metavar="K",
                        help="with --weights: the architecture's number of classes (default 1000)")
        tv.add_argument("--mean", type=_channel_floats, metavar="M1,M2,M3",
                        help="with --weights: per-channel mean of a normalisation layer put inside the model "
                             "(noise is added to pixels in [0, 1]), e.g. 0.485,0.456,0.406; needs --std")
        tv.add_argument("--std", type=_channel_floats, metavar="S1,S2,S3",
                        help="with --weights: per-channel std of that layer, e.g. 0.229,0.224,0.225")
        p.add_argument("--trust-torchscript", action="store_true",
                       help="run a TorchScript --model file. TorchScript is code (it runs when loaded and on every "
                            "prediction), so without this flag it is refused; with it, it runs in a separate process "
                            "with time and memory limits (and no file writes where Linux Landlock is available). "
                            "Only for files you trust. Bundles need no trust: they hold only weights")
        p.add_argument("--dataset", choices=TOY_DATASETS + IMAGE_DATASETS, help="dataset (default: the model's own)")
        p.add_argument("--data-dir", help="local folder with MNIST/Fashion-MNIST/CIFAR-10 (never downloaded)")
        source = p.add_mutually_exclusive_group()
        source.add_argument("--npz", metavar="FILE", help="test images and labels from an .npz (arrays x and y, as "
                            "on the runs page) instead of --dataset")
        source.add_argument("--image-folder", metavar="DIR", help="test images from a local folder in torchvision's "
                            "ImageFolder layout (DIR/<class>/<image>), resized and centre-cropped; integer class "
                            "folder names are the labels")
        p.add_argument("--image-size", type=_positive_int, default=224,
                       help="--image-folder: centre crop; --model torchvision:ARCH: its input size (default 224)")
        p.add_argument("--resize", type=_positive_int, default=None,
                       help="--image-folder: shorter side before the crop (default image-size × 256/224: 256 for 224)")
        p.add_argument("--sigma", type=_float_in(0, math.inf, True, True), required=True, help="noise level σ > 0")
        if name == "certify":
            p.add_argument("--n0", type=_positive_int, default=100, help="selection samples")
        n_default = 100_000 if name == "certify" else 1_000
        p.add_argument("--n", type=_positive_int, default=n_default,
                       help=f"{'estimation' if name == 'certify' else 'noisy'} samples (default {n_default}); "
                            "under torchrun spell it --num-samples")
        p.add_argument("--num-samples", "--n-samples", dest="n", type=_positive_int, default=argparse.SUPPRESS,
                       help="the same as --n, spelled so that torchrun passes it through")
        p.add_argument("--alpha", type=_float_in(0, 1, True, True), default=0.001, help="failure probability")
        p.add_argument("--batch", type=_positive_int, default=1000, help="noisy samples per forward pass")
        p.add_argument("--max", type=_positive_int, default=None,
                       help="certify at most this many examples; under torchrun spell it --max-examples")
        p.add_argument("--max-examples", dest="max", type=_positive_int, default=argparse.SUPPRESS,
                       help="the same as --max, spelled so that torchrun passes it through")
        p.add_argument("--skip", type=_positive_int, default=1, help="take every k-th test example")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
        p.add_argument("--seed", type=_seed, default=0, help="seed of the noise generator")
        p.add_argument("--out", help="TSV file to write (Cohen et al. format)")
        if name == "certify":
            p.add_argument("--store", help=f"run store to record the run in (default {default_store_path()})")
            p.add_argument("--no-store", action="store_true", help="do not record the run in the store")
            p.add_argument("--name", default="", help="the run's name in the store")
            p.add_argument("--sound-float", action="store_true", help="the sound floating-point sampler (Voráček & "
                           "Hein, ICLR 2023) for inputs on the grid of multiples of 1/--levels")
            p.add_argument("--levels", type=_positive_int, default=None, help="with --sound-float: L (default 255)")
            _sequential_flags(p)
        p.set_defaults(parser=p)
    return parser
