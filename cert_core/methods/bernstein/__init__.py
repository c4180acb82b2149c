"""Bernstein-polynomial smoothing (Kao, Ko & Lu): the polynomial (``polynomial``), its radii (``radii``), the 2D and
1-D teaching views (``plane``) and the bottleneck image pipeline (``images``)."""
