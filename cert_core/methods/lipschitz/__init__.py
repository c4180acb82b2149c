"""Lipschitz bounds of networks layer by layer (the lecture's Theorem 0), used by the margin and Bernstein
methods (``bounds``), from guaranteed spectral norms of single layers (``spectral``)."""
