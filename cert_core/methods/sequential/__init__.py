"""Sequential, anytime-valid certification (Ville's inequality; the statistics are the engine's
``cert_core.sequential``): certify each test example at a target radius or a grid of radii with as few noisy
samples as the data allow (``run``)."""
