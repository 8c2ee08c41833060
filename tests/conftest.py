"""Fixtures for the template suite: baked projects, and a real Redis server for the ones that need it.

Helpers shared with the benchmarks live in tests/support/.
"""

from pathlib import Path

import pytest

from .support.bakes import MATRIX, POSTGRESQL_BAKE
from .support.compiled_templates import keep_compiled_templates
from .support.processes import start_redis, stop

# The fast lane (`make test-fast`) bakes the defaults only: the other combinations are marked `other_bake`.
BAKES = [pytest.param(name, marks=() if name == "defaults" else pytest.mark.other_bake, id=name) for name in MATRIX]


# Tests that take minutes go first, and `make test` hands out one test at a time (--maxschedchunk 1), so that the
# quick ones fill the end. Left in file order, the run ended with one worker alone on a long test for minutes.
LONG_TESTS = (
    "test_readme_and_message_commands_run",
    "test_ci_job_passes",
    "test_baked_project_tests_pass",
    "test_a_minute_of_churn",
    "test_every_run_configuration_works",
    "test_each_demo_app_can_be_deleted_on_its_own",
    "test_newapp_scaffold",
)


def pytest_configure(config):
    keep_compiled_templates()


def pytest_collection_modifyitems(items):
    def rank(item):
        return next((n for n, name in enumerate(LONG_TESTS) if item.name.startswith(name)), len(LONG_TESTS))

    items.sort(key=rank)


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
def postgresql_bake(cookies_session):
    """A bake on PostgreSQL (POSTGRESQL_BAKE), baked once per test worker."""
    result = cookies_session.bake(extra_context=POSTGRESQL_BAKE)
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port, without persistence, stopped after the session."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(process)
