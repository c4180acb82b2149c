"""``python -m cert_core``: see cert_core.runs.cli."""
import sys

from cert_core.runs.cli import main

sys.exit(main())
