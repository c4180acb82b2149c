"""Certify throughput vs plain forward passes on a GPU, for Cohen et al.'s CIFAR ResNet-110 and an ImageNet
ResNet-50 (random weights, fp32, loaded through ``load_cohen_checkpoint`` from files made here), and the
2-rank torchrun path on cuda.

    python bench/gpu_certify.py                      # on a GPU machine (cuda), the full measurement
    python bench/gpu_certify.py --smoke              # CPU, tiny sizes: checks that the script runs

Per model and batch size B (doubling from --min-batch until out of memory or --max-batch):
  forward   noisy samples/s of ``model(x + noise)`` over one pre-drawn (B, *D) batch (no drawing, no counting:
            the ceiling for any certifier at that batch size),
  certify   noisy samples/s of the run engine (``methods.cohen.run.certify_chunks``: per-example noise streams,
            counting, Clopper-Pearson, base predictions) on --inputs examples, n0 = 100 and n = --n,
  ratio     certify / forward.
Then the CLI on the ResNet-110 checkpoint and an .npz of random CIFAR-size images: one process vs
``torchrun --standalone --nproc-per-node=2`` (both ranks on cuda:LOCAL_RANK % device count), wall time and
samples/s, and whether the two TSVs hold the same certificates. fp32 throughout; no faster mode is used.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from cert_core.methods.cohen.run import certify_chunks  # noqa: E402
from cert_core.models.checkpoints import COHEN_ARCHS, load_cohen_checkpoint  # noqa: E402
from cert_core.runs.chunks import is_oom  # noqa: E402
from cert_core.runs.inputs import RunData  # noqa: E402
from cert_core.runs.spec import RunSpec  # noqa: E402
from cert_core.smoothing import Smooth  # noqa: E402


def checkpoint(arch: str, folder: pathlib.Path) -> pathlib.Path:
    """A checkpoint.pth.tar in Cohen et al.'s format with random weights (ResNet-50 with DataParallel keys)."""
    build = COHEN_ARCHS[arch][0]
    torch.manual_seed(0)
    prefix = "1.module." if arch == "resnet50" else "1."
    state = {prefix + k: v for k, v in build().state_dict().items()}
    path = folder / f"{arch}.pth.tar"
    torch.save({"arch": arch, "state_dict": state}, path)
    return path


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_time(fn, device, repeats: int) -> float:
    fn()                                              # warm-up (cudnn autotuning, allocator)
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def forward_rate(model, shape, batch, device, repeats) -> float:
    x = torch.rand(1, *shape, device=device)
    noisy = x + 0.25 * torch.randn(batch, *shape, device=device)

    def run():
        with torch.inference_mode():
            model(noisy).argmax(1)
    return batch / best_time(run, device, repeats)


def certify_rate(model, num_classes, shape, batch, device, a) -> float:
    inputs = np.random.default_rng(0).random((a.inputs, *shape), dtype=np.float32)
    data = RunData(inputs, np.zeros(a.inputs, np.int64), num_classes)
    spec = RunSpec({"zoo": "bench"}, {"name": "bench"}, 0.25, n0=a.n0, n=a.n, batch=batch, device=str(device))
    smooth = Smooth(model, data.num_classes, 0.25)

    def run():
        for _ in certify_chunks(smooth, data, np.arange(a.inputs), spec, device):
            pass
    return a.inputs * (a.n0 + a.n) / best_time(run, device, 1)


def bench_model(arch: str, path, device, a) -> None:
    loaded = load_cohen_checkpoint(path)
    model = loaded.model.to(device).eval()
    shape = tuple(loaded.input_shape)
    if a.smoke and arch == "resnet50":
        shape = (3, 64, 64)                           # torchvision's ResNet pools adaptively: a CPU-sized check
    batch = a.min_batch
    while batch <= a.max_batch:
        try:
            fwd = forward_rate(model, shape, batch, device, a.repeats)
            cert = certify_rate(model, loaded.num_classes, shape, batch, device, a)
        except (RuntimeError, ValueError) as exc:
            if not is_oom(exc):
                raise
            print(f"| {arch} | {batch} | out of memory | | |")
            break
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        print(f"| {arch} {'x'.join(map(str, shape))} | {batch} | {fwd:,.0f} | {cert:,.0f} | {cert / fwd:.2f} |",
              flush=True)
        batch *= 2


def cli_ranks(path, device, a, folder: pathlib.Path) -> None:
    """One process vs 2 torchrun ranks on the same certify command (ResNet-110 checkpoint, random .npz)."""
    rng = np.random.default_rng(0)
    np.savez(folder / "images.npz", x=rng.random((a.cli_examples, 3, 32, 32), dtype=np.float32),
             y=rng.integers(0, 10, a.cli_examples))
    args = ["-m", "cert_core", "certify", "--model", str(path), "--npz", str(folder / "images.npz"),
            "--sigma", "0.25", "--n0", str(a.n0), "--num-samples", str(a.n), "--batch", str(a.cli_batch),
            "--device", device.type, "--seed", "0", "--no-store"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    rows = {}
    print("| path | wall (s) | samples/s | same certificates as 1 process |")
    print("|---|---:|---:|---|")
    for label, launcher in (("1 process", [sys.executable]),
                            ("torchrun 2 ranks", [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                  "--nproc-per-node=2"])):
        out = folder / f"{label.split()[0]}.tsv"
        start = time.perf_counter()
        proc = subprocess.run([*launcher, *args, "--out", str(out)], cwd=folder, env=env, capture_output=True,
                              text=True)
        wall = time.perf_counter() - start
        if proc.returncode:
            print(proc.stdout[-2000:], proc.stderr[-2000:])
            raise SystemExit(f"{label} failed")
        rows[label] = [line.split("\t")[:5] for line in out.read_text().splitlines()]
        same = rows[label] == rows["1 process"]
        print(f"| {label} | {wall:.1f} | {a.cli_examples * (a.n0 + a.n) / wall:,.0f} | {same} |", flush=True)
    print("(wall includes start-up: importing torch and loading the model in every process)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--models", nargs="+", default=["cifar_resnet110", "resnet50"], choices=sorted(COHEN_ARCHS))
    parser.add_argument("--inputs", type=int, default=4, help="examples per certify measurement")
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--min-batch", type=int, default=100)
    parser.add_argument("--max-batch", type=int, default=12_800)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cli-examples", type=int, default=40)
    parser.add_argument("--cli-batch", type=int, default=1000)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny sizes: only checks that everything runs")
    a = parser.parse_args()
    if a.smoke:
        a.device, a.inputs, a.n0, a.n, a.min_batch, a.max_batch, a.repeats = "cpu", 2, 8, 32, 8, 16, 1
        a.cli_examples, a.cli_batch = 4, 40
        torch.set_num_threads(1)          # a shared CPU: two contending threads ran ~15x slower than one
        os.environ["OMP_NUM_THREADS"] = "1"
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here; run with --smoke for a CPU check")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"python bench/gpu_certify.py {' '.join(sys.argv[1:])}".strip())
    print(f"device {name}, torch {torch.__version__}, fp32, n0 = {a.n0}, n = {a.n}, {a.inputs} inputs per certify")
    folder = pathlib.Path(tempfile.mkdtemp(prefix="gpu-certify-"))
    paths = {arch: checkpoint(arch, folder) for arch in a.models}
    print("| model | batch | forward samples/s | certify samples/s | certify / forward |")
    print("|---|---:|---:|---:|---:|")
    for arch in a.models:
        bench_model(arch, paths[arch], device, a)
    if not a.skip_cli:
        cli_ranks(paths.get("cifar_resnet110") or checkpoint("cifar_resnet110", folder), device, a, folder)


if __name__ == "__main__":
    main()
