"""Cached cert_core.methods.paths.network / neurons / scrfp / audit / vulnerability calls for the activation-paths page.

Keys are small hashables (model key, floats, tuples); models and arrays are passed with a leading
underscore so Streamlit does not hash them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from torch import nn

from cert_core import grid_view
from cert_core.methods.float_soundness.counterexample import FloatCounterexample, FloatCounterexampleParams
from cert_core.methods.float_soundness.counterexample import float_counterexample as _float_counterexample
from cert_core.methods.paths import audit
from cert_core.methods.paths import network, scrfp
from cert_core.methods.paths import neurons as paths
from cert_core.models.data import load_dataset
from cert_core.metrics import average_certified_radius
from cert_core.methods.paths.vulnerability import vulnerability
from cert_core.models.zoo import ZOO, load_zoo_model


@st.cache_data(show_spinner="Counting fixed neurons under noise…", max_entries=32)
def ratio_curve(model_key: str, _model, data_key: str, _x: np.ndarray, sigmas: tuple, samples: int,
                seed: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Figure 2: fixed ratio per layer (columns) and overall (last column) for each σ (rows)."""
    x = torch.as_tensor(_x, dtype=torch.float32)
    rows, names = [], ()
    for s in sigmas:
        r = paths.fixed_ratio(_model, x, s, samples, torch.Generator().manual_seed(seed))
        rows.append(list(r.per_layer) + [r.overall])
        names = r.layers
    return names, np.array(rows)                                           # (S, L + 1)


@st.cache_data(show_spinner="Mapping the float ratio over the plane…", max_entries=32)
def float_map(model_key: str, _model, bounds: tuple, resolution: int, sigma: float, samples: int,
              seed: int) -> np.ndarray:
    """1 − fixed ratio at each pixel centre (between p and p + ε, averaged over ε)."""   # (R, R)
    xs, ys = np.linspace(bounds[0], bounds[1], resolution), np.linspace(bounds[2], bounds[3], resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    r = paths.fixed_ratio(_model, pts, sigma, samples, torch.Generator().manual_seed(seed))
    return 1.0 - np.array(r.per_input).reshape(resolution, resolution)


@dataclass(frozen=True)
class Surfaces:
    s: np.ndarray          # (R,) coordinate along the first direction
    t: np.ndarray          # (R,) coordinate along the second direction
    f: np.ndarray          # (R, R) the chosen logit of f
    fixed: np.ndarray      # (R, R) Z_fixed
    float: np.ndarray      # (R, R) Z_float
    scrfp: np.ndarray      # (R, R) SC-RFP logit at η (repressed relative to the centre)
    float_ratio: float     # float neurons of the region, fraction


@dataclass(frozen=True)
class SurfaceParams:
    center: tuple[float, ...]     # x, flattened: a 2D point or every pixel of a test image (the whole input)
    shape: tuple[int, ...]        # x's shape
    how: str                      # directions u, v: "plane" (the axes), "random orthogonal", "gradient and random"
    half: float                   # the slice spans x + s u + t v with |s|, |t| <= half
    resolution: int               # grid points per axis
    cls: int                      # the logit f_k drawn
    region: str                   # float neurons of "set" (the whole slice) or "pairwise" ({x, x'})
    eta: float                    # SC-RFP repression
    pool: str = "paper"           # SC-RFP masks: "paper" (Algorithm 1) or "repress-max-pool" (named variant)

    @classmethod
    def at(cls_, center: np.ndarray, *args) -> "SurfaceParams":
        return cls_(tuple(np.asarray(center, dtype=np.float32).ravel().tolist()), tuple(center.shape), *args)


@st.cache_data(show_spinner="Decomposing f into fixed and float paths…", max_entries=32)
def surfaces(model_key: str, _model, p: SurfaceParams) -> Surfaces:
    """Figure 6 on the plane x + s u + t v, |s|, |t| ≤ half."""
    center = np.array(p.center, dtype=np.float32).reshape(p.shape)
    dirs = np.eye(2, dtype=np.float32) if p.how == "plane" else directions(_model, center, p.how, 0)
    half, resolution, cls, region, eta = p.half, p.resolution, p.cls, p.region, p.eta
    s = np.linspace(-half, half, resolution)
    gs, gt = np.meshgrid(s, s)
    c = torch.as_tensor(center, dtype=torch.float64)
    u, v = (torch.as_tensor(d, dtype=torch.float64) for d in dirs)
    flat = c.flatten()[None] + torch.as_tensor(gs.ravel())[:, None] * u.flatten()[None] \
        + torch.as_tensor(gt.ravel())[:, None] * v.flatten()[None]
    pts = flat.view(-1, *c.shape)                                                  # (R², *D)
    d = paths.decompose(_model, c, pts, region)
    with torch.no_grad():
        rep = scrfp.scrfp_forward(network.as_network(_model, torch.float64), c, pts, eta, p.pool)
    shape = (resolution, resolution)
    return Surfaces(s, s, d.output[:, cls].numpy().reshape(shape), d.fixed[:, cls].numpy().reshape(shape),
                    d.float[:, cls].numpy().reshape(shape), rep[:, cls].numpy().reshape(shape),
                    float(d.float_ratio.mean()))


def plane_center(picked, data) -> tuple[np.ndarray, str]:
    """x on the plane: the selected point, else the first test point (else the origin), and how to call it."""
    if picked is not None:
        return np.array(picked, dtype=np.float32), "the selected point"
    center = np.array(data.x_test[0] if data is not None else (0.0, 0.0), dtype=np.float32)
    return center, "the first test point (select one on Decision boundaries)"


def directions(model, x: np.ndarray, how: str, seed: int) -> np.ndarray:
    """Two orthonormal directions through x: random, or the gradient of the top logit and a random one."""
    g = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    r1, r2 = torch.randn(xt.shape, generator=g), torch.randn(xt.shape, generator=g)
    if how == "gradient and random":
        jac = paths.jacobian(model, xt[None])[0]                                  # (K, prod D)
        with torch.no_grad():
            k = int(model(xt[None]).argmax())
        r1 = jac[k].view(xt.shape) if float(jac[k].norm()) > 0 else r1
    u = r1 / r1.norm()
    v = r2 - (r2 * u).sum() * u
    return torch.stack([u, v / v.norm()]).numpy()


def diagram_widths(net: network.Network) -> list[int] | None:
    """Layer widths of a small MLP (input first) whose neurons fit in a diagram; None otherwise."""
    linears = [s for s in net.steps if isinstance(s, nn.Linear)]
    mlp = all(isinstance(s, (nn.Linear, nn.Flatten, network.Activation)) for s in net.steps)
    if not mlp or max(lin.out_features for lin in linears) > 64 or linears[0].in_features > 64:
        return None
    return [linears[0].in_features] + [lin.out_features for lin in linears]


def floating_in_ball(model, center: np.ndarray, r: float, count: int = 256) -> list[np.ndarray]:
    """The hidden neurons that float somewhere in B(x, r): x and ``count`` points drawn uniformly in the ball."""
    gen = torch.Generator().manual_seed(0)
    d = torch.randn((count, *center.shape), generator=gen)
    d = d / d.flatten(1).norm(dim=1).view(-1, *[1] * center.ndim)
    u = torch.rand((count,) + (1,) * center.ndim, generator=gen) ** (1 / center.size)
    region = torch.as_tensor(center) + r * u * d                               # uniform in the ball
    masks = paths.float_neurons(model, torch.as_tensor(center), region, "set")
    return [m[0].flatten().numpy() for m in masks]


@st.cache_data(show_spinner=False, max_entries=64)
def labels(model_key: str, _model, bounds: tuple, resolution: int) -> np.ndarray:
    return grid_view.base_predictions(_model, bounds, resolution)             # (R, R)


@dataclass(frozen=True)
class Constructed:
    """Section 'Why the SC-RFP radius is not a certificate': the 2-neuron net of audit.constructed_network."""
    cohen: audit.PointAudit
    scrfp: audit.PointAudit
    labels: np.ndarray            # (121, 121) its classes on BOUNDS
    x: tuple = (0.3, 0.0)
    eta: float = 1.0
    sigma: float = 0.25
    bounds: tuple = (-1.2, 1.2, -1.2, 1.2)


@st.cache_data(show_spinner=False)
def constructed() -> Constructed:
    model, c = audit.constructed_network(), Constructed
    cohen, scrfp = audit_pair("constructed", model, 2, c.x, np.array([c.x]), c.sigma, c.eta, 2000, 0.001, 25, 0,
                              True)
    return Constructed(cohen.points[0], scrfp.points[0], grid_view.base_predictions(model, c.bounds, 121))


@dataclass(frozen=True)
class AuditParams:
    count: int                    # the first test points, audited and certified
    sigma: float
    eta: float                    # SC-RFP repression
    n: int                        # CERTIFY estimation samples (n0 = 100)
    alpha: float
    pool: str = "paper"           # SC-RFP masks: "paper" (Algorithm 1) or "repress-max-pool" (named variant)


@dataclass(frozen=True)
class Audit:
    params: AuditParams
    cohen: audit.AuditResult      # the same points and search for both methods
    scrfp: audit.AuditResult
    both: dict                    # {method: (radii, correct, ACR)} on the same points


def audit_test_points(current, p: AuditParams) -> Audit:
    """Cohen et al. vs SC-RFP on the current model's first test points: the soundness audit (2D: an exact grid
    search inside every claimed ball; images: PGD verified with PREDICT) and both certified accuracy curves."""
    xs, ys = current.dataset.x_test[:p.count], current.dataset.y_test[:p.count]
    cohen, scrfp = audit_pair(current.key, current.model, current.num_classes, (current.dataset_key, p.count), xs,
                              p.sigma, p.eta, p.n, p.alpha, 17, 0, current.is_2d, p.pool)
    both = certify_both(current.key, current.model, current.num_classes, current.dataset_key, xs, ys, p.sigma, p.eta,
                        p.n, p.alpha, 0, p.pool)
    return Audit(p, cohen, scrfp, both)


@st.cache_data(show_spinner="Certifying and auditing (exact search inside every claimed ball)…", max_entries=16)
def audit_pair(model_key: str, _model, num_classes: int, points_key: tuple, _x: np.ndarray, sigma: float,
               eta: float, n: int, alpha: float, resolution: int, seed: int, exact: bool, pool: str = "paper"):
    """(Cohen, SC-RFP) audits of the same points with the same search."""
    if exact:
        run = lambda e: audit.audit_2d(_model, _x, num_classes, sigma, e, 100, n, alpha, resolution, None, seed, pool)
    else:
        run = lambda e: audit.audit_attack(_model, _x, num_classes, sigma, e, 100, n, alpha, 16, 8, seed, pool)
    return run(None), run(eta)


@st.cache_data(show_spinner="Certifying the test set with Cohen et al. and SC-RFP…", max_entries=16)
def certify_both(model_key: str, _model, num_classes: int, data_key: str, _x: np.ndarray, _y: np.ndarray,
                 sigma: float, eta: float, n: int, alpha: float, seed: int, pool: str = "paper") -> dict:
    """Certified accuracy curves of both methods on the same points (the SC-RFP one is not a guarantee)."""
    out = {}
    for name, e in (("Cohen et al.", None), (f"{audit.method_name(eta, pool)}, unsound", eta)):
        certs = audit.smoother(_model, num_classes, sigma, e, pool).certify_batch(
            torch.as_tensor(_x, dtype=torch.float32), 100, n, alpha, 10_000, torch.Generator().manual_seed(seed))
        radii = np.array([c.radius for c in certs])
        correct = np.array([c.prediction for c in certs]) == np.asarray(_y)
        out[name] = (radii, correct, float(average_certified_radius(radii, correct)))
    return out


def siblings(label: str) -> list[str]:
    """Zoo models of the same dataset and architecture at every σ_train (Table 1's rows)."""
    stem = label.rsplit("-s", 1)[0]
    return [e.name for e in ZOO if e.name.rsplit("-s", 1)[0] == stem]


@st.cache_data(show_spinner="Attacking and decomposing each zoo model (Table 1)…", max_entries=16)
def vulnerability_table(names: tuple, eps: float, attack: str, norm: str, count: int, sigma: float) -> list[dict]:
    rows = []
    for name in names:
        loaded = load_zoo_model(name)
        ds = load_dataset(**loaded.metadata["dataset"])
        r = vulnerability(loaded.model, ds.x_test[:count], ds.y_test[:count], eps, attack, norm, sigma=sigma)
        rows.append({"model": name, "σ_train": loaded.metadata.get("sigma_train"),
                     **{f"gap η={e:g}": round(g, 3) for e, g in zip(r.etas, r.repression_gap)},
                     "‖J(x)‖₂": round(r.lipschitz, 2), "acc f(x)": round(100 * r.clean_accuracy, 1),
                     "acc f(x_adv)": round(100 * r.adversarial_accuracy, 1),
                     "acc Z_fixed(x_adv)": round(100 * r.fixed_accuracy, 1), "fooled": r.successful,
                     "float-vulnerable": r.float_vulnerable, "Lipschitz-vulnerable": r.lipschitz_vulnerable})
    return rows


@st.cache_data(show_spinner="Certifying with the standard and the sound sampler…", max_entries=4)
def float_counterexample(params: FloatCounterexampleParams) -> FloatCounterexample:
    """Voráček & Hein's point: standard smoothing's false certificate from float rounding (seeded, ~5 s on a CPU)."""
    return _float_counterexample(params)
