"""Certificate providers for the point inspector; every module here is imported by
``ui.inspector.discover``. See ``ui/inspector.py`` for the interface."""
