"""A trusted TorchScript model run in a separate process: ``IsolatedTorchScript``.

TorchScript is code: loading an archive runs its ``__setstate__`` methods and every call runs its
``forward``; either may write files, allocate without bound or never return. So the app's server, the
CLI and the run worker never call ``torch.jit.load`` themselves, and only load TorchScript the user has
explicitly trusted (``load_model(..., trust_torchscript=True)``). Even then it runs here: this proxy
``nn.Module`` starts a child process (``cert_core.models.isolated_child``), sends it the archive and forwards
every batch to it over a pipe, as .npy bytes in both directions (never a pickle: nothing the child sends
can run code here), with a time limit per call; on a timeout the child is killed. A hostile file can
therefore at worst fail its own job: the caller gets ``IsolatedModelError`` (``ModelLoadError`` when
loading), the parent stays responsive, and the child is denied what ``isolated_child`` lists (its
address space is capped; where Linux offers Landlock it cannot write, create, remove or truncate any
file). This is isolation, not a sandbox: without Landlock a hostile file can still truncate or delete a
file it names by absolute path, and it can always read what the user running the app can read.

Shapes: forward maps (B, *D) -> (B, K) like any base classifier. The child computes in float32 on the
CPU; outputs come back on the input's device, in its dtype when that is floating point. Gradients with
respect to the input work (DDRS, attacks): the child keeps the last few forward graphs for a backward.
"""
from __future__ import annotations

import io
import itertools
import json
import os
import pathlib
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cert_core.models.isolated_child import HEADER, read_exact

_ROOT = pathlib.Path(__file__).resolve().parents[2]        # the repo root: so the child can import cert_core
_PASSED_ENV = ("PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class IsolationLimits:
    start_timeout: float = 120.0        # s for the child to start Python and import torch (not the model's time)
    load_timeout: float = 60.0          # s for torch.jit.load, which runs the archive's __setstate__ code
    call_timeout: float = 120.0         # s per forward or backward batch, sending and receiving included
    memory_bytes: int = 4 * 2**30       # address space the child may add to a bare torch process
    max_reply_bytes: int = 2**30        # the largest reply read from the child


DEFAULT_LIMITS = IsolationLimits()


class IsolatedModelError(RuntimeError):
    """The isolated model failed: it raised, hung past its time limit, ran out of memory or died."""


class IsolatedModelStopped(IsolatedModelError):
    """Its process was stopped (timeout) or died: unlike an exception raised by the model for one input,
    trying other inputs is pointless."""


class _Timeout(Exception):
    pass


class _Gone(Exception):
    pass


class IsolatedTorchScript(nn.Module):
    """A TorchScript archive loaded and run in its own process; see the module docstring for the guarantee.

    Loading happens in the constructor (IsolatedModelError if it fails or exceeds ``load_timeout``); a child
    killed after a timeout is restarted, and the archive loaded again, on the next call.
    """

    def __init__(self, archive: bytes, limits: IsolationLimits | None = None):
        super().__init__()
        if os.name != "posix":
            raise IsolatedModelError("running TorchScript in an isolated process needs Linux or macOS")
        self.archive, self.limits = bytes(archive), limits or DEFAULT_LIMITS
        self.protections: tuple[str, ...] = ()     # what the child reported it is denied
        self._lock, self._handles = threading.Lock(), itertools.count(1)
        self._proc: subprocess.Popen | None = None
        self._stop = None
        with self._lock:
            self._start()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (tests check that a timed-out child is gone)."""
        return self._proc.pid if self._proc is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, *D) -> (B, K)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"IsolatedTorchScript takes a tensor, got {type(x).__name__}")
        if torch.is_grad_enabled() and x.requires_grad:
            return _Remote.apply(self, x)
        return self._forward(x, 0)

    def extra_repr(self) -> str:
        return f"archive of {len(self.archive):,} bytes, run in process {self.pid}"

    # ------------------------------------------------------------------ calls
    def _forward(self, x: torch.Tensor, handle: int) -> torch.Tensor:
        batch = x.detach().to("cpu", torch.float32).contiguous().numpy()
        body = self._request(b"F", struct.pack("<QB", handle, handle > 0) + _npy(batch), b"O")
        out = torch.from_numpy(_array(body, batch.shape[:1], "output"))
        return out.to(x.device, x.dtype) if out.is_floating_point() and x.is_floating_point() else out.to(x.device)

    def _backward(self, handle: int, grad_out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        grad = grad_out.detach().to("cpu", torch.float32).contiguous().numpy()
        body = self._request(b"B", struct.pack("<Q", handle) + _npy(grad), b"G")
        return torch.from_numpy(_array(body, tuple(like.shape), "gradient")).to(like.device, like.dtype)

    def _request(self, kind: bytes, payload: bytes, expect: bytes) -> bytes:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return self._exchange(kind, payload, expect, self.limits.call_timeout, "call_timeout", "answer")

    def _exchange(self, kind, payload, expect, seconds, name, doing) -> bytes:
        """One request and its reply within ``seconds``; the child is killed on a timeout or a bad reply."""
        deadline = time.monotonic() + seconds
        try:
            _write_all(self._proc.stdin.fileno(), HEADER.pack(kind, len(payload)), deadline)
            _write_all(self._proc.stdin.fileno(), payload, deadline)
            got, body = _read_frame(self._proc.stdout.fileno(), deadline, self.limits.max_reply_bytes)
        except _Timeout:
            self._kill()
            raise IsolatedModelStopped(f"the TorchScript model did not {doing} within {seconds:g} s "
                                       f"(IsolationLimits.{name}); its process was stopped") from None
        except _Gone as exc:
            code = self._kill()
            raise IsolatedModelStopped(f"the TorchScript model's process stopped (exit code {code}){exc}") from None
        if got == b"E":
            raise IsolatedModelError(f"the TorchScript model failed: {body.decode('utf-8', 'replace')[:1000]}")
        if got != expect:
            self._kill()
            raise IsolatedModelStopped(f"the TorchScript model's process sent {got!r} instead of a reply")
        return body

    # ------------------------------------------------------------------ the child process
    def _start(self) -> None:
        folder = tempfile.mkdtemp(prefix="cert-torchscript-")     # its cwd, HOME and TMPDIR: empty
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        env.update(HOME=folder, TMPDIR=folder, PYTHONDONTWRITEBYTECODE="1", MALLOC_ARENA_MAX="2",
                   CUDA_VISIBLE_DEVICES="", PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT),
                                                                                   os.environ.get("PYTHONPATH")])))
        cmd = [sys.executable, "-m", "cert_core.models.isolated_child", str(self.limits.memory_bytes), str(os.getpid())]
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        self._proc, self._stop = proc, weakref.finalize(self, _stop_child, proc, folder)
        os.set_blocking(proc.stdin.fileno(), False)          # writes wait with a deadline, never forever
        self.protections = tuple(json.loads(self._exchange_start()).get("protections", ()))
        try:
            self._exchange(b"L", self.archive, b"K", self.limits.load_timeout, "load_timeout", "load")
        except IsolatedModelError:
            self._kill()                                      # a child without a model serves nothing
            raise

    def _exchange_start(self) -> bytes:
        deadline = time.monotonic() + self.limits.start_timeout
        try:
            got, body = _read_frame(self._proc.stdout.fileno(), deadline, 2**16)
        except (_Timeout, _Gone):
            code = self._kill()
            raise IsolatedModelStopped(f"the isolated TorchScript process did not start (exit code {code}; "
                                       f"IsolationLimits.start_timeout = {self.limits.start_timeout:g} s)") from None
        if got != b"R":
            self._kill()
            raise IsolatedModelStopped("the isolated TorchScript process did not start properly")
        return body

    def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if self._stop is not None:
            self._stop()
        return proc.returncode if proc is not None else None


class _Remote(torch.autograd.Function):
    """Forward in the child, keeping the graph there; backward asks the child for the input's gradient."""

    @staticmethod
    def forward(ctx, proxy: IsolatedTorchScript, x: torch.Tensor) -> torch.Tensor:
        ctx.proxy, ctx.handle = proxy, next(proxy._handles)
        ctx.save_for_backward(x)
        return proxy._forward(x, ctx.handle)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        return None, ctx.proxy._backward(ctx.handle, grad_out, x)


def _stop_child(proc: subprocess.Popen, folder: str) -> None:
    """Kill the child (it may be stuck in the model's code) and remove its empty folder."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        try:
            pipe.close()
        except OSError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------- frames with a deadline
def _wait(fd: int, event: int, deadline: float) -> None:
    left = deadline - time.monotonic()
    poller = select.poll()
    poller.register(fd, event)
    if left <= 0 or not poller.poll(left * 1000):
        raise _Timeout


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            raise _Gone from None


def _read_exact(fd: int, n: int, deadline: float) -> bytes:
    try:
        return read_exact(fd, n, lambda: _wait(fd, select.POLLIN, deadline))
    except EOFError:
        raise _Gone from None


def _read_frame(fd: int, deadline: float, limit: int) -> tuple[bytes, bytes]:
    kind, n = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if n > limit:       # never allocate what a hostile child declares
        raise _Gone(f"; it announced a reply of {n:,} bytes, more than IsolationLimits.max_reply_bytes")
    return kind, _read_exact(fd, n, deadline)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _array(body: bytes, leading: tuple, what: str) -> np.ndarray:
    """The child's .npy reply, checked: real numbers, and the leading shape the request implies."""
    try:
        out = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise IsolatedModelError(f"the TorchScript model's {what} could not be read ({exc})") from None
    if out.dtype.kind not in "biuf" or out.shape[:len(leading)] != tuple(leading):
        raise IsolatedModelError(f"the TorchScript model's {what} has shape {out.shape} ({out.dtype}); expected "
                                 f"real numbers of shape {tuple(leading)}{', ...' if what == 'output' else ''}")
    return out
