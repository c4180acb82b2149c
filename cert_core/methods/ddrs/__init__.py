"""Per-input σ (Alfarra et al. 2022, DDRS): OptimizeSigma and memory-based certification (``sigma``), and its
exact 2D σ*/R* maps (``plane``)."""
