"""``python -m cert_core``: see cert_core.cli."""
import sys

from .cli import main

sys.exit(main())
