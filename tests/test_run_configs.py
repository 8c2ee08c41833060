"""Proof, not hope: every IDE run configuration of a bake is read, checked and run as the IDE would run it.

Each configuration becomes `python ARGS` in its working directory with its environment
(tests/support/run_configs.py). The one change made to a command: a uvicorn configuration's `--port 8000` value
is replaced by a free port (tests/support/dev_server.with_port), so parallel test runs do not collide.
createsuperuser is interactive in the IDE (a terminal is emulated for its password prompt); here it runs with
`--noinput` and DJANGO_SUPERUSER_* credentials, Django's documented non-interactive form of the same command.
"""

import functools
import json
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from .support.bakes import baked_env, run_in
from .support.dev_server import DevServer, close_code, with_port
from .support.processes import free_port
from .support.run_configs import (
    WS_MAX_SIZE,
    ConfigProblem,
    all_configs,
    check_env,
    check_manage_command,
    check_uvicorn,
    option_values,
    project_package,
    pycharm_configs,
    vscode_configs,
)

PYCHARM_CONFIGS = {
    "uvicorn (reload)",
    "uvicorn (debug)",
    "pytest",
    "migrate",
    "runworker",
    "createsuperuser",
    "db_worker",
}
VSCODE_CONFIGS = {"uvicorn (reload)", "uvicorn (debug)", "pytest", "pytest (Testing panel)", "db_worker"}
HEAVY_MODULES = ("daphne", "twisted")  # channels.testing imports daphne: only the tests may


def config_env(config, extra):
    return baked_env(**config.env, **extra)


def imported_modules(output):
    """Module names from `python -X importtime` lines ("import time: self | cumulative | name")."""
    return {line.rsplit("|", 1)[1].strip() for line in output.splitlines() if line.startswith("import time:")}


def prove_uvicorn(config, project, extra_env):
    check_uvicorn(config, project)
    port = free_port()
    env = config_env(config, {**extra_env, "PYTHONPROFILEIMPORTTIME": "1"})
    with DevServer(with_port(config.args, port), config.cwd, env) as server:
        if (project / "echo").is_dir():
            assert server.wait_for_echo(port, "hello from the IDE") == "hello from the IDE"
            # One frame over --ws-max-size closes that socket with 1009 ("message too big"); others go on.
            assert close_code(port, "/ws/echo/", send="x" * (WS_MAX_SIZE + 1)) == 1009
            assert server.wait_for_echo(port, "still serving") == "still serving"
        else:  # no demo apps: the project's router answers an unknown socket path with its own close code
            assert server.wait_for(lambda: close_code(port, "/ws/echo/")) == 4404
    modules = imported_modules(server.output)
    slug = config.program_args[0].split(".")[0]
    # importlib.import_module (how uvicorn loads the app) is not timed itself; what asgi.py imports is.
    assert f"{slug}.routing" in modules, f"{config.source}: the served app's imports were not seen"
    heavy = sorted(name for name in modules if name.split(".")[0] in HEAVY_MODULES)
    assert not heavy, f"{config.source}: the server imported {heavy}; keep the serving import path lean"
    if "--reload" in config.args:
        # uvicorn drops a --reload-dir that is not a folder without a word: its log shows what it watches.
        watched = sorted(str((config.cwd / d).resolve()) for d in option_values(config.args, "--reload-dir"))
        assert f"Will watch for changes in these directories: {watched}" in server.output, server.output


def collected(output):
    """The count from pytest's "N tests collected" line."""
    match = re.search(r"(\d+) tests? collected", output)
    assert match, output
    return int(match.group(1))


@functools.cache
def suite_size(project):
    """How many tests `pytest` collects in `project` (once per bake: each of its test configurations compares)."""
    return collected(run_in(project, "python", "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider").stdout)


def prove_pytest(config, project, extra_env):
    """The configuration finds every test of the project and runs the consumers' tests green.

    One run: the consumers' tests pass, and those it ran plus those it deselected are every test a plain `pytest`
    collects. The whole suite, browser and --redis runs included, is test_ci_workflow's job (test_ci_job_passes):
    running it again for each of a bake's three test configurations doubled this suite's time.
    """
    env = config_env(config, extra_env)
    args = [*config.args, "-p", "no:cacheprovider"]
    result = run_in(config.cwd, "python", *args, "-q", "-k", "test_consumers and not browser", env=env)
    counts = outcome_counts(result.stdout.splitlines()[-1])
    assert counts.get("passed") and not counts.get("failed") and not counts.get("error"), result.stdout
    assert sum(counts.values()) == suite_size(project), f"{config.source} does not find every test:\n{result.stdout}"


def outcome_counts(summary):
    """{"passed": 12, "deselected": 400, ...} from pytest's last line ("12 passed, 400 deselected in 3.10s")."""
    pattern = r"(\d+) (passed|failed|skipped|deselected|xfailed|xpassed|error)s?\b"
    return {word: int(count) for count, word in re.findall(pattern, summary)}


def prove_manage(config, project, extra_env):
    env = config_env(config, extra_env)
    check_manage_command(config, project, lambda args: run_in(config.cwd, "python", *args, env=env))
    command = config.program_args[0]
    if command == "migrate":
        run_in(config.cwd, "python", *config.args, env=env)
        plan = run_in(config.cwd, "python", "manage.py", "migrate", "--plan", env=env).stdout
        assert "No planned migration operations" in plan, plan
    elif command == "createsuperuser":
        assert config.emulate_terminal, f"{config.source}: the password prompt needs EMULATE_TERMINAL"
        run_in(config.cwd, "python", "manage.py", "migrate", "--verbosity", "0", env=env)
        name = f"admin{free_port()}"
        credentials = {
            "DJANGO_SUPERUSER_USERNAME": name,
            "DJANGO_SUPERUSER_EMAIL": f"{name}@example.com",
            "DJANGO_SUPERUSER_PASSWORD": "a long test password 42",
        }
        run_in(config.cwd, "python", *config.args, "--noinput", env={**env, **credentials})
        code = f"from django.contrib.auth import get_user_model; print(get_user_model().objects.get(username='{name}'))"
        assert name in run_in(config.cwd, "python", "manage.py", "shell", "-c", code, env=env).stdout
    elif command == "runworker":
        prove_runworker(config, project, env)
    elif command == "db_worker":
        prove_db_worker(config, project, env)
    else:
        pytest.fail(f"{config.source}: no proof for manage.py {command}: add one to this test")


def prove_runworker(config, project, env):
    """Every channel the configuration names must be served by some app's `channel_workers`.

    On Redis the worker must start and stay up. On the in-memory layer it must refuse at once and say why
    (the server runs the workers itself there): a worker that waits forever for nothing is the bug it prevents.
    """
    routing = f"{project_package(project)}.routing"
    code = f"import json; from {routing} import channel_workers; print(json.dumps(list(channel_workers)))"
    output = run_in(config.cwd, "python", "manage.py", "shell", "-c", code, env=env).stdout
    declared = json.loads(output.strip().splitlines()[-1])
    channels = [arg for arg in config.program_args[1:] if not arg.startswith("-")]
    assert channels, f"{config.source}: runworker names no channel"
    assert set(channels) <= set(declared), f"{config.source}: {channels} not among the workers {declared}"
    if not env.get("REDIS_URL"):
        result = subprocess.run(
            [sys.executable, *config.args], cwd=config.cwd, env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 1, result
        assert "runworker cannot work with the in-memory channel layer" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return
    with DevServer(config.args, config.cwd, env) as worker:

        def started():
            assert "Running worker for channels" in worker.output

        worker.wait_for(started)
        time.sleep(1)
        assert worker.process.poll() is None, f"{config.source}: runworker exited:\n{worker.output}"
    assert "Traceback" not in worker.output, worker.output


def prove_db_worker(config, project, env):
    """The durable jobs' worker must start on the migrated database, without Django's autoreloader (a reloader
    would cut jobs short on Ctrl-C), stay up, and stop cleanly on SIGTERM."""
    run_in(config.cwd, "python", "manage.py", "migrate", "--verbosity", "0", env=env)
    with DevServer(config.args, config.cwd, env) as worker:

        def started():
            assert "Starting worker worker_id=" in worker.output

        worker.wait_for(started)
        time.sleep(1)
        assert worker.process.poll() is None, f"{config.source}: db_worker exited:\n{worker.output}"
        assert "Watching for file changes" not in worker.output, f"{config.source}: db_worker runs under a reloader"
    assert worker.process.returncode == 0, worker.output
    assert "Traceback" not in worker.output, worker.output


def prove(config, project, extra_env):
    check_env(config, project)
    if config.module == "uvicorn":
        prove_uvicorn(config, project, extra_env)
    elif config.module == "pytest":
        prove_pytest(config, project, extra_env)
    elif config.args[0].endswith("manage.py"):
        prove_manage(config, project, extra_env)
    else:
        pytest.fail(f"{config.source}: no proof for {config.args}: add one to this test")


# A bake whose configuration files are the defaults' to the letter, its channel layer chosen in .env alone: only
# the configurations whose behavior depends on the layer run there (the server, and the worker that refuses the
# in-memory layer); the others ran in the defaults bake.
LAYER_DEPENDENT = {"uvicorn (reload)", "runworker"}


def same_configuration_files(project, other):
    files = sorted(path.relative_to(project) for path in project.glob(".run/*.xml"))
    assert files, f"{project} has no PyCharm configurations"
    return files == sorted(path.relative_to(other) for path in other.glob(".run/*.xml")) and all(
        (project / path).read_text() == (other / path).read_text() for path in files
    )


def test_every_run_configuration_works(baked, request):
    name, context, project = baked
    extra_env = {}
    if context.get("channel_layer") == "redis":
        extra_env["REDIS_URL"] = request.getfixturevalue("redis_url")
        # Compared on PyCharm's files: a layer-only bake has no others (MATRIX), and found == expected below.
        assert context.get("editor") == "pycharm", "a layer-only bake runs PyCharm's configurations"
        assert same_configuration_files(project, request.getfixturevalue("default_bake")), name
    configs = all_configs(project)
    editor = context.get("editor", "pycharm")
    expected = set()
    if editor in ("pycharm", "both"):
        wanted = PYCHARM_CONFIGS if context.get("include_demo_apps", True) else PYCHARM_CONFIGS - {"runworker"}
        expected |= {("pycharm", config) for config in wanted}
    if editor in ("vscode", "both"):
        expected |= {("vscode", config) for config in VSCODE_CONFIGS}
    found = {("pycharm" if c.source.startswith(".run") else "vscode", c.name) for c in configs}
    assert found == expected
    for config in configs:
        if not extra_env or config.name in LAYER_DEPENDENT:
            prove(config, project, extra_env)


@pytest.mark.parametrize(
    ("editor", "folders"),
    [("pycharm", {".run"}), ("vscode", {".vscode"}), ("both", {".run", ".vscode"}), ("none", set())],
)
def test_editor_choice_keeps_only_its_configurations(cookies, editor, folders):
    project = cookies.bake(extra_context={"editor": editor}).project_path
    assert {folder for folder in [".run", ".vscode"] if (project / folder).exists()} == folders


# A configuration naming something that does not exist must fail the suite: break a good bake and see.


@pytest.fixture(scope="module")
def good_bake(cookies_session):
    return cookies_session.bake(extra_context={"editor": "both", "project_slug": "proof"}).project_path


@pytest.fixture
def broken(good_bake, tmp_path):
    project = tmp_path / "proof"
    shutil.copytree(good_bake, project)
    return project


def edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def reload_config(project):
    return next(c for c in pycharm_configs(project) if c.name == "uvicorn (reload)")


def test_a_good_bake_passes_the_static_checks(good_bake):
    for config in all_configs(good_bake):
        check_env(config, good_bake)
        if config.module == "uvicorn":
            check_uvicorn(config, good_bake)


@pytest.mark.parametrize(
    ("file", "old", "new", "reason"),
    [
        ("uvicorn_reload.run.xml", '"MODULE_MODE"', '"MODUL_MODE"', "options PyCharm does not know"),
        ("uvicorn_reload.run.xml", 'name="SDK_HOME" value=""', 'name="SDK_HOME" value="/usr/bin/python3"', "absolute"),
        ("uvicorn_reload.run.xml", 'name="IS_MODULE_SDK" value="true"', 'name="IS_MODULE_SDK" value="false"', "SDK"),
        ("migrate.run.xml", "$PROJECT_DIR$/manage.py", "$MODULE_DIR$/manage.py", "unknown macro"),
        ("uvicorn_reload.run.xml", 'name="PYTHONUNBUFFERED" value="1"', 'name="X" value="1"', "PYTHONUNBUFFERED"),
        ("migrate.run.xml", "$PROJECT_DIR$/manage.py", "$PROJECT_DIR$/manages.py", "does not exist"),
        ("migrate.run.xml", '<method v="2" />', "", "method"),
        ("pytest.run.xml", "&quot;PATH&quot;", "&quot;PYTHON&quot;", "PATH pytest targets"),
        ("pytest.run.xml", "&quot;$PROJECT_DIR$&quot;", "&quot;$PROJECT_DIR$/test&quot;", "target .* does not exist"),
        (
            "migrate.run.xml",
            'name="EMULATE_TERMINAL" value="false"',
            'name="EMULATE_TERMINAL" value="no"',
            "true/false",
        ),
        ("pytest.run.xml", 'type="tests"', 'type="pytest"', "unknown configuration type"),
        ("createsuperuser.run.xml", '<module name="proof" />', '<module name="other" />', "<module name>"),
    ],
)
def test_pycharm_config_mistakes_are_caught(broken, file, old, new, reason):
    edit(broken / ".run" / file, old, new)
    with pytest.raises(ConfigProblem, match=reason):
        pycharm_configs(broken)


def test_pycharm_env_file_field_is_refused(broken):
    env_files = '<option name="ENV_FILES" value="$PROJECT_DIR$/.env" />'
    edit(broken / ".run" / "migrate.run.xml", "<method", f"{env_files}\n<method")
    with pytest.raises(ConfigProblem, match="ENV_FILES"):
        pycharm_configs(broken)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("proof.asgi:application", "proof.asgy:application", "does not exist"),
        ("proof.asgi:application", "proof.asgi:app", "defines no app"),
        ("--reload-dir echo", "--reload-dir src", "does not exist"),
        ("--reload-dir echo", "--reload-dir .", "project root"),
        ("--reload-dir echo ", "", r"\['echo'\] are not watched"),
        (
            "--reload-dir proof --reload-dir echo --reload-dir chat --reload-dir notifications --reload-dir tasks ",
            "",
            "without --reload-dir",
        ),
        ("--port 8000", "--port 8000 --env-file .env", "--env-file"),
        ("--reload-dir echo --reload-dir chat", "--reload-dir chat --reload-dir echo", "not the package and PROJ"),
        ("--ws-max-size 1048576", "--ws-max-size 2097152", "needs --ws-max-size 1048576 \\(from server.py\\)"),
        ("--ws-per-message-deflate false", "", "needs --ws-per-message-deflate false"),
    ],
)
def test_uvicorn_mistakes_are_caught(broken, old, new, reason):
    edit(broken / ".run" / "uvicorn_reload.run.xml", old, new)
    with pytest.raises(ConfigProblem, match=reason):
        check_uvicorn(reload_config(broken), broken)


def test_a_deleted_app_still_watched_is_caught(broken):
    shutil.rmtree(broken / "chat")
    with pytest.raises(ConfigProblem, match="chat does not exist"):
        check_uvicorn(reload_config(broken), broken)


def test_an_added_app_not_watched_is_caught(broken):
    (broken / "orders").mkdir()
    edit(broken / "proof" / "settings.py", '    "chat",\n', '    "chat",\n    "orders",\n')
    with pytest.raises(ConfigProblem, match=r"\['orders'\] are not watched"):
        check_uvicorn(reload_config(broken), broken)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ('"type": "debugpy"', '"type": "python"', "not a debugpy launch"),
        ('"django": true', '"django": false', "django"),
        ('"purpose": [', '"module": "pytest", "purpose": [', "debug-test with a module"),
        ('"python.testing.pytestEnabled": true', '"python.testing.pytestEnabled": false', "pytest is not enabled"),
        ("/.vscode/launch.env", "/.env", "envFile is .env"),
        ("/.vscode/launch.env", "/.vscode/missing.env", "does not exist"),
        ('"cwd": "${workspaceFolder}"', '"cwd": "${workspaceRoot}"', "cwd"),
    ],
)
def test_vscode_mistakes_are_caught(broken, old, new, reason):
    files = [broken / ".vscode" / "launch.json", broken / ".vscode" / "settings.json"]
    edit(next(path for path in files if old in path.read_text()), old, new)
    with pytest.raises(ConfigProblem, match=reason):
        vscode_configs(broken)


def test_a_setting_that_does_not_exist_is_caught(broken):
    launch = broken / ".vscode" / "launch.json"
    edit(launch, '"PYTHONUNBUFFERED": "1"', '"PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "proof.setings"')
    config = vscode_configs(broken)[0]
    with pytest.raises(ConfigProblem, match="proof.setings does not exist"):
        check_env(config, broken)


def test_a_variable_that_would_freeze_env_is_caught(broken):
    edit(broken / ".vscode" / "launch.json", '"PYTHONUNBUFFERED": "1"', '"PYTHONUNBUFFERED": "1", "DJANGO_DEBUG": "1"')
    with pytest.raises(ConfigProblem, match="DJANGO_DEBUG"):
        check_env(vscode_configs(broken)[0], broken)


def test_an_unknown_manage_command_is_caught(broken):
    edit(broken / ".run" / "runworker.run.xml", '"runworker tasks"', '"runwororker tasks"')
    config = next(c for c in pycharm_configs(broken) if c.name == "runworker")
    with pytest.raises(AssertionError, match="Unknown command"):
        check_manage_command(config, broken, lambda args: run_in(broken, "python", *args))


@pytest.mark.fast
def test_readme_run_command_is_the_reload_configuration(baked):
    _, context, project = baked
    readme = (project / "README.md").read_text()
    block = readme[readme.index(".venv/bin/python -m uvicorn") :]
    command = shlex.split(block[: block.index("```")].replace("\\\n", " "))
    configs = [c for c in all_configs(project) if c.name == "uvicorn (reload)"]
    for config in configs:
        args = with_port(config.args, 8000)
        assert command[1:] == args[: args.index("--port")], config.source
