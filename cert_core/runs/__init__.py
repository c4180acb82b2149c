"""Certification runs: the spec (``spec``), the SQLite store (``store``), resolving model and inputs
(``inputs``), the per-method engine (``engine``), the background worker (``worker``), exports (``export``) and
the command line (``cli``)."""
