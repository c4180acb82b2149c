"""Activation paths (Jiang): patterns, float neurons, Theorem 1 decomposition, SC-RFP (Algorithm 1)."""
import numpy as np
import pytest
import torch
from torch import nn

from cert_core.methods.paths import network, scrfp
from cert_core.methods.paths import neurons as paths
from cert_core.smoothing import Smooth


def _mlp(act=nn.ReLU, seed=0, d=2, k=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, k)).eval()


def _cnn(seed=0):
    torch.manual_seed(seed)
    bn = nn.BatchNorm2d(4)
    bn.running_mean.uniform_(-0.2, 0.2)
    bn.running_var.uniform_(0.5, 2.0)
    bn.weight.data.uniform_(0.5, 1.5)
    bn.bias.data.uniform_(-0.3, 0.3)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), bn, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 12), nn.LeakyReLU(0.1), nn.Linear(12, 5)).eval()


def _ortho(seed=0):
    from cert_core.models.architectures import ModelConfig, build_model
    return build_model(ModelConfig("ortho_mlp", (2,), 3, width=16, depth=2), seed=seed).eval()


MODELS = {
    "relu-mlp": (lambda: _mlp(nn.ReLU), (2,)),
    "leaky-mlp": (lambda: _mlp(lambda: nn.LeakyReLU(0.2)), (2,)),
    "hardtanh-mlp": (lambda: _mlp(lambda: nn.Hardtanh(-0.5, 0.5)), (2,)),
    "bn-maxpool-cnn": (_cnn, (1, 8, 8)),
    "ortho-mlp": (lambda: _ortho(), (2,)),  # Björck layers: affine at inference (materialised orthonormal weight)
}


def _points(shape, n=64, scale=0.5, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    return x, x + scale * torch.randn((n, *shape), generator=g)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("region", ["pairwise", "set"])
def test_fixed_plus_float_is_f_exactly(name, region):
    build, shape = MODELS[name]
    model = build()
    x, pts = _points(shape)
    d = paths.decompose(model, x, pts, region)
    assert any(m.any() for m in d.float_masks)            # there are float neurons, so the split is not trivial
    assert d.float.abs().max() > 1e-3
    with torch.no_grad():
        f = model.double()(pts.double())
    # float64 throughout: the same sums in another order (another BLAS, another torch build) differ by ~1e-15 on
    # these O(1) outputs; 1e-9 leaves a millionfold margin for that and is still 1e6 below the float part (> 1e-3)
    # that a wrong decomposition would misplace
    torch.testing.assert_close(d.output, f, rtol=0, atol=1e-9)
    torch.testing.assert_close(d.fixed + d.float, f, rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", MODELS)
def test_float_paths_vanish_inside_one_activation_region(name):
    build, shape = MODELS[name]
    model = build()
    x, pts = _points(shape, scale=1e-7)
    same = [(p == p[:1]).all() for p in paths.activation_patterns(model, torch.cat([x[None], pts]))]
    assert all(same)                                      # all points lie in x's activation region
    d = paths.decompose(model, x, pts, "set")
    assert not any(m.any() for m in d.float_masks)
    assert torch.equal(d.float, torch.zeros_like(d.float))
    torch.testing.assert_close(d.fixed, d.output, rtol=0, atol=1e-9)    # see the margin above


@pytest.mark.parametrize("name", ["relu-mlp", "hardtanh-mlp", "bn-maxpool-cnn"])
def test_fixed_paths_are_affine_over_the_region(name):
    build, shape = MODELS[name]
    model = build()
    x, pts = _points(shape, n=80, scale=0.3)
    d = paths.decompose(model, x, pts, "set")
    design = torch.cat([pts.flatten(1).double(), torch.ones(len(pts), 1, dtype=torch.float64)], 1)
    def residual(values):
        sol = torch.linalg.lstsq(design, values).solution
        return (design @ sol - values).abs().max().item()
    if design.shape[1] < len(pts):                        # an affine fit is a real test (more points than unknowns)
        assert residual(d.fixed) < 1e-9
        assert residual(d.output) > 1e-3                  # f itself is not affine over R: float paths matter
    else:                                                  # too many unknowns: check affinity along a segment
        a, b = x.double(), pts[0].double()
        seg = torch.stack([a + t * (b - a) for t in torch.linspace(0, 1, 9, dtype=torch.float64)])
        d2 = paths.decompose(model, x, torch.cat([pts.double(), seg]), "set")
        z = d2.fixed[len(pts):]
        second = z[2:] - 2 * z[1:-1] + z[:-2]
        assert second.abs().max() < 1e-9


@pytest.mark.parametrize("name", MODELS)
def test_theorem_1_2_identity(name):
    """f(x) − f(x') = J(x)(x − x') + Z_T(x', A; R) − Z_T(x', A'; R) with R = {x, x'}."""
    build, shape = MODELS[name]
    model = build().double()
    x, pts = _points(shape, n=20, scale=0.4)
    x, pts = x.double(), pts.double()
    net = network.as_network(model)
    a_x = paths.activation_patterns(net, x[None])
    a_p = paths.activation_patterns(net, pts)
    fixed = [p == q for p, q in zip(a_x, a_p)]
    _, zt_a = paths.path_sums(net, pts, a_x, fixed)       # slopes of x on every path
    _, zt_own = paths.path_sums(net, pts, a_p, fixed)     # the points' own slopes
    with torch.no_grad():
        f_x, f_p = model(x[None]), model(pts)
    jac = paths.jacobian(model, x[None])[0]               # (K, prod D)
    lhs = f_x - f_p
    rhs = (x.flatten() - pts.flatten(1)) @ jac.T + zt_a - zt_own
    assert (zt_a - zt_own).abs().max() > 1e-3             # the float term is not trivially zero
    torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-9)   # float64, robust to reordered sums


@pytest.mark.parametrize("name", MODELS)
def test_scrfp_with_eta_zero_is_f(name):
    build, shape = MODELS[name]
    model = build()
    x, pts = _points(shape)
    with torch.no_grad():
        torch.testing.assert_close(scrfp.scrfp_forward(model, x, pts, 0.0), model(pts), rtol=0, atol=0)
        inside = x + 1e-7 * (pts - x)                      # same region: nothing floats, any η gives f
        torch.testing.assert_close(scrfp.scrfp_forward(model, x, inside, 0.7), model(inside), rtol=0, atol=1e-6)


def test_scrfp_represses_float_units_by_one_minus_eta():
    """Algorithm 1 on one hidden ReLU layer: float units contribute (1 − η) of their value."""
    model = _mlp(nn.ReLU)
    lin1, lin2 = model[0], model[2]
    one_layer = nn.Sequential(lin1, nn.ReLU(), nn.Linear(16, 3)).eval()
    x, pts = _points((2,))
    eta = 0.3
    with torch.no_grad():
        z, zc = lin1(pts), lin1(x[None])
        floating = (z > 0) != (zc > 0)
        h = torch.relu(torch.where(floating, (1 - eta) * z, z))
        expected = one_layer[2](h)
        torch.testing.assert_close(scrfp.scrfp_forward(one_layer, x, pts, eta), expected)
    assert floating.any()


def _algorithm1_cnn(model, x, pts, eta):
    """Algorithm 1 as printed, written out for Conv-ReLU-MaxPool-Flatten-Linear-ReLU-Linear: masks on the
    ReLU blocks only (I_i^T from z_i(x) vs z_i(x + ε)); the max-pool is applied as it is."""
    conv, pool, flat, lin1, lin2 = model[0], model[2], model[3], model[4], model[6]
    zc1 = conv(x[None])
    z1 = conv(pts)
    z1 = z1 - z1 * ((zc1 > 0) != (z1 > 0)) * eta
    zc2, z2 = lin1(flat(pool(torch.relu(zc1)))), lin1(flat(pool(torch.relu(z1))))
    z2 = z2 - z2 * ((zc2 > 0) != (z2 > 0)) * eta
    return lin2(torch.relu(z2))


class _Algorithm1(nn.Module):
    def __init__(self, model, x, eta):
        super().__init__()
        self.model, self.x, self.eta = model, x, eta

    def forward(self, z):
        return _algorithm1_cnn(self.model, self.x, z, self.eta)


def _pool_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(6 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 4)).eval()


def test_scrfp_default_follows_algorithm_1_and_leaves_max_pool_windows_alone():
    """Audit item 5: by default SC-RFP represses the activations' masks only (Algorithm 1, APCT's DualNet);
    repressing max-pool windows too is a named variant that moves the logits and the votes."""
    model = _pool_cnn()
    x, pts = _points((1, 8, 8), n=512, scale=0.6)
    eta = 0.5
    with torch.no_grad():
        expected = _algorithm1_cnn(model, x, pts, eta)
        torch.testing.assert_close(scrfp.scrfp_forward(model, x, pts, eta), expected, rtol=1e-5, atol=1e-5)
        variant = scrfp.scrfp_forward(model, x, pts, eta, pool="repress-max-pool")
    assert (variant - expected).abs().max() > 1e-2
    assert (variant.argmax(1) != expected.argmax(1)).any()

    kw = dict(n0=50, n=2000, alpha=0.01, batch_size=500)
    ref = Smooth(_Algorithm1(model, x, eta), 4, 0.6).certify(x, generator=torch.Generator().manual_seed(5), **kw)
    ours = scrfp.ScRfpSmooth(model, 4, 0.6, eta).certify(x, generator=torch.Generator().manual_seed(5), **kw)
    other = scrfp.ScRfpSmooth(model, 4, 0.6, eta, pool="repress-max-pool").certify(
        x, generator=torch.Generator().manual_seed(5), **kw)
    assert ours.counts == ref.counts
    assert other.counts != ref.counts


def test_scrfp_pool_option_is_validated():
    with pytest.raises(ValueError, match="The 'pool' parameter of ScRfpSmooth must be one of"):
        scrfp.ScRfpSmooth(_pool_cnn(), 4, 0.5, 0.25, pool="maxpool")


def test_scrfp_smooth_with_eta_zero_matches_cohen():
    model = _mlp(nn.ReLU)
    x = torch.tensor([0.3, -0.2])
    a = scrfp.ScRfpSmooth(model, 3, 0.5, 0.0).certify(x, 50, 500, 0.01, 256, torch.Generator().manual_seed(3))
    b = Smooth(model, 3, 0.5).certify(x, 50, 500, 0.01, 256, torch.Generator().manual_seed(3))
    assert a.counts == b.counts and a.radius == b.radius


def test_hardtanh_breakpoints_give_three_intervals():
    net = network.as_network(nn.Sequential(nn.Linear(1, 1, bias=False), nn.Hardtanh(-1.0, 2.0)))
    with torch.no_grad():
        net.steps[0].weight.fill_(1.0)
    pats = paths.activation_patterns(net, torch.tensor([[-3.0], [-1.0], [0.5], [2.0], [5.0]]))
    assert pats[0].flatten().tolist() == [0, 0, 1, 1, 2]      # a breakpoint value goes to the lower interval
    assert net.neuron_layers[0].breakpoints == (-1.0, 2.0)


def test_fixed_ratio_per_layer():
    model = _mlp(nn.ReLU)
    xs = torch.randn(10, 2, generator=torch.Generator().manual_seed(0))
    zero = paths.fixed_ratio(model, xs, 0.0, 4)
    assert zero.overall == 1.0 and all(r == 1.0 for r in zero.per_layer)
    small = paths.fixed_ratio(model, xs, 0.05, 64, torch.Generator().manual_seed(1))
    large = paths.fixed_ratio(model, xs, 2.0, 64, torch.Generator().manual_seed(1))
    assert len(small.per_layer) == 2 and len(small.per_input) == 10
    assert 1.0 > small.overall > large.overall > 0.0


def test_set_float_neurons_are_the_union_of_pairwise():
    model = _cnn()
    x, pts = _points((1, 8, 8), n=10)
    pair = paths.float_neurons(model, x, pts, "pairwise")
    union = paths.float_neurons(model, x, pts, "set")
    for p, u in zip(pair, union):
        assert torch.equal(p.any(0, keepdim=True), u)


def test_unsupported_models_name_the_layer():
    with pytest.raises(ValueError, match=r"Layer 1 \(Sigmoid\) is not supported"):
        network.as_network(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="TorchScript"):
        network.as_network(torch.jit.script(_mlp()))
    with pytest.raises(ValueError, match="must be an nn.Sequential"):
        network.as_network(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="no piecewise-linear activation"):
        network.as_network(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match=r"The 'eta' parameter of ScRfpSmooth must be a float in \[0, 1\]"):
        scrfp.ScRfpSmooth(_mlp(), 3, 0.25, 1.5)
    with pytest.raises(ValueError, match="'region' parameter of float_neurons"):
        paths.float_neurons(_mlp(), torch.zeros(2), torch.zeros(3, 2), "ball")


def test_zoo_models_parse():
    from cert_core.models.zoo import load_zoo_model
    for name in ("moons-mlp-s0.25", "digits-cnn-s0.25", "moons-ortho-mscr-s0.2"):
        net = network.as_network(load_zoo_model(name).model)
        assert any(isinstance(s, network.MaxPool) for s in net.steps) == name.startswith("digits")


def test_bjorck_layers_become_their_orthonormal_affine_map():
    from cert_core.models.orthogonal import BjorckLinear
    model = _ortho()
    net = network.as_network(model)
    linears = [s for s in net.steps if isinstance(s, nn.Linear)]
    bjorck = [m for m in model if isinstance(m, BjorckLinear)]
    assert len(linears) == len(bjorck) == 3 and not any(isinstance(s, BjorckLinear) for s in net.steps)
    with torch.no_grad():
        for lin, m in zip(linears, bjorck):
            torch.testing.assert_close(lin.weight, m.ortho_weight(), rtol=0, atol=0)
    x = torch.randn(20, 2)
    with torch.no_grad():
        torch.testing.assert_close(scrfp.scrfp_forward(model, x[0], x, 0.0), model(x), rtol=0, atol=1e-6)

