"""Eq. 7 (closed-form smoothed margin via ReLU moment propagation) vs Monte Carlo, and Lipschitz-bound tightness.

    .venv/bin/python bench/margin_closed_form.py
"""
import time

import torch

from cert_core.methods.lipschitz.bounds import layer_bounds
from cert_core.methods.margin.radii import smoothed_margin_closed_form, smoothed_margin_mc
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.zoo import load_zoo_model

torch.manual_seed(0)
cases = {"2D ortho 32x2, K=3 (untrained)": (ModelConfig("ortho_mlp", (2,), 3, width=32, depth=2), None),
         "moons-ortho-mscr-s0.2 (trained)": (None, "moons-ortho-mscr-s0.2"),
         "digits-ortho-mscr-s0.1 (trained)": (None, "digits-ortho-mscr-s0.1")}
print("| model | sigma | max abs(Eq.7 - MC) | mean MC margin std | MC std error |")
print("|---|---|---|---|---|")
for name, (cfg, zoo) in cases.items():
    model = build_model(cfg, seed=0).eval() if cfg else load_zoo_model(zoo).model
    shape = cfg.input_shape if cfg else load_zoo_model(zoo).input_shape
    x = torch.randn(16, *shape, generator=torch.Generator().manual_seed(1)) * (1.5 if shape == (2,) else 0.3) + (
        0 if shape == (2,) else 0.3)
    with torch.no_grad():
        labels = model(x).argmax(1)
    for sigma in (0.05, 0.3, 1.0):
        with torch.no_grad():
            closed = smoothed_margin_closed_form(model, x, labels, sigma)
        mc = smoothed_margin_mc(model, x, labels, sigma, n=20_000, generator=torch.Generator().manual_seed(2))
        err = (closed - mc.mean).abs().max().item()
        print(f"| {name} | {sigma:g} | {err:.4f} | {mc.std.mean().item():.4f} | {(mc.std.max() / 20_000 ** 0.5).item():.4f} |")
print()
print("| zoo model | K upper (Gram) | K power-iteration product | seconds |")
print("|---|---|---|---|")
for zoo in ("moons-mlp-s0.25", "digits-cnn-s0", "moons-ortho-mscr-s0.2", "digits-ortho-mscr-s0.1"):
    lm = load_zoo_model(zoo)
    t = time.perf_counter()
    b = layer_bounds(lm.model, lm.input_shape)
    up, est = 1.0, 1.0
    for layer in b:
        up, est = up * layer.upper, est * layer.estimate
    print(f"| {zoo} | {up:.6g} | {est:.6g} | {time.perf_counter() - t:.3f} |")
