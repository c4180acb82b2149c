"""Tests for cert_core.models.isolated: a trusted TorchScript file runs in a child process that cannot hang, bloat
or write through the parent; a hostile file fails only its own job. No wall-clock times are asserted: the
short limits below only bound how long a hostile child may take."""
import io
import os

import pytest
import torch
from torch import nn

import hostile_kit
from cert_core.models.isolated import IsolatedModelError, IsolatedModelStopped, IsolatedTorchScript, IsolationLimits
from cert_core.models.bundles import ModelLoadError, load_model

SHORT = IsolationLimits(load_timeout=3.0, call_timeout=3.0)
# the endless models' own limit, 1 s: it never runs out early on them, and each wait costs the suite that long
ENDLESS_LOAD = IsolationLimits(load_timeout=1.0, call_timeout=3.0)
ENDLESS_CALL = IsolationLimits(load_timeout=3.0, call_timeout=1.0)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" not in f.read()
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def mlp_and_proxy():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3)).eval()
    proxy = IsolatedTorchScript(hostile_kit.archive(model))
    yield model, proxy
    proxy._kill()


def test_outputs_and_input_gradients_match_the_model(mlp_and_proxy):
    model, proxy = mlp_and_proxy
    x = torch.rand(7, 2, dtype=torch.float64)
    out = proxy(x)
    assert out.dtype == torch.float64 and out.shape == (7, 3)       # the input's dtype comes back
    torch.testing.assert_close(out.float(), model(x.float()), rtol=1e-6, atol=1e-6)
    a = torch.rand(4, 2, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    (proxy(a) ** 2).sum().backward()                                 # DDRS and attacks need input gradients
    (model(b) ** 2).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)


def test_the_child_reports_what_it_is_denied(mlp_and_proxy):
    _, proxy = mlp_and_proxy
    assert any("RLIMIT_FSIZE" in p for p in proxy.protections)
    if os.path.exists("/proc/self/statm"):
        assert any("address space" in p for p in proxy.protections)


@pytest.mark.parametrize("hostile", ["SetstateWriter", "ForwardWriter"])
def test_trusted_file_writes_nothing_into_the_parents_folder(tmp_path, monkeypatch, hostile):
    target = tmp_path / "runs.sqlite"
    target.write_bytes(b"the run store")
    monkeypatch.chdir(tmp_path)
    proxy = IsolatedTorchScript(hostile_kit.archive(getattr(hostile_kit, hostile)(str(target))), SHORT)
    try:
        proxy(torch.ones(2, 2))                   # its torch.save fails in the child, or lands in its folder
    except IsolatedModelError:
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.sqlite"]     # cwd: the child's own folder
    if any("Landlock" in p for p in proxy.protections):     # Linux with Landlock: absolute paths are safe too
        assert target.read_bytes() == b"the run store"
    proxy._kill()


def test_endless_setstate_times_out_and_the_child_is_killed(monkeypatch):
    import subprocess
    from cert_core.models import isolated
    children = []

    class Recorded(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            children.append(self)

    monkeypatch.setattr(isolated, "DEFAULT_LIMITS", ENDLESS_LOAD)
    monkeypatch.setattr(subprocess, "Popen", Recorded)
    with pytest.raises(ModelLoadError, match=r"did not load within 1 s \(IsolationLimits.load_timeout\)"):
        load_model(hostile_kit.archive(hostile_kit.SetstateLoop()), trust_torchscript=True)
    assert len(children) == 1 and children[0].returncode is not None and not _alive(children[0].pid)


def test_endless_forward_times_out_and_the_parent_carries_on():
    proxy = IsolatedTorchScript(hostile_kit.archive(hostile_kit.ForwardLoop()), ENDLESS_CALL)
    pid = proxy.pid
    with pytest.raises(IsolatedModelStopped, match=r"did not answer within 1 s \(IsolationLimits.call_timeout\)"):
        proxy(torch.ones(2, 2))
    assert proxy.pid is None and not _alive(pid)
    with pytest.raises(IsolatedModelStopped):           # a fresh child, the same verdict
        proxy(torch.ones(2, 2))
    proxy._kill()


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="the address-space limit is Linux-only")
def test_memory_hog_fails_its_own_call():
    proxy = IsolatedTorchScript(hostile_kit.archive(hostile_kit.Hog()), IsolationLimits(memory_bytes=2**30))
    with pytest.raises(IsolatedModelError, match="can't allocate memory"):
        proxy(torch.ones(2, 2))
    proxy._kill()


def test_printing_model_does_not_garble_the_replies():
    proxy = IsolatedTorchScript(hostile_kit.archive(hostile_kit.Chatty()), SHORT)
    torch.testing.assert_close(proxy(torch.ones(3, 2)), torch.tensor([[2.0, -2.0]] * 3))
    proxy._kill()


def test_non_finite_weights_are_refused_at_load():
    with pytest.raises(ModelLoadError, match=r"NaN or infinite values \(in 'w'\)"):
        load_model(hostile_kit.archive(hostile_kit.NaNWeights()), trust_torchscript=True)


def test_a_damaged_archive_is_a_load_error_not_a_crash():
    data = hostile_kit.archive(nn.Linear(2, 2))
    broken = io.BytesIO()
    import zipfile
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            if not info.filename.endswith("constants.pkl"):
                dst.writestr(info.filename, src.read(info.filename))
    with pytest.raises(ModelLoadError, match="could not be loaded in its isolated process"):
        load_model(broken.getvalue(), trust_torchscript=True)
