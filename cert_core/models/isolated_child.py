"""The child side of ``cert_core.models.isolated``: one process that loads one TorchScript archive and runs it.

    python -m cert_core.models.isolated_child MEMORY_BYTES PARENT_PID     (started only by IsolatedTorchScript)

TorchScript is code: ``torch.jit.load`` runs the archive's ``__setstate__`` methods and every call runs its
``forward``, and both may loop forever, allocate without bound or write files (``torch.save`` is a
TorchScript builtin). So this process lowers its own powers BEFORE it reads the archive, and a hostile
file can at worst fail its own job:

1. the protocol moves to private copies of fds 0 and 1; fds 0 and 1 then point at /dev/null, so a model's
   ``print`` cannot forge a reply;
2. resource limits: address space = its size after importing torch + MEMORY_BYTES (an allocation past it
   fails), file size 0 (no regular file can grow), no core dumps;
3. Landlock (Linux >= 5.13 with Landlock enabled): no file or directory may be written, created, removed,
   renamed or truncated anywhere; no TCP bind/connect (Landlock ABI >= 4); no signals to, or abstract
   sockets of, processes outside (ABI >= 6). Reading stays allowed: torch loads libraries lazily;
4. it dies with its parent: SIGKILL on the parent's death while loading, then a watchdog thread (a
   TorchScript ``forward`` releases the GIL; a looping ``__setstate__`` does not, hence the signal).

The parent also starts it in an empty temporary folder with a minimal environment and no GPU. Without
Landlock (older kernels, macOS) step 3 is missing and a file named by absolute path can still be
truncated or removed; the first reply lists the protections actually in force.

Frames: kind (1 byte) + length (uint64 little-endian) + payload.
parent -> child: L archive | F handle (u64) + want_grad (u8) + npy batch | B handle (u64) + npy grad
child -> parent: R json {"protections": [...]} | K json {} (loaded) | O npy output | G npy grad | E utf-8 text
"""
from __future__ import annotations

import collections
import ctypes
import io
import json
import os
import platform
import resource
import signal
import struct
import sys
import threading
import time

HEADER = struct.Struct("<cQ")   # kind, payload length
KEPT_GRAPHS = 8                 # the most recent forward graphs kept for a backward; older ones are dropped
_SAME_SYSCALLS = {"x86_64", "aarch64", "arm64", "riscv64", "ppc64le", "s390x", "i686", "armv7l"}  # Landlock: 444-446
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38


# ---------------------------------------------------------------------- frames (blocking: the parent keeps time)
def send(fd: int, kind: bytes, payload: bytes) -> None:
    data = memoryview(HEADER.pack(kind, len(payload)) + payload)
    while data:
        data = data[os.write(fd, data):]


def read_exact(fd: int, n: int, wait=lambda: None) -> bytes:
    """``n`` bytes from ``fd``, calling ``wait()`` before each read (the parent waits with a deadline there);
    EOFError when the other side closed the pipe first. Shared by the child and its parent."""
    chunks, got = [], 0
    while got < n:
        wait()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def receive(fd: int) -> tuple[bytes, bytes]:
    kind, n = HEADER.unpack(read_exact(fd, HEADER.size))
    return kind, read_exact(fd, n)


# ---------------------------------------------------------------------- lowering this process's powers
def _private_fds() -> tuple[int, int]:
    rin, rout = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    return rin, rout


def _limits(memory_bytes: int) -> list[str]:
    applied = []
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write past the limit then fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    applied.append("no file can grow (RLIMIT_FSIZE 0)")
    try:
        with open("/proc/self/statm") as f:              # Linux: pages of address space in use now
            used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (used + memory_bytes, used + memory_bytes))
        applied.append(f"address space limited to {memory_bytes / 2**30:.1f} GiB above a bare torch process")
    except (OSError, ValueError):
        pass                                             # not Linux: no memory limit
    return applied


def _landlock(libc) -> list[str]:
    """Deny every file-system write (and TCP, signals out) with Landlock; [] where the kernel lacks it."""
    if platform.system() != "Linux" or platform.machine() not in _SAME_SYSCALLS:
        return []
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))   # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return []
    fs = sum(1 << bit for bit in (1, 4, 5, 6, 7, 8, 9, 10, 11, 12))   # write, remove, make anything
    fs |= (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0)  # refer (rename/link), truncate
    attr = (ctypes.c_uint64 * 3)(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)   # net: bind|connect; scope
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = libc.syscall(444, attr, ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return []
    try:
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.syscall(446, ruleset, ctypes.c_uint32(0)) != 0:
            return []
    finally:
        os.close(ruleset)
    return [f"Landlock ABI {abi}: no file may be written, created, removed or truncated"
            + (", no TCP" if abi >= 4 else "") + (", no signals out" if abi >= 6 else "")]


def _die_with(parent: int, libc) -> None:
    if libc is not None and platform.system() == "Linux":
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:                           # the parent died before the line above
        os._exit(1)


def _watchdog(parent: int, libc) -> None:
    """After loading: the thread that started this process may end (Streamlit's script threads do), which
    would fire PDEATHSIG, so a polling thread takes over."""
    if libc is not None and platform.system() == "Linux":
        libc.prctl(_PR_SET_PDEATHSIG, 0, 0, 0, 0)

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


# ---------------------------------------------------------------------- serving one model
def _npy(array) -> bytes:
    import numpy as np
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _tensor(payload: bytes):
    import numpy as np
    import torch
    return torch.from_numpy(np.load(io.BytesIO(payload), allow_pickle=False))


def _load(archive: bytes):
    import torch
    model = torch.jit.load(io.BytesIO(archive), map_location="cpu")     # runs the file's __setstate__
    model = model.float().eval()
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.is_complex():
            raise ValueError(f"the weights must be real; {name!r} is {t.dtype}")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ValueError(f"the weights contain NaN or infinite values (in {name!r})")
    return model


def _output(out):
    import torch
    if not isinstance(out, torch.Tensor) or out.is_complex():
        raise TypeError(f"the model must return one real tensor, got {type(out).__name__}"
                        + (f" {out.dtype}" if isinstance(out, torch.Tensor) else ""))
    out = out.detach().cpu()
    return (out.float() if out.is_floating_point() else out).numpy()


def _serve(model, kind: bytes, payload: bytes, graphs: collections.OrderedDict) -> tuple[bytes, bytes]:
    import torch
    if kind == b"F":
        handle, want_grad = struct.unpack("<QB", payload[:9])
        x = _tensor(payload[9:])
        if not want_grad:
            with torch.no_grad():
                return b"O", _npy(_output(model(x)))
        x.requires_grad_(True)
        with torch.enable_grad():
            out = model(x)
        graphs[handle] = (x, out)
        while len(graphs) > KEPT_GRAPHS:
            graphs.popitem(last=False)
        return b"O", _npy(_output(out))
    if kind == b"B":
        (handle,) = struct.unpack("<Q", payload[:8])
        if handle not in graphs:
            raise KeyError(f"the forward pass of this gradient is no longer kept (at most {KEPT_GRAPHS} are)")
        x, out = graphs[handle]
        grad_out = _tensor(payload[8:]).to(out.dtype)
        (grad,) = torch.autograd.grad(out, x, grad_out, retain_graph=True, allow_unused=True)
        return b"G", _npy((torch.zeros_like(x) if grad is None else grad).detach().float().numpy())
    raise ValueError(f"unknown request {kind!r}")


def main(argv: list[str]) -> int:
    memory_bytes, parent = int(argv[0]), int(argv[1])
    import numpy  # noqa: F401  (imported before the limits: its size is not the model's)
    import torch
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 8)))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        libc = None
    _die_with(parent, libc)
    rin, rout = _private_fds()
    protections = _limits(memory_bytes) + (_landlock(libc) if libc is not None else [])
    send(rout, b"R", json.dumps({"protections": protections}).encode())
    model, graphs = None, collections.OrderedDict()
    while True:
        try:
            kind, payload = receive(rin)
        except EOFError:                                 # the parent closed the pipe: done
            return 0
        try:
            if kind == b"L":
                model = _load(payload)
                _watchdog(parent, libc)
                send(rout, b"K", b"{}")
            else:
                send(rout, *_serve(model, kind, payload, graphs))
        except Exception as exc:  # the model's own failure, reported as text; never a pickle
            send(rout, b"E", _summary(exc).encode())


def _summary(exc: Exception) -> str:
    """One line: a TorchScript error carries the script's traceback first and the cause last."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    last, name = lines[-1] if lines else "", type(exc).__name__
    return (last if last.startswith(f"{name}: ") else f"{name}: {last}")[:2000]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
