"""Soundness audit of SC-RFP vs Cohen et al. on zoo models, and Table 1 (Jiang, Sec. 4.2) on the digits CNNs.

    PYTHONPATH=. .venv/bin/python bench/paths_audit.py
"""
import time

from cert_core.methods.paths import audit
from cert_core.models.data import load_dataset
from cert_core.methods.paths.vulnerability import vulnerability
from cert_core.models.zoo import load_zoo_model

for name in ("moons-mlp-s0.25", "circles-mlp-s0.25"):
    loaded = load_zoo_model(name)
    ds = load_dataset(**loaded.metadata["dataset"])
    for eta in (None, 0.25, 0.5, 1.0):
        t = time.perf_counter()
        r = audit.audit_2d(loaded.model, ds.x_test[:8], 2, 0.25, eta, 100, 1000, 0.001, 17)
        print(f"{name:18s} {r.method:18s} certified {r.certified}/8 violations {r.violations} "
              f"rate {r.violation_rate:.0%}  {time.perf_counter() - t:.1f} s", flush=True)
for name in ("digits-cnn-s0", "digits-cnn-s0.25", "digits-cnn-s0.5"):
    loaded = load_zoo_model(name)
    ds = load_dataset(**loaded.metadata["dataset"])
    r = vulnerability(loaded.model, ds.x_test[:200], ds.y_test[:200], 0.1, "fgsm", "linf", sigma=0.25)
    print(f"{name:18s} FGSM Linf 0.1: acc f(x) {r.clean_accuracy:.1%} f(x_adv) {r.adversarial_accuracy:.1%} "
          f"Z_fixed(x_adv) {r.fixed_accuracy:.1%}; fooled {r.successful} = {r.float_vulnerable} float + "
          f"{r.lipschitz_vulnerable} Lipschitz; ||J|| {r.lipschitz:.2f}; gap eta 0.05/0.1/0.25/0.5 "
          + "/".join(f"{g:.2f}" for g in r.repression_gap), flush=True)
digits = load_dataset(**load_zoo_model("digits-cnn-s0.25").metadata["dataset"])
for eta in (None, 1.0):
    t = time.perf_counter()
    r = audit.audit_attack(load_zoo_model("digits-cnn-s0.25").model, digits.x_test[:6], 10, 0.25, eta, 100, 500,
                           0.001, 16, 8)
    print(f"digits-cnn-s0.25 attack audit {r.method:18s} certified {r.certified}/6 violations {r.violations}  "
          f"{time.perf_counter() - t:.1f} s", flush=True)
