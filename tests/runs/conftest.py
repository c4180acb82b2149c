"""Fixtures of the run tests."""
import pytest

from cert_core.runs.store import RunStore


@pytest.fixture
def store(tmp_path):
    """A fresh run store in the test's own folder."""
    return RunStore(tmp_path / "runs.sqlite")
