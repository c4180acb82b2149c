"""Sequential certification in the point inspector (ui/sequential/). The page-level check (its row, sentence and
chart on a typed point) rides on tests/app/test_app_boundaries.py's typed-point run, which runs every provider;
here: the path the chart draws, seeded, monotone, ending at the certificate, with σ Φ⁻¹(p̲_A) at every look."""
import numpy as np
from scipy.stats import norm
from ui.sequential import cache, provider


def test_path_is_monotone_ends_at_the_certificate_and_uses_fewer_samples():
    from cert_core.models.zoo import load_zoo_model
    model = load_zoo_model("moons-mlp-s0.25").model
    params = cache.path_params((0.3, 0.6), 0.5, 50, 2_000, 0.01, 0)
    path = cache.sequential_path(model, 2, params)
    again = cache.sequential_path(model, 2, params)
    assert np.array_equal(path.radius, again.radius) and path.drawn == again.drawn          # seeded
    assert np.all(np.diff(path.samples) > 0) and np.all(np.diff(path.p_lower) >= 0)
    assert path.samples[-1] == path.drawn <= 50 + 2_000
    assert path.radius[-1] == path.certificate.radius and path.p_lower[-1] == path.certificate.p_lower
    certified = path.radius > 0                    # the radius is σ Φ⁻¹(p̲_A) at every look
    assert certified.any() and np.allclose(path.radius[certified], 0.5 * norm.ppf(path.p_lower[certified]), atol=1e-9)


def test_provider_row_is_the_path_certificate_and_compares_with_fixed_n():
    from cert_core.models.zoo import load_zoo_model
    from ui.inspector import InspectorContext
    model = load_zoo_model("moons-mlp-s0.25").model
    ctx = InspectorContext(model, 2, (0.3, 0.6), 0.5, base=None, probs=None, n0=50, n=2_000, alpha=0.01)
    row = provider.sequential_certificate(ctx)
    path = ctx.shared("sequential_path", lambda: None)
    assert (row.kind, row.sound, row.radius) == ("certificate", True, path.certificate.radius)
    assert row.note.startswith(f"Stopped after {path.drawn:,} samples") and "fixed n = 2,000 (2,050 samples with n₀)" in row.note
