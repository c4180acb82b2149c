"""Suite-wide settings: tests never touch the user's own run store."""
import os
import tempfile

_STORE_DIR = tempfile.mkdtemp(prefix="cert-explorer-tests-")
# Set at import time, before any fixture starts a subprocess (servers, workers inherit it).
os.environ["CERT_EXPLORER_RUNS"] = os.path.join(_STORE_DIR, "runs.sqlite")

# the start-up warm-up (ui/warmup.py) would compute the default model's pages in the background of every AppTest
# and browser server, competing with the tests for the CPU; the tests compute what they need themselves
os.environ.setdefault("CERT_EXPLORER_WARMUP", "0")
