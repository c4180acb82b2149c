"""Receipts: published numbers recomputed live by the product's own code (a layer above the methods).

``registry.RECEIPTS`` lists them; each ``Receipt.run(scale)`` returns a frozen ``ReceiptResult`` (claim, source,
our numbers next to the published ones, the tolerance, ✓/✗ and the app view that shows it). Only the UI and the
tests import this package; it imports the engine, the models and the methods, never ``runs``.
"""
