"""Receipt for Bernstein-polynomial smoothing (Kao, Ko & Lu): the operator's closed-form identities (Eq. 7–8:
B_n reproduces linear functions, B_n(x²) = x² + x(1 − x)/n) and the root-finding radius (Eq. 9–10, Alg. 2)
overestimating the distance to the boundary, run with ``cert_core.methods.bernstein.polynomial`` as the
Bernstein page does.
"""
from __future__ import annotations

import numpy as np

from cert_core.methods.bernstein import polynomial as bernstein
from cert_core.methods.bernstein.radii import root_finding_radius
from cert_core.receipts.base import Line, ReceiptResult, Scale, View

DEGREE = 10
TOL = 1e-12


def identities_and_root_finding(scale: Scale) -> ReceiptResult:
    t = np.linspace(0, 1, 101)
    x = t[:, None]                                                               # (101, 1)
    linear = bernstein.fit(lambda p: 2 * p[:, :1] - 1, DEGREE, 1)(x)[:, 0]
    square = bernstein.fit(lambda p: p[:, :1] ** 2, DEGREE, 1)(x)[:, 0]
    err_linear = float(np.abs(linear - (2 * t - 1)).max())
    err_square = float(np.abs(square - (t ** 2 + t * (1 - t) / DEGREE)).max())
    # a linear two-class head: B_n reproduces its margin, so its boundary is the line w·x + b = 0
    w, b, x0 = np.array([2.0, -1.0]), -0.4, np.array([0.7, 0.3])
    poly = bernstein.fit(lambda p: np.stack([p @ w + b, np.zeros(len(p))], 1), 5, 2)
    root = root_finding_radius(poly, x0)
    distance = abs(w @ x0 + b) / np.linalg.norm(w)
    lines = (Line(f"max |B_{DEGREE}(x) − x| on [0, 1]", f"{err_linear:.1e}", f"0 (± {TOL:g})", err_linear <= TOL),
             Line(f"max |B_{DEGREE}(x²) − x² − x(1−x)/{DEGREE}|", f"{err_square:.1e}", f"0 (± {TOL:g})",
                  err_square <= TOL),
             Line("root-finding radius vs true distance", f"{root.radius:.3f} vs {distance:.3f} "
                  f"(×{root.radius / distance:.2f})", "radius > distance (on the boundary)",
                  bool(root.on_boundary and root.radius > distance * (1 + 1e-6))))
    return ReceiptResult("", "Bernstein smoothing reproduces linear functions and biases x² by x(1 − x)/n; the "
                         "root-finding radius lands on *a* boundary point, not the nearest, so it overestimates the "
                         "distance and is not a certificate.",
                         "Kao, Ko & Lu, Eq. 7–8 (Bernstein operator) and Eq. 9–10 / Algorithm 2 (root-finding radius)",
                         f"identities to {TOL:g} (float64); root-finding strictly above the exact distance",
                         lines, View("bernstein", "moons-mlp-s0", None, None,
                                     "click a point: root-finding vs the sound Lipschitz radius"),
                         setting=f"1-D identities at n = {DEGREE} on 101 points; linear head 2x₁ − x₂ − 0.4 at "
                                 f"x0 = (0.7, 0.3), n = 5, Levenberg–Marquardt from x0")
