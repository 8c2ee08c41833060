"""The template repository's own PyCharm configurations (top-level .run/), run in a copy of the repository.

Changes made to run them here, and why: the copy lives in a temporary folder (so baking does not touch this
checkout's build/); "serve demo (reload)" gets a free port; "template tests" is narrowed with `-k` to the slug
tests (running the whole suite inside itself would double its time) and "devloop benchmark" gets
`--starts 1 --edits 1`. Each still runs its own module, arguments and folder.
"""

import shutil

import pytest

from .support.bakes import TEMPLATE_DIR, baked_env, run_in
from .support.dev_server import DevServer, with_port
from .support.processes import free_port
from .support.run_configs import check_env, check_uvicorn, pycharm_configs

MODULE = "cookiecutter-channels"
EXPECTED = {"bake demo", "serve demo (reload)", "template tests", "devloop benchmark"}


@pytest.fixture(scope="module")
def template_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("template") / MODULE
    shutil.copytree(TEMPLATE_DIR, copy, ignore=shutil.ignore_patterns(".venv", ".git", "build", "__pycache__"))
    return copy


@pytest.fixture(scope="module")
def configs(template_copy):
    found = {config.name: config for config in pycharm_configs(template_copy, module=MODULE)}
    assert set(found) == EXPECTED
    return found


def run(config, *extra, timeout=600):
    check_env(config, TEMPLATE_DIR / "{{cookiecutter.project_slug}}")
    return run_in(config.cwd, "python", *config.args, *extra, env=baked_env(**config.env), timeout=timeout)


def test_bake_demo_then_serve_it(configs, template_copy):
    run(configs["bake demo"])
    demo = template_copy / "build" / "channels_project"
    assert (demo / "manage.py").is_file() and (demo / ".env").is_file()
    run(configs["bake demo"])  # again: --overwrite-if-exists keeps working on an existing bake

    serve = configs["serve demo (reload)"]
    assert serve.cwd == demo
    check_uvicorn(serve, demo)
    port = free_port()
    with DevServer(with_port(serve.args, port), serve.cwd, baked_env(**serve.env)) as server:
        assert server.wait_for_echo(port, "demo") == "demo"


def test_template_tests_config_runs_the_suite(configs, template_copy):
    result = run(configs["template tests"], "-k", "good_slugs", "-p", "no:cacheprovider")
    assert "4 passed" in result.stdout, result.stdout


def test_devloop_benchmark_config_prints_its_figures(configs):
    result = run(configs["devloop benchmark"], "--starts", "1", "--edits", "1")
    for figure in ["cold start", "edit-to-live"]:
        assert any(line.startswith(figure) and "x" in line for line in result.stdout.splitlines()), result.stdout
