"""Certification runs: (1) the live view's cost, (2) worker throughput vs plain forward passes.

    python bench/bench_runs.py [--examples 40] [--n 2000] [--device cpu]

(1) The same digits-CNN run certified by the worker twice in one go: headless, and with a poller
    process doing exactly what the page's live fragment does every second (refresh, read the run and all
    examples, summarise). Reports samples/s of both and the overhead.
(2) Noisy samples/s of the run engine (certify_chunks: chunking, commits, base predictions) as a
    fraction of plain forward passes at the same batch size, for the digits CNN and a CIFAR-sized
    ResNet-18 (torchvision, 10 classes, random weights: speed only).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import pathlib
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from cert_core.runs.export import summarize  # noqa: E402
from cert_core.models.bundles import LoadedModel  # noqa: E402
from cert_core.runs.store import RunSpec, RunStore  # noqa: E402
from cert_core.smoothing import Smooth  # noqa: E402
from cert_core.methods.cohen.run import certify_chunks  # noqa: E402
from cert_core.runs.inputs import RunData, resolve_device  # noqa: E402
from cert_core.runs.worker import run_shard  # noqa: E402

DIGITS = {"name": "digits", "seed": 0, "test_fraction": 0.3}


def poll(path, run_id, stop):
    store = RunStore(path)
    while not stop.is_set():
        store.refresh()
        run = store.get(run_id)
        summarize(run, store.examples(run_id), np.linspace(0, 2, 201))
        time.sleep(1.0)


def live_overhead(args) -> None:
    folder = pathlib.Path(tempfile.mkdtemp())
    store = RunStore(folder / "runs.sqlite")
    spec = RunSpec({"zoo": "digits-cnn-s0.25"}, DIGITS, 0.25, n0=100, n=args.n, batch=args.batch,
                   max_examples=args.examples, device=args.device)
    rates = {}
    for mode in ("headless", "live", "headless ", "live "):   # interleaved: drift hits both alike
        run_id = store.create_run(spec, args.examples)
        stop = mp.Event()
        poller = mp.Process(target=poll, args=(store.path, run_id, stop)) if mode.startswith("live") else None
        if poller:
            poller.start()
        start = time.perf_counter()
        run_shard(store, run_id)
        seconds = time.perf_counter() - start
        stop.set()
        if poller:
            poller.join()
        rates.setdefault(mode.strip(), []).append(args.examples * (spec.n0 + spec.n) / seconds)
    head, live = np.mean(rates["headless"]), np.mean(rates["live"])
    print(f"live view cost: headless {head:,.0f} samples/s, polled live {live:,.0f} samples/s, "
          f"overhead {100 * (1 - live / head):.1f}%")


def engine_vs_forward(name, model, x, y, k, args) -> None:
    device = resolve_device(args.device)
    model = model.to(device).eval()
    batch = torch.randn(args.batch, *x.shape[1:], device=device)
    with torch.inference_mode():
        model(batch)
        reps, start = 5, time.perf_counter()
        for _ in range(reps):
            model(batch).argmax(1)
        forward = reps * args.batch / (time.perf_counter() - start)
    spec = RunSpec({"zoo": name}, {"name": name}, 0.25, n0=100, n=args.n, batch=args.batch, device=args.device)
    m = max(2, args.examples // 4)
    start = time.perf_counter()
    for _ in certify_chunks(Smooth(model, k, 0.25), RunData(x, y, k), np.arange(m), spec, device):
        pass
    engine = m * (spec.n0 + spec.n) / (time.perf_counter() - start)
    print(f"{name}: forward {forward:,.0f} samples/s, run engine {engine:,.0f} samples/s, "
          f"fraction {engine / forward:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    print(f"device {resolve_device(args.device)}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    live_overhead(args)
    from cert_core.models.data import load_digits
    from cert_core.models.zoo import load_zoo_model
    ds = load_digits()
    engine_vs_forward("digits-cnn", load_zoo_model("digits-cnn-s0.25").model, ds.x_test, ds.y_test, 10, args)
    import torchvision
    resnet = torchvision.models.resnet18(num_classes=10)
    x = np.random.default_rng(0).random((16, 3, 32, 32), dtype=np.float32)
    engine_vs_forward("resnet18-cifar", resnet, x, np.zeros(16, np.int64), 10,
                      argparse.Namespace(**{**vars(args), "n": min(args.n, 500), "batch": min(args.batch, 250)}))


if __name__ == "__main__":
    main()
