"""Shared by the run tests: a store with two finished runs of known radii (the report and lessons browser tests)
and waiting for a background worker."""
import threading
import time

from cert_core.runs.store import RunSpec, RunStore
from cert_core.runs.worker import device_lock

# (label, prediction, radius, correct): certified accuracy at r=0.25 is 2/5 for run A
EXAMPLES_A = [(0, 0, 0.9, True), (1, 1, 0.3, True), (0, 0, 0.1, True), (1, -1, 0.0, False), (0, 1, 0.4, False)]
EXAMPLES_B = [(0, 0, 1.4, True), (1, 1, 0.2, True), (0, -1, 0.0, False), (1, 1, 0.6, True)]


def make_store(path, name_a: str = "moons σ=0.25", group: str = "g") -> RunStore:
    """Two finished runs of the zoo's moons model at two σ, with known radii, started together as ``group``."""
    store = RunStore(path)
    for sigma, name, rows in ((0.25, name_a, EXAMPLES_A), (0.5, "moons σ=0.5", EXAMPLES_B)):
        spec = RunSpec({"zoo": "moons-mlp-s0.25"}, {"name": "moons"}, sigma, n0=100, n=1000, alpha=0.001,
                       model_label="moons-mlp-s0.25", data_label="moons test")
        run_id = store.create_run(spec, len(rows), name=name, group=group, status="done")
        store.add_examples(run_id, [dict(idx=i, label=y, prediction=p, radius=r, p_lower=0.9, correct=c,
                                         base_prediction=y, seconds=0.01, rank=0)
                                    for i, (y, p, r, c) in enumerate(rows)])
    return store


def wait_for(predicate, timeout: float = 120.0) -> None:
    """Poll ``predicate`` every 50 ms until it holds; AssertionError after ``timeout`` seconds (a limit, not a timing)."""
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def second_run_order(folder, device: str) -> tuple[list[str], list[str]]:
    """A second run asks for ``device``'s slot while a first holds it for 0.3 s: (the order they finished in, the
    notes the second was given while it waited)."""
    waits, order = [], []
    with device_lock(folder, device):
        def second():
            with device_lock(folder, device, on_wait=waits.append, poll=0.02):
                order.append("second")
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)
        order.append("first done")
    t.join(5)
    return order, waits
