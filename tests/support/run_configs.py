"""Read a baked project's IDE run configurations and turn each into the command line it stands for.

PyCharm (`.run/*.run.xml`) and VS Code (`.vscode/launch.json`) are both reduced to a RunConfig: the arguments
after the interpreter, the working directory and the environment, after the IDE's own macro expansion
(`$PROJECT_DIR$`, `${workspaceFolder}`). Anything PyCharm or VS Code would silently ignore or get wrong
(a misspelled option, an absolute path, a folder or module that does not exist) raises ConfigProblem.
"""

import importlib.util
import json
import os
import re
import shlex
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

# The option names PyCharm itself writes when it saves a shared configuration to .run/ (as in the template's own
# .run/*.run.xml); PyCharm ignores unknown ones, so a typo would go unnoticed.
COMMON_OPTIONS = {
    "PARENT_ENVS",
    "SDK_HOME",
    "WORKING_DIRECTORY",
    "IS_MODULE_SDK",
    "ADD_CONTENT_ROOTS",
    "ADD_SOURCE_ROOTS",
    "ENV_FILES",
}
PYTHON_OPTIONS = COMMON_OPTIONS | {
    "SCRIPT_NAME",
    "PARAMETERS",
    "MODULE_MODE",
    "EMULATE_TERMINAL",
    "SHOW_COMMAND_LINE",
}
PYTEST_OPTIONS = COMMON_OPTIONS | {
    "_new_keywords",
    "_new_parameters",
    "_new_additionalArguments",
    "_new_target",
    "_new_targetType",
}
CONFIGURATION_TYPES = {("PythonConfigurationType", "Python"): PYTHON_OPTIONS, ("tests", "py.test"): PYTEST_OPTIONS}
BOOLEAN = {"true": True, "false": False}
ABSOLUTE_PATH = re.compile(r"""(^|[\s"'=])(/|~|[A-Za-z]:[\\/])""")
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
TEMPLATE_PACKAGE = (
    Path(__file__).resolve().parents[2] / "{{cookiecutter.project_slug}}" / "{{cookiecutter.project_slug}}"
)


def server_module(package_dir=TEMPLATE_PACKAGE):
    """A project's server.py (the one source of its uvicorn options), loaded by path; no Jinja in that file."""
    spec = importlib.util.spec_from_file_location(f"server_of_{package_dir.name}", package_dir / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The largest WebSocket frame every server command of a bake accepts (server.py, deploy/gunicorn.conf.py).
WS_MAX_SIZE = server_module().WS_MAX_SIZE


class ConfigProblem(AssertionError):
    pass


@dataclass
class RunConfig:
    source: str  # where it was read from, for messages
    name: str
    args: list[str]  # what follows the interpreter: ["-m", "uvicorn", ...] or ["/path/manage.py", ...]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    emulate_terminal: bool = False

    @property
    def module(self):
        return self.args[1] if self.args[0] == "-m" else None

    @property
    def program_args(self):
        """The arguments after the module or script."""
        return self.args[2:] if self.args[0] == "-m" else self.args[1:]


def problem(condition, source, message):
    if not condition:
        raise ConfigProblem(f"{source}: {message}")


def expand(value, macros, source):
    for macro, replacement in macros.items():
        value = value.replace(macro, replacement)
    leftover = re.search(r"\$\w+\$|\$\{[^}]*\}", value)
    problem(leftover is None, source, f"unknown macro {leftover and leftover.group()} in {value!r}")
    return value


def pycharm_configs(project, module=None):
    """`module`: the PyCharm module the configurations must name; a bake's is its package (the folder name)."""
    module = module or project_package(project)
    return [read_pycharm(path, project, module) for path in sorted((project / ".run").glob("*.run.xml"))]


def read_pycharm(path, project, module):
    source = f".run/{path.name}"
    root = ET.parse(path).getroot()
    problem(root.tag == "component" and root.get("name") == "ProjectRunConfigurationManager", source, "bad root")
    configs = root.findall("configuration")
    problem(len(configs) == 1 and len(root) == 1, source, "expected exactly one <configuration>")
    config = configs[0]
    kind = (config.get("type"), config.get("factoryName"))
    problem(kind in CONFIGURATION_TYPES, source, f"unknown configuration type {kind}")
    problem(config.get("name"), source, "configuration has no name")
    children = {child.tag for child in config}
    problem(children <= {"module", "option", "envs", "method"}, source, f"unknown elements {children}")
    problem(config.find("method") is not None and config.find("method").get("v") == "2", source, 'no <method v="2"/>')

    options = {option.get("name"): option.get("value") for option in config.findall("option")}
    unknown = set(options) - CONFIGURATION_TYPES[kind]
    problem(not unknown, source, f"options PyCharm does not know (ignored silently): {sorted(unknown)}")
    for name, value in options.items():
        problem(not ABSOLUTE_PATH.search(value), source, f"{name} holds an absolute path: {value!r}")
    modules = [element.get("name") for element in config.findall("module")]
    problem(modules == [module], source, f"<module name> should be {module!r}, not {modules}")
    problem(options.get("SDK_HOME") == "" and options.get("IS_MODULE_SDK") == "true", source, "not the project SDK")
    cwd = options.get("WORKING_DIRECTORY", "")
    problem(cwd.startswith("$PROJECT_DIR$"), source, "WORKING_DIRECTORY is not in $PROJECT_DIR$")
    problem(options.get("PARENT_ENVS") == "true", source, "PARENT_ENVS is not true")
    # The settings read .env on every (re)start; PyCharm's .env field would freeze it at launch.
    problem(not options.get("ENV_FILES"), source, "ENV_FILES is set: settings.py reads .env itself")
    booleans = ["PARENT_ENVS", "IS_MODULE_SDK", "ADD_CONTENT_ROOTS", "ADD_SOURCE_ROOTS", "MODULE_MODE"]
    for name in [*booleans, "EMULATE_TERMINAL", "SHOW_COMMAND_LINE"]:
        problem(options.get(name, "false") in BOOLEAN, source, f"{name} is not true/false")

    env = {env.get("name"): env.get("value") for env in config.iter("env")}
    problem(env.get("PYTHONUNBUFFERED") == "1", source, "PYTHONUNBUFFERED=1 is not set")
    macros = {"$PROJECT_DIR$": str(project)}
    cwd = Path(expand(options["WORKING_DIRECTORY"], macros, source))

    if kind[0] == "tests":
        values = {name: json.loads(options.get(name, '""')) for name in PYTEST_OPTIONS if name.startswith("_new_")}
        problem(values["_new_targetType"] == "PATH", source, "only PATH pytest targets are supported")
        problem(not values["_new_parameters"], source, "_new_parameters only applies to one parametrized test")
        target = expand(values["_new_target"], macros, source)
        problem(Path(target).exists(), source, f"the pytest target {target} does not exist")
        args = ["-m", "pytest", target]
        args += [expand(arg, macros, source) for arg in shlex.split(values["_new_additionalArguments"])]
        if values["_new_keywords"]:
            args += ["-k", values["_new_keywords"]]
        return RunConfig(source, config.get("name"), args, cwd, env)

    script = options.get("SCRIPT_NAME", "")
    parameters = [expand(arg, macros, source) for arg in shlex.split(options.get("PARAMETERS", ""))]
    if options.get("MODULE_MODE") == "true":
        problem(MODULE_NAME.match(script), source, f"SCRIPT_NAME {script!r} is not a module name")
        args = ["-m", script, *parameters]
    else:
        script = expand(script, macros, source)
        problem(Path(script).is_file(), source, f"SCRIPT_NAME {script} does not exist")
        args = [script, *parameters]
    terminal = options.get("EMULATE_TERMINAL") == "true"
    return RunConfig(source, config.get("name"), args, cwd, env, emulate_terminal=terminal)


def vscode_configs(project):
    path = project / ".vscode" / "launch.json"
    launch = json.loads(path.read_text())
    problem(launch.get("version") == "0.2.0", "launch.json", "version is not 0.2.0")
    names = [config.get("name") for config in launch["configurations"]]
    problem(len(set(names)) == len(names), "launch.json", f"duplicate names {names}")
    return [read_vscode(config, project) for config in launch["configurations"]]


def read_vscode(config, project):
    source = f"launch.json {config.get('name')!r}"
    problem(config.get("type") == "debugpy" and config.get("request") == "launch", source, "not a debugpy launch")
    debug_test = "debug-test" in config.get("purpose", [])
    if debug_test:  # the Testing panel supplies its own program; a module or program would clash with it
        problem("module" not in config and "program" not in config, source, "debug-test with a module/program")
    else:
        problem(("module" in config) != ("program" in config), source, "needs exactly one of module/program")
    problem(config.get("django") is True, source, '"django": true is missing')
    macros = {"${workspaceFolder}": str(project)}
    for value in [config.get("cwd", ""), config.get("envFile", ""), *config.get("args", [])]:
        problem(not ABSOLUTE_PATH.search(value), source, f"absolute path {value!r}")
    problem(config.get("cwd") == "${workspaceFolder}", source, "cwd is not ${workspaceFolder}")
    env = dict(config.get("env", {}))
    problem(env.get("PYTHONUNBUFFERED") == "1", source, "PYTHONUNBUFFERED=1 is not set")
    # VS Code defaults envFile to .env, which would freeze .env's values at launch (they win over .env).
    env_file = Path(expand(config.get("envFile", ""), macros, source))
    problem(config.get("envFile") and env_file.is_file(), source, f"envFile {env_file} does not exist")
    problem(env_file != project / ".env", source, "envFile is .env: its edits would not reach a reloaded server")
    env = {**{k: v or "" for k, v in dotenv_values(env_file).items()}, **env}
    args = [expand(arg, macros, source) for arg in config.get("args", [])]
    if debug_test:
        # What the Testing panel runs (under the debugger): pytest with the workspace's pytestArgs.
        settings = json.loads((project / ".vscode" / "settings.json").read_text())
        problem(settings.get("python.testing.pytestEnabled") is True, source, "pytest is not enabled in settings.json")
        args = ["-m", "pytest", *settings.get("python.testing.pytestArgs", [])]
    elif "module" in config:
        problem(MODULE_NAME.match(config["module"]), source, f"module {config['module']!r} is not a module name")
        args = ["-m", config["module"], *args]
    else:
        program = expand(config["program"], macros, source)
        problem(Path(program).is_file(), source, f"program {program} does not exist")
        args = [program, *args]
    return RunConfig(source, config["name"], args, Path(expand(config["cwd"], macros, source)), env)


def all_configs(project):
    configs = []
    if (project / ".run").is_dir():
        configs += pycharm_configs(project)
    if (project / ".vscode").is_dir():
        configs += vscode_configs(project)
    return configs


def option_values(args, option):
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == option]


def check_uvicorn(config, project):
    """What uvicorn would accept yet do wrong: a watched folder that does not exist is dropped silently."""
    args, source = config.program_args, config.source
    app = args[0] if args else ""
    module, _, attribute = app.partition(":")
    problem(MODULE_NAME.match(module) and attribute, source, f"{app!r} is not an import string (pkg.asgi:app)")
    module_file = project / (module.replace(".", "/") + ".py")
    problem(module_file.is_file(), source, f"the app module {module} does not exist ({module_file})")
    problem(f"\n{attribute} = " in module_file.read_text(), source, f"{module} defines no {attribute}")
    problem("--env-file" not in args, source, "--env-file loads .env once: settings.py reads it on each reload")
    problem(len(option_values(args, "--port")) == 1, source, "needs exactly one --port")
    # Each option of the project's server.py, with its value: the IDE formats cannot import it, so they copy it.
    expected = server_module(project / project_package(project)).uvicorn_args()
    for option, value in zip(expected[::2], expected[1::2], strict=True):
        problem(option_values(args, option) == [value], source, f"needs {option} {value} (from server.py)")
    problem("--workers" not in args or "--reload" not in args, source, "--reload and --workers exclude each other")
    if "--reload" not in args:
        return
    watched = [(config.cwd / value).resolve() for value in option_values(args, "--reload-dir")]
    # Without --reload-dir uvicorn watches the working directory, and it does not skip .venv or node_modules.
    problem(watched, source, "--reload without --reload-dir watches the whole project, .venv included")
    for folder in watched:
        problem(folder.is_dir(), source, f"--reload-dir {folder} does not exist (uvicorn would skip it silently)")
        problem(folder != project.resolve(), source, "--reload-dir is the project root: .venv would be watched too")
    missing = sorted({project_package(project), *project_apps(project)} - {folder.name for folder in watched})
    problem(not missing, source, f"the project's source folders {missing} are not watched by --reload-dir")
    # server.sync_reload_dirs writes exactly these, in this order: a list edited by hand would drift.
    expected_dirs = [project_package(project), *project_apps(project)]
    named = option_values(args, "--reload-dir")
    problem(
        named == expected_dirs, source, f"--reload-dir lists {named}, not the package and PROJECT_APPS {expected_dirs}"
    )


def project_package(project):
    return next(project.glob("*/settings.py")).parent.name


def project_apps(project):
    """The apps listed one per line in settings.PROJECT_APPS."""
    settings = (project / project_package(project) / "settings.py").read_text()
    listing = settings[settings.index("PROJECT_APPS = [") : settings.index("]", settings.index("PROJECT_APPS = ["))]
    return re.findall(r'^    "(\w+)",$', listing, flags=re.MULTILINE)


def check_manage_command(config, project, run):
    """The Django command exists in this bake (asked from manage.py itself)."""
    script, args = config.args[0], config.program_args
    problem(Path(script) == project / "manage.py", config.source, f"runs {script}, not the project's manage.py")
    problem(args, config.source, "no manage.py command")
    run(["manage.py", "help", args[0]])


def check_env(config, project):
    settings_module = config.env.get("DJANGO_SETTINGS_MODULE")
    if settings_module is not None:
        path = project / (settings_module.replace(".", "/") + ".py")
        problem(path.is_file(), config.source, f"DJANGO_SETTINGS_MODULE {settings_module} does not exist")
    env_keys = set(dotenv_values(project / ".env.example"))
    frozen = env_keys & set(config.env)
    problem(not frozen, config.source, f"sets {sorted(frozen)}, which would override .env and survive its edits")


def run(project, name):
    """Replace this process with a bake's IDE configuration `name`, as the IDE would start it (`make demo`)."""
    config = next((config for config in all_configs(project) if config.name == name), None)
    if config is None:
        raise SystemExit(f"{project} has no run configuration named {name!r}")
    os.chdir(config.cwd)
    os.execve(sys.executable, [sys.executable, *config.args], {**os.environ, **config.env})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m tests.support.run_configs PROJECT_DIR 'CONFIGURATION NAME'")
    run(Path(sys.argv[1]), sys.argv[2])
