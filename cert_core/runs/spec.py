"""What a certification run is: its model, data, method and parameters (``RunSpec``), stored as JSON in
the run store (``cert_core.runs.store``) and enough for any worker to (re)start the run.

``method`` names a registered run method (``cert_core.runs.engine.RUN_METHODS``: ``cohen``, ``ddrs``,
``bernstein``, ``sequential``); each reads its own fields below and validates what only it knows (a method without noise
needs σ = 0).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

import numpy as np

from cert_core.runs.engine import RUN_METHODS, run_method
from cert_core.validation import check_choice, check_float, check_int

MAX_SAMPLES = 10**9          # noisy samples per example (n0 + n) a run may ask for
ASSUMED_RATE = 100_000       # samples/s of a small model on a CPU core: the estimate in the refusal
MAX_SEED = 2**63 - 1         # torch.Generator.manual_seed and numpy's SeedSequence both take it


def check_budget(n0: int, n: int, func: str = "RunSpec") -> None:
    """Refuse an absurd sample budget (``--n 10**12`` ran forever) with an estimate of how long it would take."""
    total = int(n0) + int(n)
    if total > MAX_SAMPLES:
        seconds = total / ASSUMED_RATE
        days = seconds / 86400
        when = f"{days:,.0f} days" if days >= 2 else f"{seconds / 3600:,.1f} hours"
        raise ValueError(f"The 'n' parameter of {func} asks for {total:,} noisy samples per example (n0 + n); the "
                         f"cap is {MAX_SAMPLES:,}. At {ASSUMED_RATE:,} samples/s that is about {when} per example. "
                         f"Use a smaller n (Cohen et al. use 100,000).")


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs to (re)start a run; stored as JSON."""
    model: dict              # how to load the model: {"zoo": name} or {"path": file, "sha256": ...}
    data: dict               # load_dataset kwargs, or {"name": "npz", "path": file, "sha256": ...}
    sigma: float             # noise level σ (ddrs: σ0, where OptimizeSigma starts; bernstein: 0, no noise)
    n0: int = 100            # selection samples
    n: int = 100_000         # estimation samples
    alpha: float = 0.001     # failure probability per certificate
    batch: int = 1000        # noisy samples per forward pass (halved on out-of-memory)
    max_examples: int | None = None  # certify at most this many test examples
    skip: int = 1            # take every skip-th test example
    device: str = "auto"     # auto, cpu, cuda or cuda:N
    seed: int = 0            # seeds the noise (per chunk, see cert_core.runs.chunks.chunk_seed)
    model_label: str = ""    # what the user sees
    data_label: str = ""     # what the user sees
    method: str = "cohen"    # a registered run method (module docstring)
    steps: int = 20          # ddrs: K gradient-ascent steps of OptimizeSigma (Algorithm 1)
    lr: float = 0.05         # ddrs: its learning rate α
    n_opt: int = 32          # ddrs: Monte Carlo samples per step
    memory: bool = True      # ddrs: memory-based certification (Sec. 3.5), applied in idx order on reading
    sigma_rule: str = "paper"  # ddrs: OptimizeSigma's rule, "paper" (top two each step) or "fixed-top-class" (ours)
    memory_rule: str = "paper"  # ddrs: the memory's rule, "paper" (min(r, r_i - d)) or "authors" (r_i - d)
    degree: int = 8          # bernstein: degree n per feature axis
    smooth: str = "logits"   # bernstein: smooth the head's logits (the paper) or its probabilities
    root_finding: bool = True  # bernstein: also Algorithm 2's root-finding radius (NOT a certificate)
    radii: str = "0.5"       # sequential: a radius, a comma-separated grid (units of σ) or 'anytime'; n = max n
    sound_float: bool = False  # cohen: the sound floating-point sampler (Voráček & Hein 2023) instead of x + σ·randn
    levels: int = 255        # cohen with sound_float: the inputs are multiples of 1/levels (8-bit images: 255)

    # A stored run that predates a field was computed with this value, not with today's default; applied by
    # ``from_json`` to the fields its method reads. (ddrs runs before "sigma_rule" fixed c_A at σ0, σ >= 0.01.)
    LEGACY = {"sigma_rule": "fixed-top-class"}
    # Left out of the JSON while at their defaults, whatever the method: a standard Cohen run's JSON is unchanged.
    OMIT_AT_DEFAULT = ("sound_float", "levels")

    def __post_init__(self):
        f = "RunSpec"
        check_choice(self.method, "method", f, tuple(RUN_METHODS))
        if not run_method(self.method).noisy:
            if self.sigma != 0:
                raise ValueError(f"The 'sigma' parameter of RunSpec must be 0 for method '{self.method}' (it adds no "
                                 f"noise). Got {self.sigma!r} instead.")
        else:
            check_float(self.sigma, "sigma", f, 0, None, low_open=True)
        for name, low in (("n0", 1), ("n", 1), ("batch", 1), ("skip", 1), ("seed", 0), ("steps", 0),
                          ("n_opt", 1), ("degree", 1)):
            check_int(getattr(self, name), name, f, low=low)
        check_int(self.seed, "seed", f, low=0, high=MAX_SEED)
        check_budget(self.n0, self.n, f)
        check_float(self.alpha, "alpha", f, 0, 1, True, True)
        check_float(self.lr, "lr", f, 0, None)
        check_choice(self.smooth, "smooth", f, ("logits", "probabilities"))
        check_choice(self.sigma_rule, "sigma_rule", f, ("paper", "fixed-top-class"))
        check_choice(self.memory_rule, "memory_rule", f, ("paper", "authors"))
        check_int(self.levels, "levels", f, low=1, high=1 << 20)
        if self.sound_float and "sound_float" not in {x.name for x in run_method(self.method).fields}:
            raise ValueError(f"The 'sound_float' parameter of RunSpec is for the method 'cohen'. Got method "
                             f"'{self.method}' instead.")
        for name in ("memory", "root_finding", "sound_float"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(f"The '{name}' parameter of RunSpec must be a bool. Got {value!r} instead.")
        run_method(self.method).check_spec(self)
        if self.max_examples is not None:
            check_int(self.max_examples, "max_examples", f, low=1)
        if not isinstance(self.model, dict) or not isinstance(self.data, dict):
            raise ValueError("The 'model' and 'data' parameters of RunSpec must be dicts.")

    def select(self, num_test: int) -> np.ndarray:
        """Indices of the test examples this run certifies: every skip-th, at most max_examples."""
        return np.arange(0, num_test, self.skip)[: self.max_examples]  # (M,)

    def describe(self) -> str:
        """The method and its parameters in a few words (run names, tables)."""
        return run_method(self.method).describe(self)

    def to_json(self) -> str:
        """Other methods' fields are left out while at their defaults (a Cohen spec's JSON is unchanged)."""
        others = {f.name for m in RUN_METHODS.values() if m.name != self.method for f in m.fields}
        others |= set(self.OMIT_AT_DEFAULT)
        defaults = {f.name: f.default for f in fields(self)}
        raw = {k: v for k, v in asdict(self).items() if k not in others or v != defaults[k]}
        return json.dumps(raw, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RunSpec":
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        method = raw.get("method", "cohen")
        own = {f.name for f in run_method(method).fields} if method in RUN_METHODS else set()
        raw = {**{k: v for k, v in cls.LEGACY.items() if k in own and k not in raw}, **raw}
        return cls(**{k: v for k, v in raw.items() if k in known})
