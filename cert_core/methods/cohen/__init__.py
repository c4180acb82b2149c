"""Cohen, Rosenfeld & Kolter (2019): CERTIFY at one σ over a test set (``run``). The algorithm itself is the
engine's ``cert_core.smoothing``; this package is how a run uses it."""
