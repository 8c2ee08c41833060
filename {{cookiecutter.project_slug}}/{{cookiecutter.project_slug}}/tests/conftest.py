"""Fixtures of the project package's own tests (an app's tests use the project's conftest.py)."""

import time

import pytest


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
