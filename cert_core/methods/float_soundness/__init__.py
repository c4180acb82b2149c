"""Floating-point soundness of randomized smoothing (Voráček & Hein, ICLR 2023): the false certificate that
float rounding gives standard smoothing, and what the sound sampler (``Smooth(..., sound_float=True)``) gives
instead (``counterexample``)."""
