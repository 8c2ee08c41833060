"""Every shell command a bake's README and post-bake message give is run, and everything they name exists.

The bake's README.md, its docs/ pages and the message the post-generation hook prints ("Next: ...") are read
for every option combination: the full product of cookiecutter.json's choices (2 layers x 2 demo x 2 deploy x
4 editors x 2 databases = 64), each baked once per run and shared by the xdist workers (`shared_bake`, read only).

Static, for each combination (`test_docs_name_what_the_bake_has[...]`; the default one is in the fast lane):
every relative link of README.md and docs/*.md, with its #anchor, leads to a file and heading of that bake;
every file or folder path the README, the message and the docs pages name exists there (relative to the
project or its package; NOT_IN_A_BAKE lists the ones a command or the user creates, with what creates them);
every `manage.py <command>` is a command of that bake (`manage.py help --commands`); every `python -m
<module>` imports there; every `.venv/bin/<tool>` is installed by the project's dependencies; every variable
settings.py reads has its row in docs/settings.md, with the default settings.py gives it, and so has every one
deploy/gunicorn.conf.py reads; every run
configuration name ("uvicorn (reload)") is a configuration of that bake, and every quoted name in the message
a configuration or a README heading; the README's uvicorn command passes the checks every IDE configuration
passes (tests/support/run_configs.check_uvicorn: server.py's options, a --reload-dir per source folder); no
command runs a bare `python` or `pip` (stock Debian has only python3); every command of the README and the
message has a proof below; and what issue 12 found stays gone: no PyCharm or VS Code words in bakes without that
editor, no demo app names in bakes without the demo apps, a Redis bake's message says how to get Redis and an
in-memory bake's says nothing about it. In a bake without the demo apps, no file (docs, code and docstrings, the
templates, newapp's app_template) names a demo app's file or a demo as if it were there (`demo_mentions`).

Commands (`test_readme_and_message_commands_run[...]`): the shell commands are every line of each ```bash / ```sh /
```console block of the README (`\\` continuations joined, `# comments` dropped, `&&` chains split) and each
indented line of the message. Over the 64 combinations they are few and differ only with the demo apps (the uvicorn
command's --reload-dir list) and the layer (the message's Redis step), so each distinct command (by its words) is
run once, not 64 times: RUNNERS are the bakes that run them, and `test_runners_cover_every_command` proves that
every command of every combination is in a runner's plan. A runner bakes afresh and runs its plan in the order a
user meets the commands (the message, then the README): the ones no earlier runner ran, plus SETUP (cd, the Redis
step, migrate), which each runner does for real in its own bake. The README sets up .venv one of two ways, pip
(`python3 -m venv`, `pip install -e ".[dev]"`) or `uv sync`; a user does one or the other, so each runner does one
(RUNNER_SET_UP), where the message's set-up comes. Nothing is shared between the bakes that a user would not share.
The no-demo bake runs first, so the README's pytest commands run its (smaller) suite; tests/test_ci_workflow.py runs
every bake's suite anyway.

How each command is proven (`prove`): the venv (with the python3 on PATH), `pip install -e ".[dev]"`, migrate,
newapp, pytest, ruff and mypy run for real, and must succeed (after `uv sync`, .venv must have python and ruff). migrate
and newapp must leave what the README says they create (db.sqlite3; orders/ with its routes, consumers and tests,
its PROJECT_APPS line, and its --reload-dir in every reload run configuration). `pytest` must collect the whole
suite and pass its in-memory layer and browser tests (the machinery of the suite, in this venv); `pytest -m "not
browser"` is proven by collection: it must select exactly the suite minus the `browser` tests; `pytest --redis`
must collect the whole suite and pass its Redis tests (`-k redis`). tests/test_ci_workflow.py runs that bake's code's
whole suite, on both layers.
A uvicorn command is started
on a free port (its `--port` replaced, or one added: the default 8000 would collide), must echo on /ws/echo/ (demo
apps) or close an unknown socket path with the project's 4404, and is stopped; a second server (a uvicorn command
with its own `--port`) is given by Redis bakes only, as one process is all the in-memory layer serves. `sed -i ...
.env` runs, and .env must then hold the REDIS_URL line the command writes. Nothing here connects to
127.0.0.1:6379: a Redis bake's commands start with REDIS_URL on a free port where nothing listens (a machine without
Redis; python-dotenv never overrides the environment), and from the `apt-get install redis-server` step (Debian
starts Redis) or the sed on, REDIS_URL names a private redis-server on a free port. What cannot run here is in
NOT_RUN, with the reason and the check made instead. A command that matches no proof FAILS: a new command in the
README or the message needs its proof added here.
"""

import hashlib
import importlib.util
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from cookiecutter.main import cookiecutter
from dotenv import dotenv_values

from .support.bakes import TEMPLATE_DIR, baked_env, mypy_cache
from .support.dev_server import DevServer, close_code
from .support.processes import free_port, launch, start_redis, stop
from .support.run_configs import RunConfig, all_configs, check_uvicorn, project_package

PROJECT_RUN = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / ".run"
OPTIONS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
# Every question with choices (a list) or a yes/no answer (a bool): the full product is every bake there is.
CHOICES = {
    key: value if isinstance(value, list) else [True, False]
    for key, value in OPTIONS.items()
    if not key.startswith("_") and isinstance(value, list | bool)
}


def combination_name(context):
    words = {True: "{}", False: "no-{}"}
    return "-".join(
        words[value].format(key.removeprefix("include_").replace("_apps", "")) if isinstance(value, bool) else value
        for key, value in context.items()
    )


COMBINATIONS = {
    combination_name(context): context
    for context in (dict(zip(CHOICES, values, strict=True)) for values in itertools.product(*CHOICES.values()))
}
DEFAULT = combination_name({key: values[0] for key, values in CHOICES.items()})

# The bakes that run the commands, in order; each runs the commands no earlier one ran (and SETUP), and sets up
# its .venv one of the README's two ways (SET_UPS): a user does one or the other, not both.
RUNNERS = [
    {
        "channel_layer": "memory",
        "database": "sqlite",
        "include_demo_apps": False,
        "include_deploy": True,
        "editor": "both",
    },
    {
        "channel_layer": "redis",
        "database": "sqlite",
        "include_demo_apps": True,
        "include_deploy": False,
        "editor": "pycharm",
    },
]
RUNNER_SET_UP = ["pip", "uv"]
SET_UPS = {"pip": {"venv", "pip install"}, "uv": {"uv sync"}}
SETUP = {"cd", "migrate", "not run"}

# Commands this test does not run, each with the reason and what it checks instead.
NOT_RUN = {
    ("sudo", "apt-get", "install", "redis-server"): (
        "no sudo in CI, and tests install nothing: redis-server must be installed already (.ci/run does it), "
        "and the Redis it would start on 127.0.0.1:6379 is replaced by a private one on a free port"
    ),
    ("docker", "compose", "-f", "compose.dev.yaml", "up", "-d", "--wait"): (
        "no Docker engine here, nor in CI: the file is read instead (its Redis must be published where every "
        "REDIS_URL of the README points; tests/test_deploy.py checks the rest), and a private redis-server on a "
        "free port stands in for that Redis"
    ),
}
# Programs the README names as Debian packages (inline or in commands), and how to tell they are installed.
APT_PACKAGES = {"redis-server": "redis-server", "chromium": "/usr/bin/chromium"}

SHELL_FENCES = {"bash", "sh", "console"}
OTHER_FENCES = {"python", "text", "toml", "ini", "json", "yaml", "nginx", "html", "js", "javascript", "env", ""}
# Paths the README names that a bake does not hold, with what creates them (proven in the commands test).
NOT_IN_A_BAKE = {
    ".venv": "python3 -m venv .venv",
    "db.sqlite3": "manage.py migrate",
    "test_db.sqlite3": "pytest-django, during a run (the settings name it)",
    "orders/routing.py": "manage.py newapp orders",
    "orders/consumers.py": "manage.py newapp orders",
    "orders/tests/": "manage.py newapp orders",
    "orders/urls.py": "the user, for a page (the README says to add it)",
    "staticfiles/": "manage.py collectstatic (docs/deploy.md)",
    "sites-enabled/": "nginx's folder on the server (docs/deploy.md)",
    "tests/test_capacity.py": "the cookiecutter template's own tests (docs/deploy.md says so)",
    "tests/test_proxy_chain.py": "the cookiecutter template's own tests (docs/deploy.md says so)",
    "tests/test_dependencies_down.py": "the cookiecutter template's own tests (docs/deploy.md says so)",
    "tests/test_hosts.py": "the cookiecutter template's own tests (docs/deploy.md says so)",
    "tests/test_sentinel.py": "the cookiecutter template's own tests (docs/deploy.md says so)",
}
CREATED_BY_NEWAPP = ["orders/routing.py", "orders/consumers.py", "orders/tests/"]
PATH_SUFFIXES = (".py", ".md", ".toml", ".yaml", ".yml", ".xml", ".json", ".txt", ".conf", ".sqlite3", ".html", ".env")
PATH_NAMES = {"Dockerfile", ".env", ".env.example", ".dockerignore", ".venv", ".gitignore"}
# The first words that make an inline code span a command.
PROGRAMS = {"python", "python3", "pip", "pip3", "cd", "cp", "sed", "sudo", "docker", "manage.py", "pytest"}
EDITOR_WORDS = {"pycharm": ["PyCharm", ".run/", ".run.xml"], "vscode": ["VS Code", ".vscode", "launch.json"]}
DEMO_WORDS = re.compile(r"\b(echo|chat|notifications?|notify|tasks|demo-apps)\b|/ws/echo/|runworker tasks")
# In any file of a bake without the demo apps: a demo app's file or folder ("chat/consumers.py"; not a URL such as
# the socket path "/ws/chat/" or a route's "echo/"), or a demo named as present ("the demo pages", "the `tasks`
# demo"; "the demo apps" is how a text says they are optional).
DEMO_PATHS = re.compile(r"(?<![\w/.\"'-])(?:chat|echo|notifications|tasks)/[\w/.-]*|\bdemo-apps\.md\b")
DEMOS_AS_PRESENT = re.compile(r"\bthe\s+(?:[\w`]+\s+)?demos?\b(?!\s+apps)", re.IGNORECASE)


# --- bakes ----------------------------------------------------------------------------------------------------


def bake(context, output_dir):
    """cookiecutter --no-input with these answers; returns (project, what the hooks printed). In this process
    (no CLI start-up for each of the 64 bakes); the hook is a child process writing to file descriptor 1, so
    that is where its message is read from."""
    with tempfile.TemporaryFile("w+") as printed:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(printed.fileno(), 1)
        try:
            project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, extra_context=context, output_dir=output_dir))
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        printed.seek(0)
        return project, printed.read()


def shared_bake(tmp_path_factory, name):
    """The bake of combination `name`, made once per test run and shared by the xdist workers (read only:
    tests that change a bake make their own)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    final = root / "docs-bakes" / name
    if not final.is_dir():
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{name}-"))
        _, message = bake(COMBINATIONS[name], scratch / "out")
        (scratch / "message.txt").write_text(message)
        try:
            scratch.rename(final)
        except OSError:  # another worker baked it first: use that one
            shutil.rmtree(scratch)
    (project,) = (final / "out").iterdir()
    return project, (final / "message.txt").read_text()


# --- reading the README and the message ------------------------------------------------------------------------


def strip_comment(line):
    """The line without its shell comment (a # outside quotes, at the start or after whitespace)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def split_chain(line):
    """`a && b` as two commands (each is proven on its own; the README runs them separately too)."""
    return [part.strip() for part in re.split(r"\s&&\s", line) if part.strip()]


def fenced_blocks(text):
    return re.findall(r"^```([\w-]*)[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def readme_commands(readme):
    commands = []
    for language, body in fenced_blocks(readme):
        assert language in SHELL_FENCES | OTHER_FENCES, f"a ```{language} block: is it shell? Add it to a set here"
        if language not in SHELL_FENCES:
            continue
        for line in body.replace("\\\n", " ").splitlines():
            line = strip_comment(line).strip()
            if language == "console":
                line = line.removeprefix("$ ")
            commands += split_chain(line)
    return commands


def message_commands(message):
    return [
        part for line in re.findall(r"^ {4}(\S.*)$", message, re.MULTILINE) for part in split_chain(strip_comment(line))
    ]


def words(command):
    """A command's words as the shell splits them: two spellings of one command are one command."""
    return tuple(shlex.split(command))


def bake_commands(readme, message):
    """The distinct commands of a bake, in the order a user meets them: the message first, then the README."""
    seen = {}
    for command in message_commands(message) + readme_commands(readme):
        seen.setdefault(words(command), command)
    return seen


def code_spans(text):
    """Inline code of a Markdown text (outside fenced blocks), whitespace (line breaks) collapsed."""
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose)]


def links(text):
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"\]\(([^)\s]+)\)", prose)


def anchor(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(text):
    prose = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return {anchor(heading) for heading in re.findall(r"^#+ (.+)$", prose, flags=re.MULTILINE)}


def headings(text):
    return set(re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE))


def section(readme, heading):
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, flags=re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def is_path(span):
    """A file or folder name: `deploy/`, `conftest.py`, `.env` (not `/ws/echo/`, `<app>/urls.py`, `on/off`)."""
    if re.search(r"[\s<>*=:(),\"'?]", span) or span.startswith(("/", "-", ".venv/bin/")):
        return False
    return span.endswith("/") or span.endswith(PATH_SUFFIXES) or Path(span).name in PATH_NAMES


def path_exists(project, path):
    """A path relative to the project, or to its package (the docs say `layers/redis.py` for `<slug>/layers/...`)."""
    candidates = [project / path, project / project_package(project) / path]
    return any(candidate.is_dir() if path.endswith("/") else candidate.exists() for candidate in candidates)


# --- facts about a bake -------------------------------------------------------------------------------------------


def static_env():
    # Nothing here connects to a Redis; an empty REDIS_URL keeps .env's 127.0.0.1:6379 out of reach anyway.
    return baked_env(REDIS_URL="")


DJANGO_COMMANDS = {}  # manage_commands' answers, by what they depend on


def manage_commands(project):
    """`manage.py help --commands` of this bake, asked once per distinct settings.py and set of command files
    (what the answer depends on): the 64 bakes have few of those."""
    key = hashlib.sha256(
        "\n".join(
            [(project / project_package(project) / "settings.py").read_text()]
            + sorted(str(path.relative_to(project)) for path in project.glob("*/management/commands/*.py"))
        ).encode()
    ).hexdigest()
    if key not in DJANGO_COMMANDS:
        result = subprocess.run(
            [sys.executable, "manage.py", "help", "--commands"],
            cwd=project,
            env=static_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        DJANGO_COMMANDS[key] = set(result.stdout.split())
    return DJANGO_COMMANDS[key]


def importable(project, modules):
    """Which of `modules` import in the project's folder (what `python -m MODULE` needs): a module of the
    project itself is a file or package there, any other one comes from the environment the bake installs
    (this one has the same dependencies: tests/test_dependencies.py)."""
    found = set()
    for module in modules:
        top = project / module.split(".")[0]
        if top.is_dir() or top.with_suffix(".py").is_file():
            path = project / module.replace(".", "/")
            if (
                path.with_suffix(".py").is_file()
                or (path / "__init__.py").is_file()
                or (path / "__main__.py").is_file()
            ):
                found.add(module)
        elif importlib.util.find_spec(module) is not None:
            found.add(module)
    return found


def config_names(project):
    return {config.name for config in all_configs(project)}


# Every configuration name the template has (names hold no Jinja): a README span equal to one names a configuration.
TEMPLATE_CONFIG_NAMES = set(
    re.findall(r'<configuration [^>]*name="([^"]+)"', "".join(path.read_text() for path in PROJECT_RUN.glob("*.xml")))
) | set(re.findall(r'"name": "([^"]+)"', (PROJECT_RUN.parent / ".vscode" / "launch.json").read_text()))


def uvicorn_config(project, command):
    """The README's uvicorn command as a run configuration (with uvicorn's default --port 8000, which it
    leaves out), for the checks every IDE configuration passes."""
    args = list(words(command))[1:]
    if "--port" not in args:
        args += ["--port", "8000"]
    return RunConfig("README.md", "the command under Run", args, project)


def python_modules(command_words):
    return [command_words[i + 1] for i, word in enumerate(command_words[:-1]) if word == "-m" and i <= 1]


def manage_command(command_words):
    if "manage.py" in command_words[:2]:
        index = command_words.index("manage.py")
        return command_words[index + 1] if index + 1 < len(command_words) else None
    return None


# --- static: what the docs name exists ----------------------------------------------------------------------------


def is_command(text):
    try:
        first = shlex.split(text)[0]
    except (ValueError, IndexError):
        return False
    return first in PROGRAMS or first.startswith(".venv/bin/")


def command_problems(project, commands, where, complete_commands=()):
    """What is not true of these commands in this bake: a bare python, a missing tool, Django command or module;
    `complete`: the ones given in full (fenced), whose uvicorn options are checked too."""
    problems = []
    django_commands = manage_commands(project)
    # Tools these commands install themselves (`.venv/bin/pip install py-spy`, then `.venv/bin/py-spy ...`).
    installed = {name for command in commands if words(command)[1:2] == ("install",) for name in words(command)[2:]}
    found = importable(project, sorted({module for command in commands for module in python_modules(words(command))}))
    for command in commands:
        command_words = words(command)
        program = command_words[0]
        said = f"{where}: {command!r}"
        complete = command in complete_commands
        if program in {"python", "pip"}:
            problems.append(f"{said} runs a bare {program}: stock Debian has only python3 (and no pip)")
        if program.startswith(".venv/bin/") and program.removeprefix(".venv/bin/") not in {"python", "pip"}:
            tool = program.removeprefix(".venv/bin/")
            if tool not in installed and shutil.which(tool, path=str(Path(sys.executable).parent)) is None:
                problems.append(f"{said}: no dependency of the project installs {tool}")
        django_command = manage_command(command_words)
        if django_command is not None and django_command not in django_commands:
            problems.append(f"{said}: this bake has no manage.py command {django_command}")
        for module in python_modules(command_words):
            if module not in found:
                problems.append(f"{said}: the module {module} does not import in this bake")
        if command_words[:3] == ("sudo", "apt-get", "install"):
            for package in command_words[3:]:
                if package not in APT_PACKAGES:
                    problems.append(f"{said}: add how to tell {package} is installed to APT_PACKAGES")
        if program == "cp" and not list(project.glob(command_words[1])):
            problems.append(f"{said}: this bake has no {command_words[1]}")
        if command_words[:2] == ("docker", "compose") and "-f" in command_words:
            compose_file = command_words[command_words.index("-f") + 1]
            if not (project / compose_file).is_file():
                problems.append(f"{said}: this bake has no {compose_file}")
        if program == "python3" and command_words[1:2] == ("-c",):
            result = subprocess.run(command_words, capture_output=True, text=True, timeout=60)
            if result.returncode != 0:
                problems.append(f"{said} fails: {result.stderr}")
        if "uvicorn" in command_words[1:3] and complete:  # a mention in prose may leave options out
            try:
                check_uvicorn(uvicorn_config(project, command), project)
            except AssertionError as error:
                problems.append(f"{said}: {error}")
    return problems


# The compose services some bake has (its options decide): a bake's pages name only its own.
COMPOSE_SERVICES = {"web", "worker", "jobs", "redis", "nginx"}


def static_problems(project, message, context):
    """Everything the bake's README.md, docs/ and message say that is not true of the bake."""
    problems = []
    readme = (project / "README.md").read_text()
    commands = bake_commands(readme, message)
    spans = code_spans(readme)

    # Links: README.md and every page in docs/, with their anchors.
    for document in [project / "README.md", *sorted((project / "docs").glob("*.md"))]:
        text = document.read_text()
        for target in links(text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, fragment = target.partition("#")
            path = (document.parent / file).resolve() if file else document
            name = document.relative_to(project)
            if not path.exists():
                problems.append(f"{name} links {target}, which this bake does not have")
            elif fragment and path.suffix == ".md" and fragment not in anchors(path.read_text()):
                problems.append(f"{name} links {target}: {path.name} has no heading #{fragment}")

    # Paths the README and the message name.
    for span in spans + re.findall(r"\b([\w.]+\.md)\b", message):
        if is_path(span) and span not in NOT_IN_A_BAKE and not path_exists(project, span):
            problems.append(f"README.md or the message names {span}, which this bake does not have")
    settings = (project / project_package(project) / "settings.py").read_text()
    if "test_db.sqlite3" in readme and "test_db.sqlite3" not in settings:
        problems.append("README.md says tests use test_db.sqlite3; settings.py does not name it")
    # README's "Every setting: docs/settings.md": each variable settings.py reads has its row there, with the
    # default settings.py gives it.
    settings_page = (project / "docs" / "settings.md").read_text()
    for variable, default in sorted(settings_defaults(settings).items()):
        stated = stated_default(settings_page, variable)
        if f"`{variable}`" not in settings_page:
            problems.append(f"settings.py reads {variable}; docs/settings.md does not say what it does")
        elif stated is not None and stated != default:
            problems.append(f"docs/settings.md gives {variable} the default {stated!r}; settings.py, {default!r}")
    # And each variable deploy/gunicorn.conf.py reads (gunicorn's own, read before Django starts).
    gunicorn_conf = project / "deploy" / "gunicorn.conf.py"
    if gunicorn_conf.is_file():
        conf = gunicorn_conf.read_text()
        for variable in sorted(set(re.findall(r'(?:\benv_\w+|os\.environ\.get)\("([A-Z][A-Z0-9_]*)"', conf))):
            if f"`{variable}`" not in settings_page:
                problems.append(f"deploy/gunicorn.conf.py reads {variable}; docs/settings.md does not say what it does")

    # Commands: shell ones, inline ones and the message's.
    for key, command in commands.items():
        if kind(key) is None:
            problems.append(f"{command!r}: no proof for this command: add one to tests/test_docs_commands.py")
    inline = [part for span in spans if is_command(span) for part in split_chain(span)]
    for command in inline:
        if words(command)[0] == "pytest" and not any(
            words(other)[3:] == words(command)[1:] for other in commands.values()
        ):
            problems.append(f"{command!r} is not one of the README's pytest commands, which the test runs")
    given = list(commands.values())
    problems += command_problems(project, [*given, *inline], "README.md or the message", given)

    # The pages in docs/: the paths and commands they name.
    for page in sorted((project / "docs").glob("*.md")):
        text = page.read_text()
        where = f"docs/{page.name}"
        for span in code_spans(text):
            if is_path(span) and span not in NOT_IN_A_BAKE and not path_exists(project, span):
                problems.append(f"{where} names {span}, which this bake does not have")
        fenced = [command for command in readme_commands(text) if is_command(command)]
        page_inline = [part for span in code_spans(text) if is_command(span) for part in split_chain(span)]
        problems += command_problems(project, [*fenced, *page_inline], where, fenced)

    # compose services: a page may name only those this bake's compose.yaml has (`db` is named as the
    # postgresql option's, in a bake without it).
    if (project / "compose.yaml").is_file():
        services = set(yaml.safe_load((project / "compose.yaml").read_text())["services"])
        for page in [project / "README.md", *sorted((project / "docs").glob("*.md"))]:
            for name in sorted(COMPOSE_SERVICES - services):
                if f"`{name}`" in page.read_text():
                    problems.append(f"{page.relative_to(project)} names the compose service {name!r}, not in this bake")

    # Run configuration names, and the README sections the message points to.
    configs = config_names(project)
    ide = section(readme, "Open in an IDE")
    for span in spans:
        named = re.fullmatch(r"[\w.-]+ \([\w .-]+\)", span) or (span in TEMPLATE_CONFIG_NAMES and f"`{span}`" in ide)
        if named and span not in configs:
            problems.append(f"README.md names the run configuration {span!r}; this bake has {sorted(configs)}")
    for quoted in re.findall(r'"([^"]+)"', re.sub(r"^ {4}.*$", "", message, flags=re.MULTILINE)):
        if quoted not in configs and quoted not in headings(readme):
            problems.append(f"the message names {quoted!r}: neither a run configuration nor a README heading")

    # What issue 12 found: words about options this bake does not have.
    documents = {"README.md": readme, "the message": message}
    for editor, editor_words in EDITOR_WORDS.items():
        if context["editor"] not in (editor, "both"):
            for where, text in documents.items():
                problems += [
                    f"{where} mentions {word} (editor={context['editor']})" for word in editor_words if word in text
                ]
    if not context["include_demo_apps"]:
        for where, text in documents.items():
            problems += [f"{where} mentions {match.group()!r} (no demo apps)" for match in DEMO_WORDS.finditer(text)]
        problems += demo_mentions(project)
    redis_steps = [command for command in message_commands(message) if "redis" in command.lower()]
    if context["channel_layer"] == "redis" and not redis_steps:
        problems.append("the message of a Redis bake does not say how to get Redis")
    if context["channel_layer"] == "memory" and "redis" in message.lower():
        problems.append("the message of an in-memory bake mentions Redis")
    servers = [words(command) for command in commands.values() if words(command)[1:3] == ("-m", "uvicorn")]
    if context["channel_layer"] == "memory" and any("--port" in server for server in servers):
        problems.append("the README of an in-memory bake gives a second server (a --port): its layer serves one")
    if context["channel_layer"] == "redis" and "REDIS_URL=redis://127.0.0.1:6379/0" not in dotenv_text(project):
        problems.append(".env of a Redis bake does not hold the REDIS_URL the README states")
    return problems


def demo_mentions(project):
    """What a bake without the demo apps says of them as if it had them, in any of its text files (docs, code
    and its docstrings, the templates, newapp's app_template): "file:line names ..." for each demo app path or
    demo named as present."""
    problems = []
    for path in sorted(project.rglob("*")):
        if not path.is_file() or path.name == "uv.lock" or ".venv" in path.parts:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for pattern in (DEMO_PATHS, DEMOS_AS_PRESENT):  # the whole text: a phrase may span a line break
            problems += [
                f"{path.relative_to(project)}:{text.count(chr(10), 0, match.start()) + 1} names "
                f"{' '.join(match.group().split())!r} (no demo apps)"
                for match in pattern.finditer(text)
            ]
    return problems


def settings_defaults(settings):
    """{variable: its default as settings.md writes it} for each env_*("NAME", default) call in the text of
    settings.py: the number or the string's text, "empty" for none or ""."""
    calls = re.findall(r'\benv_\w+\("([A-Z][A-Z0-9_]*)"(?:,\s*(?:"([^"]*)"|(\d+)))?', settings)
    return {variable: text or number or "empty" for variable, text, number in calls}


def stated_default(page, variable):
    """The default settings.md's table row for `variable` states: the backquoted value of the default column in
    the variable's place among the row's names (a row of two variables gives two defaults, or one for both), or
    "empty" when the column starts with that word; None without such a row."""
    for line in page.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        if len(cells) < 3 or variable not in names:
            continue
        if cells[1].startswith("empty"):
            return "empty"
        values = re.findall(r"`([^`]*)`", cells[1])
        return values[min(names.index(variable), len(values) - 1)] if values else cells[1]
    return None


def dotenv_text(project):
    return "".join(f"{key}={value}\n" for key, value in dotenv_values(project / ".env").items())


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.fast if name == DEFAULT else pytest.mark.other_bake)
        for name in COMBINATIONS
    ],
)
def test_docs_name_what_the_bake_has(tmp_path_factory, name):
    project, message = shared_bake(tmp_path_factory, name)
    problems = static_problems(project, message, COMBINATIONS[name])
    assert not problems, f"{name}:\n" + "\n".join(problems)


ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
ENV_FILES = [".env", ".env.example", ".vscode/launch.env"]


def env_examples(project):
    """{where: text} for each .env-shaped text of the bake: its env files, and every fenced block of README.md
    and docs/*.md whose lines are all assignments (KEY=value) or comments, with at least one assignment."""
    examples = {name: (project / name).read_text() for name in ENV_FILES if (project / name).is_file()}
    for document in [project / "README.md", *sorted((project / "docs").glob("*.md"))]:
        for index, (_, block) in enumerate(fenced_blocks(document.read_text())):
            lines = [line.strip() for line in block.splitlines() if line.strip()]
            if any(ASSIGNMENT.match(line) for line in lines) and all(
                ASSIGNMENT.match(line) or line.startswith("#") for line in lines
            ):
                examples[f"{document.relative_to(project)}, block {index + 1}"] = block
    return examples


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.fast if name == DEFAULT else pytest.mark.other_bake)
        for name in COMBINATIONS
    ],
)
def test_env_examples_keep_comments_on_their_own_lines(tmp_path_factory, name):
    """systemd's EnvironmentFile (the units read .env with it) keeps a `# ...` after a value as part of the
    value, where python-dotenv drops it: a pasted `WEB_CONCURRENCY=2  # ...` would give the services another value
    than manage.py. So no .env example of a bake has a comment after a value."""
    project, _ = shared_bake(tmp_path_factory, name)
    examples = env_examples(project)
    assert ".env.example" in examples, sorted(examples)
    if COMBINATIONS[name]["include_deploy"]:  # deploy.md's .env blocks are read
        assert any(where.startswith("docs/deploy.md, block") for where in examples), sorted(examples)
    problems = [
        f"{where}: {line.strip()}"
        for where, text in examples.items()
        for line in text.splitlines()
        if ASSIGNMENT.match(line.strip()) and re.search(r"\s#", line)
    ]
    assert not problems, f"{name}: comments after values:\n" + "\n".join(problems)


@pytest.mark.fast
def test_every_combination_is_tested():
    assert len(COMBINATIONS) == 2 * 2 * 2 * 2 * 4 and DEFAULT == "memory-sqlite-demo-deploy-pycharm"
    assert all(runner in COMBINATIONS.values() for runner in RUNNERS)


@pytest.mark.other_bake
def test_runners_cover_every_command(tmp_path_factory):
    """Each distinct command of the 64 bakes is in a runner's plan (so the commands test runs it)."""
    planned = {key for plan in runner_plan(tmp_path_factory) for key in plan}
    missing = {}
    for name in COMBINATIONS:
        project, message = shared_bake(tmp_path_factory, name)
        for key, command in bake_commands((project / "README.md").read_text(), message).items():
            if key not in planned:
                missing.setdefault(command, name)
    assert not missing, f"commands no runner runs (add a runner to RUNNERS): {missing}"


# --- running the commands --------------------------------------------------------------------------------------------


class Session:
    """One user's shell in one bake: the working folder, the environment, the private Redis once needed."""

    def __init__(self, project, scratch):
        self.project = project
        self.scratch = scratch
        self.env = baked_env()
        if dotenv_values(project / ".env").get("REDIS_URL"):
            # Until a command gets a Redis running, .env's REDIS_URL (a Redis bake's 127.0.0.1:6379, the user's
            # own) is replaced by a free port where nothing listens: as on a machine without Redis.
            self.env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
        self.redis = None
        self.suite_proven = False
        self.collections = {}
        self.ran = []

    def use_private_redis(self):
        """From now on REDIS_URL (the environment wins over .env) points at a private redis-server."""
        if self.redis is None:
            self.redis, url = start_redis(self.scratch)
            self.env = {**self.env, "REDIS_URL": url}

    def run(self, command_words, timeout=900):
        started = time.monotonic()
        result = subprocess.run(
            command_words, cwd=self.project, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        self.ran.append((" ".join(command_words), round(time.monotonic() - started, 1)))
        assert result.returncode == 0, f"{command_words} failed in {self.project}:\n{result.stdout}\n{result.stderr}"
        return result

    def close(self):
        if self.redis is not None:
            stop(self.redis)


class VenvServer(DevServer):
    """A server command run with the bake's own .venv/bin/python, as the README gives it."""

    def __init__(self, command_words, cwd, env):
        self.process = launch(list(command_words), cwd, env, start_new_session=True)
        self.lines = self.process.lines


def kind(command_words):
    """Which proof a command gets; None: no proof known, the test fails."""
    program, rest = command_words[0], command_words[1:]
    if command_words in NOT_RUN:
        return "not run"
    if program == "cd" and len(rest) == 1:
        return "cd"
    if command_words == ("python3", "-m", "venv", ".venv"):
        return "venv"
    if command_words == ("uv", "sync"):
        return "uv sync"
    if command_words == (".venv/bin/pip", "install", "-e", ".[dev]"):
        return "pip install"
    if program == ".venv/bin/python" and rest[:1] == ("manage.py",):
        return {"migrate": "migrate", "newapp": "newapp"}.get(manage_command(command_words))
    if program == ".venv/bin/python" and rest[:2] == ("-m", "uvicorn"):
        return "server"
    if program == ".venv/bin/python" and rest[:2] == ("-m", "pytest"):
        return "pytest"
    if program == ".venv/bin/ruff":
        return "ruff"
    if command_words == (".venv/bin/mypy", "."):
        return "mypy"
    if program == "sed" and rest[:1] == ("-i",) and rest[-1:] == (".env",) and len(rest) == 3:
        return "sed .env"
    return None


def prove(session, command_words, proof):
    project = session.project
    if proof == "not run" and command_words[:2] == ("docker", "compose"):
        prove_compose_up(session, command_words)
    elif proof == "not run":
        assert command_words[:3] == ("sudo", "apt-get", "install")
        for package in command_words[3:]:
            assert shutil.which(APT_PACKAGES[package]), f"{package} is not installed: {NOT_RUN[command_words]}"
        if "redis-server" in command_words:
            session.use_private_redis()  # what Debian does after installing it: a Redis runs
    elif proof == "cd":
        assert command_words[1] == project.name, f"the message says cd {command_words[1]}; the bake is {project.name}"
    elif proof == "uv sync":
        prove_uv_sync(session)
    elif proof == "venv":
        session.run([shutil.which("python3"), *command_words[1:]], timeout=120)
        assert (project / ".venv/bin/python").exists()
    elif proof in {"pip install", "ruff"}:
        session.run(list(command_words))
    elif proof == "pytest":
        prove_pytest(session, command_words)
    elif proof == "mypy":
        # With a cache the docs' bakes share: a cold mypy spends 20-30 s of CPU reading Django's stubs.
        with mypy_cache("docs-commands") as cache:
            session.env["MYPY_CACHE_DIR"] = str(cache)
            try:
                session.run(list(command_words))
            finally:
                del session.env["MYPY_CACHE_DIR"]
    elif proof == "migrate":
        session.run(list(command_words))
        assert (project / "db.sqlite3").is_file(), "migrate did not create db.sqlite3, which the README names"
    elif proof == "newapp":
        app = command_words[3]
        session.run(list(command_words))
        for path in CREATED_BY_NEWAPP:
            path = path.replace("orders", app)
            assert path_exists(project, path), f"newapp {app} did not create {path} (the README says it does)"
        settings = (project / project_package(project) / "settings.py").read_text()
        assert f'    "{app}",\n' in settings, f'"{app}", is not in PROJECT_APPS after newapp'
        for config in all_configs(project):  # "also adds --reload-dir orders to the uvicorn (reload) configurations"
            if "--reload" in config.args:
                check_uvicorn(config, project)
                assert app in config.args, f"{config.source} does not watch {app} after newapp"
    elif proof == "server":
        port = free_port()
        with VenvServer(on_port(command_words, port), project, session.env) as server:
            if (project / "echo").is_dir():
                assert server.wait_for_echo(port, "from the README") == "from the README"
            else:  # no demo apps: the router closes an unknown socket path with the project's own code
                assert server.wait_for(lambda: close_code(port, "/ws/nowhere/")) == 4404
        session.ran.append((" ".join(command_words), "served"))
    elif proof == "sed .env":
        session.run(list(command_words), timeout=30)
        said = re.search(r"\|\^?(\w+)=\.\*\|(\1=[^|]+)\|", command_words[2])
        assert said, f"what does {command_words[2]!r} set?"
        key, line = said.group(1), said.group(2)
        env_file = (project / ".env").read_text()
        assert f"\n{line}\n" in f"\n{env_file}", f".env after the README's sed has no line {line}"
        assert dotenv_values(project / ".env")[key] == line.partition("=")[2]
        session.use_private_redis()  # the Redis that URL names would be the user's own: here a private one
    else:
        pytest.fail(f"no proof for {' '.join(command_words)!r}: add one to tests/test_docs_commands.py")


def on_port(command_words, port):
    """The server command serving on `port`: its own --port replaced (a second server's), or one added (uvicorn's
    default, 8000)."""
    args = list(command_words)
    if "--port" in args:
        args[args.index("--port") + 1] = str(port)
        return args
    return [*args, "--port", str(port)]


def prove_compose_up(session, command_words):
    """`docker compose -f FILE up`, read instead of run (no Docker here): FILE's Redis is published on loopback
    where every REDIS_URL the README gives points; from then on a private redis-server is that Redis."""
    assert command_words[2] == "-f" and "up" in command_words[4:], command_words
    services = yaml.safe_load((session.project / command_words[3]).read_text())["services"]
    urls = set(re.findall(r"REDIS_URL=(redis://[\w.:/]+)", (session.project / "README.md").read_text()))
    assert urls, "the README gives no REDIS_URL"
    for url in map(urlsplit, urls):
        assert f"{url.hostname}:{url.port}:6379" in services["redis"]["ports"], f"{command_words[3]}: not at {url}"
    session.use_private_redis()


def uv():
    """The uv of this environment (the template's dev group installs it; a user runs `pipx install uv`)."""
    here = Path(sys.executable).with_name("uv")
    found = str(here) if here.exists() else shutil.which("uv")
    assert found, "uv is not installed (the template's dev group installs it)"
    return found


def prove_uv_sync(session):
    """`uv sync` makes .venv from uv.lock, the dev tools included (the README's other way to set up)."""
    env = {key: value for key, value in session.env.items() if key != "VIRTUAL_ENV"}  # not this suite's venv
    started = time.monotonic()
    result = subprocess.run([uv(), "sync"], cwd=session.project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"uv sync failed in {session.project}:\n{result.stdout}\n{result.stderr}"
    assert (session.project / ".venv/bin/python").exists() and (session.project / ".venv/bin/ruff").exists()
    session.ran.append(("uv sync", round(time.monotonic() - started, 1)))


def collected(session, command_words):
    """The test ids `command_words` (a pytest command) selects, collected once per session."""
    key = tuple(command_words)
    if key not in session.collections:
        output = session.run([*command_words, "--collect-only", "-q", "-p", "no:cacheprovider"]).stdout
        session.collections[key] = {line for line in output.splitlines() if "::" in line}
    return session.collections[key]


def prove_pytest(session, command_words):
    """The whole suite (`pytest`): it must collect every test, and run for real the part that proves this venv
    runs the suite's machinery: the in-memory layer's own tests and the browser tests (pytest-django,
    pytest-asyncio, a live uvicorn, Playwright and chromium); tests/test_ci_workflow.py runs the same bake's code's
    whole suite. After that, a marker selection (`-m "not browser"`) must collect exactly the suite minus the
    tests the marker selects (browser: none else). And `pytest --redis`: it must collect the whole suite, and the
    Redis layer's own tests (test_layers_redis.py) must pass here, which proves the private redis-server starts
    and the layer works in this venv; the whole suite on Redis runs in tests/test_ci_workflow.py (`--redis`)."""
    options = command_words[3:]
    if not options:
        assert collected(session, command_words), f"{command_words} collects no test"
        session.run([*command_words, "-m", "memory_layer or browser"])
        session.suite_proven = True
        return
    if session.suite_proven and options == ("--redis",):
        assert collected(session, command_words) == collected(session, command_words[:3]), command_words
        result = session.run([*command_words, "-k", "test_layers_redis"])
        assert re.search(r"\d+ passed", result.stdout) and "skipped" not in result.stdout, result.stdout
        return
    if session.suite_proven and len(options) == 2 and options[0] == "-m":
        everything = collected(session, command_words[:3])
        selected = collected(session, command_words)
        marker = re.fullmatch(r"not (\w+)", options[1])
        assert marker, f"add how {options[1]!r} selects tests to prove_pytest"
        marked = collected(session, [*command_words[:3], "-m", marker.group(1)])
        assert selected and marked and selected == everything - marked, f"{command_words} selects {len(selected)}"
        session.ran.append((" ".join(command_words), "collected"))
        return
    session.run(list(command_words))


def runner_plan(tmp_path_factory):
    """For each runner: the commands it runs, in order: its bake's, minus those an earlier runner ran, plus
    SETUP; of the set-up commands, those of its own way (SET_UPS) only."""
    plan, done = [], set()
    for runner, set_up in zip(RUNNERS, RUNNER_SET_UP, strict=True):
        project, message = shared_bake(tmp_path_factory, combination_name(runner))
        own, others = SET_UPS[set_up], set().union(*SET_UPS.values()) - SET_UPS[set_up]
        commands = list(bake_commands((project / "README.md").read_text(), message))
        # Its own set-up happens where the first set-up command comes (the message's venv, for a uv runner).
        first = next(index for index, key in enumerate(commands) if kind(key) in own | others)
        set_up = [key for key in commands if kind(key) in own]
        commands = [key for key in commands[:first] + set_up + commands[first:] if kind(key) not in others]
        commands = list(dict.fromkeys(commands))
        runs = [key for key in commands if key not in done or kind(key) in SETUP | own]
        plan.append(runs)
        done |= set(runs)
    return plan


@pytest.mark.other_bake
@pytest.mark.redis
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("index", range(len(RUNNERS)), ids=[combination_name(runner) for runner in RUNNERS])
def test_readme_and_message_commands_run(tmp_path_factory, index):
    commands = runner_plan(tmp_path_factory)[index]
    scratch = tmp_path_factory.mktemp("docs-commands")
    project, message = bake(RUNNERS[index], scratch / "out")
    session = Session(project, scratch)
    unknown = [" ".join(command) for command in commands if kind(command) is None]
    assert not unknown, f"no proof for these commands (add one to tests/test_docs_commands.py): {unknown}"
    try:
        for command_words in commands:
            prove(session, command_words, kind(command_words))
    finally:
        session.close()
        # Seconds per command, for whoever tunes this test's cost.
        timings = "".join(f"{seconds}\t{command}\n" for command, seconds in session.ran)
        (scratch / "timings.txt").write_text(timings)
