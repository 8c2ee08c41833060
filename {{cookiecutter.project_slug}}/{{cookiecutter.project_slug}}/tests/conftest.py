"""Fixtures of the project package's own tests (an app's tests use the project's conftest.py)."""

import shutil
import time
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock(monkeypatch):
    """The wall clock the channel layers read expiries from (`time.time`), moved by hand: `clock.advance(seconds)`.

    Our in-memory layer's full scan runs at most once per CLEAN_INTERVAL of the monotonic clock, which stays
    real: a test that starts with a scan runs the rest on what the layer does between two scans."""

    class Clock:
        now = time.time()

        def __call__(self):
            return self.now

        def advance(self, seconds):
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(time, "time", fake)
    return fake


@pytest.fixture
def project_copy(tmp_path):
    """This project, copied (without its databases, virtualenv and caches): for a test whose commands write files,
    edit settings.py or make a test database of their own."""
    # "*.sqlite3*": also the test databases of other pytest-xdist workers and their journals, which come and
    # go while this copies.
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "__pycache__", "*.sqlite3*", ".pytest_cache", "*.egg-info", "node_modules", "staticfiles"
    )
    return Path(shutil.copytree(PROJECT_DIR, tmp_path / "project", ignore=ignore))
