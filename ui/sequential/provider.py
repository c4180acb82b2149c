"""Sequential, anytime-valid CERTIFY in the point inspector: the same α and budget n as Monte Carlo CERTIFY,
stopping as soon as the radius cannot grow by another 10% (``cert_core.sequential``: Ville's inequality over a
fixed ladder; valid whatever the stopping rule). The row's note says how many samples it took against fixed n.

Registered ``slow``: at ~0.2 s of CPU per point it was the costliest of the fast rows (5× Monte Carlo CERTIFY) and
is not part of a click's first answer, so it runs in the background job with the other late rows; the path chart
under the table shares its computation (``cache.shared_path``)."""
from __future__ import annotations

from cert_core.smoothing import ABSTAIN
from ui.inspector import InspectorContext, RadiusRow, register_provider
from ui.sequential import cache


@register_provider(order=45, name="sequential_anytime", slow=True)
def sequential_certificate(ctx: InspectorContext) -> RadiusRow:
    params = cache.path_params(ctx.point, ctx.sigma, ctx.n0, ctx.n, ctx.alpha, ctx.seed)
    path = ctx.shared("sequential_path", lambda: cache.shared_path(ctx.model, ctx.num_classes, params))
    cert = path.certificate
    note = cache.summary(path, ctx.certificate)
    return RadiusRow("Sequential CERTIFY (anytime)", cert.radius, ABSTAIN if cert.abstained else cert.prediction,
                     "certificate", True, note)
