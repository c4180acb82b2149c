"""Per-example time: Bernstein certification (Alg. 2 LM + sound certificate) vs Cohen CERTIFY on the same
bottleneck model and digits test examples. Usage: python bench/bernstein_timing.py [examples]"""
import sys
import time

import numpy as np
import torch

from cert_core.methods.bernstein.images import certify_images
from cert_core.models.data import load_dataset
from cert_core.smoothing import Smooth
from cert_core.models.zoo import load_zoo_model

m = int(sys.argv[1]) if len(sys.argv) > 1 else 30
ds = load_dataset(name="digits", seed=0, test_fraction=0.3)
x, y = ds.x_test[:m], ds.y_test[:m]
for name in ("digits-bottleneck-d3-s0", "digits-bottleneck-d5-s0"):
    model = load_zoo_model(name).model
    for n in (1, 4, 8):
        t = time.perf_counter()
        run = certify_images(model, x, y, n)
        total = (time.perf_counter() - t) / m
        print(f"{name} bernstein n={n}: {total * 1e3:7.1f} ms/example (LM+cert {run.seconds_per_example * 1e3:6.1f}), "
              f"acc {run.correct.mean():.3f}, median sound input radius {np.median(run.input_sound_radius):.4f}")
    smooth = Smooth(model, 10, 0.25)
    t = time.perf_counter()
    certs = smooth.certify_batch(torch.as_tensor(x), 100, 10_000, 0.001, 10_000, torch.Generator().manual_seed(0))
    per = (time.perf_counter() - t) / m
    acc = np.mean([c.prediction == yy for c, yy in zip(certs, y)])
    print(f"{name} cohen sigma=0.25 n0=100 n=10000: {per * 1e3:7.1f} ms/example, acc {acc:.3f}, "
          f"median radius {np.median([c.radius for c in certs]):.4f}")
