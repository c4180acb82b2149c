"""One package per method built on the engine: ``ddrs`` (per-input σ), ``bernstein``, ``paths`` (activation
paths, SC-RFP), ``margin`` (SRA, MCR/MSCR) and ``lipschitz`` (Theorem 0 bounds). A method may import the
engine (``smoothing``, ``stats``, ``grid``, ...) and ``models``; the engine never imports a method."""
