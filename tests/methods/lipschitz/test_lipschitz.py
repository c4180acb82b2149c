"""Spectral norms, the Lipschitz upper bound, Björck orthonormalisation and 1-Lipschitz layers."""
import math

import pytest
import torch
from torch import nn

import cert_core.methods.lipschitz.spectral as spectral
from cert_core.methods.lipschitz.bounds import layer_bounds, lipschitz_upper_bound, spectral_normalize
from cert_core.methods.lipschitz.spectral import spectral_norm
from cert_core.models.architectures import ModelConfig, build_model
from cert_core.models.orthogonal import BjorckLinear, bjorck_orthonormalize, mean_row_dot, orthogonality_error


def _dense_norm(op, shape):
    x = torch.zeros((1, *shape), dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(op, x).reshape(-1, math.prod(shape))
    return float(torch.linalg.matrix_norm(jac, ord=2))


def test_linear_spectral_norm_brackets_svd():
    torch.manual_seed(0)
    layer = nn.Linear(30, 20)
    s = spectral_norm(layer, (30,))
    true = float(torch.linalg.matrix_norm(layer.weight.detach().double(), ord=2))
    assert s.converged and s.method == "gram"
    assert s.estimate <= true * (1 + 1e-9) and true <= s.upper <= true * 1.001


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 0), (1, 0)])
def test_conv_spectral_norm_is_the_operator_norm_on_the_shape(stride, padding):
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, 3, stride=stride, padding=padding)
    w = conv.weight.detach().double()
    true = _dense_norm(lambda x: nn.functional.conv2d(x, w, None, stride, padding), (2, 7, 7))
    s = spectral_norm(conv, (2, 7, 7))
    assert s.estimate <= true * (1 + 1e-9) <= s.upper * (1 + 1e-9) and s.upper <= true * 1.001


def test_schur_fallback_is_a_safe_upper_bound(monkeypatch):
    torch.manual_seed(2)
    conv = nn.Conv2d(2, 4, 3, padding=1)
    monkeypatch.setattr(spectral, "MAX_DENSE", 10)  # force the large-operator path
    s = spectral_norm(conv, (2, 6, 6))
    w = conv.weight.detach().double()
    true = _dense_norm(lambda x: nn.functional.conv2d(x, w, None, 1, 1), (2, 6, 6))
    assert s.method == "schur" and s.upper >= true and s.estimate <= true * (1 + 1e-9)


def test_power_iteration_reports_non_convergence():
    layer = nn.Linear(10, 10)
    s = spectral_norm(layer, (10,), tol=1e-15, max_iter=2)
    assert s.iterations == 2 and not s.converged and s.upper >= s.estimate


@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("cnn", (1, 8, 8))])
def test_bound_never_below_measured_local_gradient_norms(arch, shape):
    config = ModelConfig(arch, shape, 3, width=8, depth=2, activation="leaky_relu", mean=(0.1,), std=(0.5,))
    model = build_model(config, seed=3).eval()
    bound = lipschitz_upper_bound(model, shape)
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.randn((1, *shape), generator=gen)
        jac = torch.autograd.functional.jacobian(lambda z: model(z)[0], x).reshape(3, -1)
        assert float(torch.linalg.matrix_norm(jac, ord=2)) <= bound


def test_overlapping_pools_are_bounded_by_their_dense_norm():
    for pool in (nn.AvgPool2d(3, stride=1), nn.AvgPool2d(2), nn.MaxPool2d(3, stride=2)):
        (b,) = layer_bounds(nn.Sequential(pool), (1, 7, 7))
        x = torch.randn(1, 1, 7, 7, dtype=torch.float64)
        jac = torch.autograd.functional.jacobian(lambda z: pool(z), x).reshape(-1, 49)
        assert float(torch.linalg.matrix_norm(jac, ord=2)) <= b.upper + 1e-12


def _pool_jacobian_norm(pool, shape, x):
    """Largest singular value of the pool's Jacobian at x: the true operator norm for a (linear) average
    pool; for a max pool, its local Lipschitz constant at x."""
    jac = torch.autograd.functional.jacobian(lambda z: pool(z), x[None].double()).reshape(-1, math.prod(shape))
    return float(torch.linalg.matrix_norm(jac, ord=2))


AVG_POOLS = {  # each used to be bounded as a kh*kw average, below its true norm (reported -> true)
    "count_include_pad=False": nn.AvgPool2d(2, padding=1, count_include_pad=False),      # 0.5 -> 1.0
    "ceil_mode": nn.AvgPool2d(2, ceil_mode=True),                                         # 0.5 -> 1.0
    "divisor_override": nn.AvgPool2d(2, divisor_override=1),                              # 0.5 -> 2.0
    "negative divisor_override": nn.AvgPool2d(2, divisor_override=-1),
    "overlap, no pad counted": nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "ceil_mode and padding": nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
    "uniform": nn.AvgPool2d(2),
}


@pytest.mark.parametrize("dense", [True, False], ids=["gram", "schur"])
@pytest.mark.parametrize("name", list(AVG_POOLS))
def test_avg_pool_bound_is_never_below_the_true_operator_norm(name, dense, monkeypatch):
    if not dense:
        monkeypatch.setattr(spectral, "POOL_DENSE", 0)  # the large-plane path: Schur only
    pool, shape = AVG_POOLS[name], (2, 5, 5)
    true = _pool_jacobian_norm(pool, shape, torch.zeros(shape))
    (b,) = layer_bounds(nn.Sequential(pool), shape)
    assert b.estimate <= true * (1 + 1e-9) <= b.upper * (1 + 1e-9)
    if dense:  # the Gram bound is within rank^(1/2^17) < 1.0001 of the truth, plus the 1e-6 rounding slack
        assert b.upper <= true * 1.001


MAX_POOLS = {"ceil_mode": nn.MaxPool2d(2, ceil_mode=True), "padding": nn.MaxPool2d(3, stride=2, padding=1),
             "dilation": nn.MaxPool2d(2, stride=1, dilation=2), "all three": nn.MaxPool2d(3, 2, 1, 2, ceil_mode=True),
             "overlap": nn.MaxPool2d(3, stride=1)}


@pytest.mark.parametrize("name", list(MAX_POOLS))
def test_max_pool_bound_is_its_exact_lipschitz_constant(name):
    pool, shape = MAX_POOLS[name], (1, 6, 6)
    (b,) = layer_bounds(nn.Sequential(pool), shape)
    spikes = []
    for i in range(math.prod(shape)):  # a spike wins every window holding it: the local constant is sqrt(count)
        x = torch.zeros(math.prod(shape))
        x[i] = 1.0
        spikes.append(_pool_jacobian_norm(pool, shape, x.reshape(shape)))
    # both are sqrt of the same integer; the SVD of the spike's Jacobian may round a few ulps either way
    assert b.upper == pytest.approx(max(spikes), rel=1e-9)


def test_unsupported_layer_and_non_sequential_are_named():
    with pytest.raises(ValueError, match=r"Layer 1 \(GELU\) is not supported"):
        lipschitz_upper_bound(nn.Sequential(nn.Linear(2, 3), nn.GELU()), (2,))
    with pytest.raises(ValueError, match="must be an nn.Sequential.*Got Linear"):
        lipschitz_upper_bound(nn.Linear(2, 2), (2,))
    with pytest.raises(ValueError, match="'input_shape' parameter of lipschitz_upper_bound"):
        lipschitz_upper_bound(nn.Sequential(nn.Linear(2, 2)), (0,))
    with pytest.raises(ValueError, match="Layer 0 \\(Linear\\) cannot take inputs of shape"):
        lipschitz_upper_bound(nn.Sequential(nn.Linear(2, 2)), (3,))
    with pytest.raises(ValueError, match="'tol' parameter of spectral_norm"):
        spectral_norm(nn.Linear(2, 2), (2,), tol=0)


def test_spectral_normalize_makes_every_layer_one_lipschitz():
    model = build_model(ModelConfig("cnn", (1, 8, 8), 3, width=4, depth=2), seed=0)
    before = lipschitz_upper_bound(model, (1, 8, 8))
    normed = spectral_normalize(model, (1, 8, 8))
    assert all(b.upper <= 1 + 1e-4 for b in layer_bounds(normed, (1, 8, 8)))
    assert lipschitz_upper_bound(model, (1, 8, 8)) == before  # the original is untouched


def test_bjorck_iteration_converges_to_orthonormal_rows_and_columns():
    torch.manual_seed(4)
    for shape in ((20, 50), (50, 20), (32, 32)):
        w = torch.randn(*shape, dtype=torch.float64)
        errors = [orthogonality_error(bjorck_orthonormalize(w, k)) for k in (2, 8, 30)]
        assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-10
    wide = bjorck_orthonormalize(torch.randn(20, 50, dtype=torch.float64), 30)
    assert mean_row_dot(wide) < 1e-10  # the paper's stopping statistic (App. C.2.1)
    early = bjorck_orthonormalize(torch.randn(20, 50, dtype=torch.float64), 100, tol=1e-6)
    assert orthogonality_error(early) <= 1e-6
    with pytest.raises(ValueError, match="'w' parameter of bjorck_orthonormalize must be a 2D float"):
        bjorck_orthonormalize(torch.ones(3))


def test_bjorck_linear_is_one_lipschitz_and_trainable():
    layer = BjorckLinear(6, 4, iters=25)
    with torch.no_grad():
        layer.weight.add_(0.3 * torch.randn(4, 6))  # no longer orthogonal: Björck must fix it
    s = spectral_norm(layer, (6,))
    assert abs(s.estimate - 1) < 1e-5 and s.upper < 1 + 1e-4
    loss = layer(torch.randn(5, 6)).sum()
    loss.backward()
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
    layer.eval()
    with torch.no_grad():
        y1 = layer(torch.ones(1, 6))
        layer.weight.mul_(2.0)  # in-place change must invalidate the eval cache (scale-invariant result)
        y2 = layer(torch.ones(1, 6))
        layer.weight.add_(torch.randn(4, 6))
        y3 = layer(torch.ones(1, 6))
    assert torch.allclose(y1, y2, atol=1e-5) and not torch.allclose(y1, y3, atol=1e-3)
