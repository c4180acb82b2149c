"""Per-input σ (Alfarra et al. 2022, DDRS): OptimizeSigma and CERTIFY at σ*_x (``sigma``), memory-based
certification and the stripe counterexample (``memory``), and its exact 2D σ*/R* maps (``plane``)."""
