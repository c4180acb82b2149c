"""The point inspector as a list of certificate providers.

A *provider* is a function ``fn(context: InspectorContext) -> RadiusRow | None``. The decision
boundaries page builds one context for the clicked point, runs every registered provider in
``order`` and shows each returned row in the radius table and as a circle on the inspector's map.
A provider returns None when it does not apply (e.g. a Lipschitz bound for a model without one).

Adding a method (Bernstein, Lipschitz/margin, per-input sigma, SC-RFP, ...) needs no page edit: its page
slice ``ui/<page>/`` gets a ``provider.py`` that registers its function::

    from ui.inspector import RadiusRow, register_provider

    @register_provider(order=50)
    def bernstein(ctx):
        r = my_radius(ctx.model, ctx.point, ctx.sigma)
        return RadiusRow("Bernstein root-finding", r, prediction=..., kind="estimate",
                         sound=False, note="finds a boundary point, not the nearest one")

A provider that takes long (an optimiser, a sampling audit: ~1-2 s), or a costly one whose row is not part of a
click's first answer (the sequential path, ~0.2 s), is registered with ``slow=True``: the page
answers a click with the other rows at once and adds the slow ones when they arrive (``run_providers(ctx,
"fast")`` then ``run_providers(ctx, "slow")``, the latter off the script thread). A value that depends on the
model only (a Lipschitz bound, the base logits on the grid) goes through ``ctx.per_model`` so the next click
reuses it.

Every ``ui/<page>/provider.py`` is imported on first use. A provider that raises does not break
the page: ``run_providers`` turns the exception into a message. Rows are audited against the ground
truth (the exact distance to the smoothed boundary): a "certificate" claiming more is flagged.

``kind`` says what the number is:
  "certificate"  a sound lower bound on the robust radius (possibly with probability 1 - alpha);
  "exact"        the true robust radius of the named classifier (here: from the exact 2D grid);
  "upper bound"  a radius at which the prediction provably changes (e.g. found by an attack);
  "estimate"     a number with no guarantee.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import pkgutil
import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Hashable, Literal

import numpy as np
import torch

from cert_core import grid, grid_view
from cert_core.smoothing import Certificate, Smooth

Kind = Literal["certificate", "exact", "upper bound", "estimate"]
Speed = Literal["all", "fast", "slow"]

# model -> {key: value}: values that depend on the model alone, kept while the model lives (see per_model)
_PER_MODEL: "weakref.WeakKeyDictionary[torch.nn.Module, dict]" = weakref.WeakKeyDictionary()
_PER_MODEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class RadiusRow:
    method: str                       # shown in the table and the circle's legend
    radius: float                     # L2 radius; 0 for an abstention, inf if unbounded in the view
    prediction: int | None            # the class the radius is about; -1 = ABSTAIN; None = n/a
    kind: Kind                        # see the module docstring
    sound: bool                       # True if the number is guaranteed (for a certificate: <= truth)
    note: str = ""                    # one line: how it was computed, caveats
    classifier: str = "smoothed"      # which classifier it describes: "smoothed" | "base"
    error: float = 0.0                # +- discretisation error of the number itself


@dataclass(frozen=True, eq=False)
class InspectorContext:
    """Everything a provider may need about the clicked point. Expensive parts are lazy and shared."""
    model: torch.nn.Module            # the base classifier f: (B, 2) -> (B, K)
    num_classes: int                  # K
    point: tuple[float, float]        # the clicked point (x, y)
    sigma: float                      # smoothing noise level
    base: grid.BaseMap                # f on the padded view (exact smoothed values at any point)
    probs: np.ndarray                 # (K, R, R) exact smoothed probabilities on the view
    n0: int = 100                     # CERTIFY selection samples
    n: int = 10_000                   # CERTIFY estimation samples
    alpha: float = 0.001              # CERTIFY failure probability
    seed: int = 0                     # seeds every sampling provider
    batch_size: int = 10_000          # forward batch for sampling
    _shared: dict = field(default_factory=dict, init=False, repr=False)   # see shared()

    @property
    def view(self) -> grid_view.GridView:
        return self.base.view

    def shared(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per context: the providers of one method share an expensive value this way."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    def per_model(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per model (every later point and σ reuses it): for values of the model alone."""
        with _PER_MODEL_LOCK:
            store = _PER_MODEL.setdefault(self.model, {})
        if key not in store:
            store[key] = compute()
        return store[key]

    def generator(self, salt: int = 0) -> torch.Generator:
        """A fresh seeded generator, so each provider's randomness is reproducible on its own."""
        return torch.Generator().manual_seed(self.seed * 1_000_003 + salt)

    @cached_property
    def certificate(self) -> Certificate:
        """Cohen et al.'s CERTIFY at the point (shared by the table, the histogram and the cloud)."""
        smooth = Smooth(self.model, self.num_classes, self.sigma)
        x = torch.tensor(self.point, dtype=torch.float32)
        return smooth.certify(x, self.n0, self.n, self.alpha, self.batch_size, self.generator())

    @cached_property
    def exact_probs(self) -> np.ndarray:
        """Exact smoothed class probabilities at the point itself (not snapped to a pixel)."""  # (K,)
        return grid.probabilities_at(self.base, self.point, self.sigma)

    @cached_property
    def base_scores(self) -> np.ndarray:
        """Base logits on the view's pixel centres (once per model and view)."""          # (K, R, R)
        bounds, resolution = self.view.bounds, self.view.resolution
        return self.per_model(("base_scores", tuple(bounds), resolution),
                              lambda: grid_view.base_scores(self.model, bounds, resolution))


@dataclass(frozen=True)
class _Provider:
    order: int
    name: str
    fn: Callable[[InspectorContext], RadiusRow | None]
    slow: bool = False                # seconds per point (or not first-answer): shown when it arrives, never blocking


_REGISTRY: dict[str, _Provider] = {}
_DISCOVERED = False


def register_provider(fn: Callable | None = None, *, order: int = 100, name: str | None = None, slow: bool = False):
    """Register ``fn(context) -> RadiusRow | None``; usable as ``@register_provider`` or with options.

    ``slow=True``: the provider needs about a second or more per point (or its costly row is not part of the first
    answer); the page streams its row in later.

    Registering the same name again replaces the earlier provider (safe under module reloads).
    """
    def wrap(f):
        key = name or f"{f.__module__}.{f.__qualname__}"
        _REGISTRY[key] = _Provider(order, key, f, slow)
        return f
    return wrap(fn) if fn is not None else wrap


def discover(package: str = "ui") -> None:
    """Import the ``provider`` module of every page slice ``package.<page>`` so its ``@register_provider`` calls run."""
    global _DISCOVERED
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg and importlib.util.find_spec(f"{package}.{info.name}.provider") is not None:
            importlib.import_module(f"{package}.{info.name}.provider")
    _DISCOVERED = True


def providers() -> list[_Provider]:
    if not _DISCOVERED:
        discover()
    return sorted(_REGISTRY.values(), key=lambda p: (p.order, p.name))


def run_providers(ctx: InspectorContext, speed: Speed = "all") -> tuple[list[RadiusRow], list[str]]:
    """Run every provider (or only the fast or the slow ones); returns the rows in provider order and one message
    per provider that failed."""
    rows, errors = [], []
    for p in providers():
        if speed != "all" and p.slow != (speed == "slow"):
            continue
        try:
            row = p.fn(ctx)
        except Exception as exc:     # one broken method must not take the inspector down
            errors.append(f"{p.name}: {type(exc).__name__}: {exc}")
            continue
        if row is not None:
            rows.append(row)
    return rows, errors


def ground_truth(rows: list[RadiusRow]) -> RadiusRow | None:
    """The exact robust radius of the smoothed classifier, if a provider gave one."""
    return next((r for r in rows if r.kind == "exact" and r.classifier == "smoothed"), None)


def audit(rows: list[RadiusRow]) -> list[str]:
    """Certificates that claim more than the exact distance to the smoothed boundary allows."""
    truth = ground_truth(rows)
    if truth is None or not math.isfinite(truth.radius):
        return []
    out = []
    for r in rows:
        if r.kind == "certificate" and r.classifier == "smoothed" and r.radius > 0:
            if r.radius > truth.radius + truth.error + r.error:
                out.append(f"{r.method} claims {r.radius:.3f}, but the smoothed boundary is only "
                           f"{truth.radius:.3f} ± {truth.error:.3f} away.")
    return out


def describe(row: RadiusRow) -> dict[str, Any]:
    """A table row for st.dataframe."""
    radius = "∞ (no boundary in view)" if math.isinf(row.radius) else f"{row.radius:.3f}"
    if row.error and math.isfinite(row.radius):
        radius += f" ± {row.error:.3f}"
    return {"method": row.method, "radius": radius, "kind": row.kind,
            "guaranteed": "yes" if row.sound else "no", "about": row.classifier, "note": row.note}
