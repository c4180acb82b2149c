"""Table-1-style comparison through the run engine (worker -> store -> certified view): Cohen (fixed σ) vs
DDRS (σ*ₓ, with the memory in index order) on 2D sets and digits, and Bernstein vs Cohen on the digits
bottleneck model. Usage: python bench/run_methods_table.py [examples]   (CPU; small n, a smoke-scale table)"""
import sys
import tempfile
import time

import numpy as np

from cert_core.runs import inputs as run_inputs
from cert_core.runs import engine as run_methods
from cert_core.runs.export import paper_table
from cert_core.runs.store import RunSpec, RunStore
from cert_core.runs.worker import run_shard
from cert_core.models.zoo import load_zoo_model

M = int(sys.argv[1]) if len(sys.argv) > 1 else 100
RADII = (0.0, 0.25, 0.5, 0.75, 1.0)
store = RunStore(tempfile.mkdtemp() + "/runs.sqlite")


def run(zoo, sigma, **kw):
    spec = RunSpec({"zoo": zoo}, dict(load_zoo_model(zoo).metadata["dataset"]), sigma, n0=100, n=2000,
                   alpha=0.001, batch=2000, max_examples=M, device="cpu", seed=0, model_label=zoo, **kw)
    rid = store.create_run(spec, len(spec.select(10**9)))
    t = time.perf_counter()
    assert run_shard(store, rid) == "done", store.get(rid).error
    r, raw = store.get(rid), store.examples(rid)
    x = run_inputs.run_data(spec).x if spec.method == "ddrs" else None
    view = run_methods.certified(spec, raw, x)
    extra = f", memory changed {int(run_methods.memory_changes(raw, view).sum())}" if x is not None else ""
    print(f"# {r.name}: {len(raw)} examples in {time.perf_counter() - t:.1f} s{extra}", flush=True)
    return r, view


rows = []
for zoo in ("moons-mlp-s0.25", "circles-mlp-s0.25", "digits-cnn-s0.25"):
    rows += [run(zoo, 0.25), run(zoo, 0.25, method="ddrs", steps=20, lr=0.05, n_opt=32)]
rows += [run("digits-bottleneck-d3-s0", 0.0, method="bernstein", degree=8, root_finding=False),
         run("digits-bottleneck-d3-s0", 0.25)]
print("| run | method | " + " | ".join(f"r = {r:g}" for r in RADII) + " | ACR |")
print("|---|---|" + "---|" * (len(RADII) + 1))
for row in paper_table(rows, RADII):
    print(f"| {row['name']} | {row['method']} | " + " | ".join(f"{100 * row[f'r = {r:g}']:.1f}" for r in RADII)
          + f" | {row['ACR']:.3f} |")
