"""cert_core: certified robustness of neural networks (randomized smoothing and friends), no UI."""
