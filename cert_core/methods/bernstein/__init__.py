"""Bernstein-polynomial smoothing (Kao, Ko & Lu): the polynomial and its radii (``polynomial``), the 2D and
1-D teaching views (``plane``) and the bottleneck image pipeline (``images``)."""
