"""garbage.py: what survives a full collection is frozen; every THAW_SECONDS a full collection walks everything."""

import gc
import weakref

import pytest

from {{ cookiecutter.project_slug }} import garbage


@pytest.fixture
def freezing(monkeypatch):
    """A SurvivorFreezing started on a clock moved by hand (`freezing.clock.now`), stopped and thawed after."""
    clock = type("Clock", (), {"now": 1000.0})()
    monkeypatch.setattr(garbage.time, "monotonic", lambda: clock.now)
    gc.unfreeze()
    started = garbage.SurvivorFreezing(thaw_seconds=60)
    started.clock = clock
    started.start()
    yield started
    started.stop()
    gc.unfreeze()


def tracked(thing):
    """Whether the collector walks `thing` in its collections (frozen objects are out of its sight)."""
    return any(candidate is thing for candidate in gc.get_objects())


def test_what_survives_a_full_collection_is_frozen(freezing):
    survivor = [[index] for index in range(100)]
    assert tracked(survivor)
    gc.collect()
    assert not tracked(survivor)
    later = [[index] for index in range(100)]
    gc.collect(1)  # a younger collection freezes nothing
    assert tracked(later)


def test_a_cycle_that_dies_frozen_is_freed_by_the_first_full_collections_after_the_thaw_time(freezing):
    cycle = [[]]
    cycle[0].append(cycle)
    watched = type("Watched", (), {})()
    cycle.append(watched)
    gc.collect()  # alive: frozen
    finalized = []
    weakref.finalize(watched, finalized.append, True)
    del cycle, watched
    gc.collect()
    assert finalized == []  # garbage, but frozen: out of the collector's sight
    freezing.clock.now += 60
    gc.collect()  # thaws
    gc.collect()  # walks everything
    assert finalized == [True]
    survivor = [[1]]
    gc.collect()
    assert not tracked(survivor)  # freezing again after the thaw


def test_stop_takes_the_hook_out(freezing):
    freezing.stop()
    survivor = [[1]]
    gc.collect()
    assert tracked(survivor)
