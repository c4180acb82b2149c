"""Hostile TorchScript archives, generated at test time (none is shipped): each does one bad thing when it
is loaded (``__setstate__``) or called (``forward``). ``torch.save`` is a TorchScript builtin, which is how
a scripted module writes files."""
import io
from typing import Tuple

import torch
from torch import nn


def archive(module: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buf)
    return buf.getvalue()


def _two_scores(x):
    s = x.flatten(1).sum(1)
    return torch.stack([s, -s], 1)                                  # (B, 2)


class SetstateWriter(nn.Module):
    """Overwrites ``path`` (e.g. the run store) as it is loaded, before any check can look at it."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x):
        return _two_scores(x)

    @torch.jit.export
    def __getstate__(self) -> Tuple[str, bool]:
        return (self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[str, bool]) -> None:
        self.path = state[0]
        self.training = state[1]
        torch.save(torch.zeros(3), self.path)


class ForwardWriter(nn.Module):
    """Writes ``path`` and a file in the current folder whenever it predicts (the app's upload probe)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def forward(self, x):
        torch.save(x, self.path)
        torch.save(x, "written-by-forward.pt")
        return _two_scores(x)


class SetstateLoop(nn.Module):
    """Never finishes loading: this froze the whole Streamlit server for every user."""

    def __init__(self):
        super().__init__()
        self.n = 0

    def forward(self, x):
        return _two_scores(x)

    @torch.jit.export
    def __getstate__(self) -> Tuple[int, bool]:
        return (self.n, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[int, bool]) -> None:
        self.training = state[1]
        self.n = state[0]
        while self.n >= 0:
            self.n = self.n + 1


class ForwardLoop(nn.Module):
    """Loads fine, never returns from a prediction."""

    def forward(self, x):
        while True:
            x = x + 1
        return x


class Hog(nn.Module):
    """Asks for 16 GiB in one prediction."""

    def forward(self, x):
        big = torch.empty(4294967296)
        return _two_scores(x) + big[0] * 0


class Chatty(nn.Module):
    """Prints to stdout while predicting: must not garble the pipe its answers travel on."""

    def forward(self, x):
        for i in range(200):
            print("not a reply", i)
        return _two_scores(x)


class NaNWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.full((2, 2), float("nan")))

    def forward(self, x):
        return x @ self.w


class PickledWriter(nn.Module):
    """A whole nn.Module saved with ``torch.save(module)``: unpickling it calls ``__setstate__``, which writes
    ``path``. Safe loading (weights_only) must refuse it before that runs."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.fc = nn.Linear(2, 2)

    def __setstate__(self, state):
        super().__setstate__(state)
        open(state["path"], "w").write("written while unpickling")
