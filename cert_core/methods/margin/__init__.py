"""Margin-based smoothed robustness (Rodrigues Crespo & Teramae, SRA): MCR/MSCR radii (``radii``), margin
training (``train``), the point analysis (``sra``), Appendix B curves (``curves``) and Figure 2 (``heatmap``)."""
