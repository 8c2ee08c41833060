"""Fixtures for the template suite: baked projects, and a real Redis server for the ones that need it.

Helpers shared with the benchmarks live in tests/support/.
"""

from pathlib import Path

import pytest

from .support.bakes import MATRIX
from .support.processes import start_redis, stop

# The fast lane (`make test-fast`) bakes the defaults only: the other combinations are marked `other_bake`.
BAKES = [pytest.param(name, marks=() if name == "defaults" else pytest.mark.other_bake, id=name) for name in MATRIX]


@pytest.fixture(scope="session", params=BAKES)
def baked(request, cookies_session):
    """(name, extra_context, project_path) for each option combination, baked once per test worker."""
    context = MATRIX[request.param]
    result = cookies_session.bake(extra_context=context)
    assert result.exit_code == 0, result.exception
    return request.param, context, Path(result.project_path)


@pytest.fixture(scope="session")
def default_bake(cookies_session):
    """The defaults, baked once per test worker (the bake the other interpreters run, tests/support/pythons.py)."""
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, without persistence, stopped after the session."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(process)
