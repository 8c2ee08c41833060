"""Each bake's GitHub Actions workflow (.github/workflows/ci.yml) passes: every job's steps run here, in order.

There is no GitHub runner or Docker engine here, so for each (bake, job) the test does what the runner would, as
near as it can:
- the checkout is a `git clone` of the bake committed as baked: exactly the files a checkout has (no .env, no
  database). Each test worker clones a bake once and its jobs share the clone, which `git clean` returns to a
  fresh checkout before each job, all but .venv: a job's `uv sync --locked` runs for real, once to install and
  then as a no-op;
- `uses:` steps are not run (USES_NOT_RUN says why and what is checked instead), nor are the steps that install
  system packages or uv (NOT_RUN: the programs they install must be here already);
- every other `run:` step runs with the shell GitHub would use (SHELLS) in the clone, with the workflow's, the
  job's and the step's env over this machine's environment, as in the job's container (CI=true; no
  PYTHONDONTWRITEBYTECODE: python:3.11-bookworm does not set it); uv is this environment's, and its Python this
  environment's 3.11 (the container's Python);
- a service container has a local stand-in on a free loopback port (SERVICES), and `label:port` in env values
  points there;
- a pytest step's output is checked as every baked suite's is (tests/support/bakes.check_suite_output): passes,
  no failure, only allowed skips, and the browser job's screenshots of every page, which are kept in
  build/screenshots/<bake>/ (the job uploads them as an artifact).

A mypy step shares build/mypy-cache/ci-venv-<package>/ between the bakes of that package name and the workers
(MYPY_CACHE_DIR): a cold mypy takes 20-30 s of CPU, a warm one 4. Bakes whose code is the defaults'
(SAME_CODE_JOBS) run only the jobs that differ. A job's `pytest -n auto` runs in one xdist worker, but for the
defaults' `tests` job (SEVERAL_WORKERS), which proves the suite on several (a test database for each): beside
this suite's own workers a second one costs CPU (15-35 s a run, the most on Redis) and saves no time.
"""

import os
import re
import resource
import shlex
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml

from .support.bakes import (
    GIT_IDENTITY,
    MATRIX,
    POSTGRESQL_BAKE,
    SCREENSHOTS,
    baked_env,
    check_suite_output,
    mypy_cache,
    run_captured,
    run_in,
)
from .support.processes import project_processes, start_redis, stop

WORKFLOW = Path(".github/workflows/ci.yml")
# The suite's option combinations, and a postgresql bake (the one bake whose workflow has a job more).
CI_BAKES = {**MATRIX, "postgresql": POSTGRESQL_BAKE}
JOBS = ["checks", "tests", "tests-redis", "tests-browser"]


def jobs_of(context):
    """The jobs a bake's workflow has."""
    return JOBS + (["tests-postgresql"] if context.get("database") == "postgresql" else [])


# Bakes whose code differs from the defaults' only in names, editor, deploy files and .env (which CI writes anew
# from .env.example anyway): the defaults bake runs their other jobs. Each runs its checks (its names, its files)
# and the job its options are about. The redis-layer bake differs only in .env, which a checkout does not have:
# its tests job would be the defaults' to the letter. The other-name bake's is the defaults' under another name,
# and no trace of the default name is left in it (test_bake.py::test_another_name_leaves_no_trace_of_the_default_one).
# The no-deploy bake's is the defaults' less the deploy files; the tests that name those run there
# (test_bake.py::test_a_bake_without_deploy_files_runs_the_defaults_code).
SAME_CODE_JOBS = {
    "no-deploy": ["checks"],
    "redis-layer": ["checks"],
    "other-name": ["checks"],
    "postgresql": ["checks", "tests-postgresql"],
}

# The one job whose `pytest -n auto` runs on as many workers as this machine has cores (per-worker test databases
# and Redis servers): the others run in one worker.
SEVERAL_WORKERS = {("defaults", "tests")}

# `uses:` steps, not run here, and why.
USES_NOT_RUN = {
    "actions/checkout@v4": "the clone of the bake is the checkout",
    "actions/upload-artifact@v4": "nothing to upload to: its path must be where the job saved the screenshots, "
    "which this test checks and keeps in build/screenshots/<bake>/",
}
# `run:` steps not run here (the first words of each of their lines), why, and what is checked instead.
NOT_RUN = {
    "apt-get": "tests install no system packages: .ci/run installed the same Debian packages, and each package's "
    "program (APT_PROGRAMS) must be here",
    "pip install uv": "this environment has uv (the template's dev group installs it): it is on PATH",
}
APT_PROGRAMS = {
    "redis-server": lambda: shutil.which("redis-server"),
    "chromium": lambda: Path("/usr/bin/chromium").exists(),
    "postgresql": project_processes.postgresql_programs,  # raises MissingProgram when initdb or postgres is missing
}
# The shell of a `run:` step, as GitHub runs it in a Linux container (a script file there, -c here).
SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"],  # `shell: bash`
    None: ["bash", "-e", "-c"],  # no shell: given (bash is in the container)
}


def start_redis_service(directory):
    port = project_processes.free_port()
    process, _ = start_redis(directory, port)
    return process, port


# Stand-ins for service containers, by image name: (the port the container serves on, a starter that returns a
# process and the loopback port it serves on).
SERVICES = {"redis": (6379, start_redis_service)}

# What this test knows how to run in a job and in a `run:` step (`uses:` steps are not run).
JOB_KEYS = {"runs-on", "container", "services", "env", "steps"}
STEP_KEYS = {"name", "run", "env", "shell"}

# A job's pytest step, the longest, takes 1-4 minutes under the template suite's own workers.
STEP_TIMEOUT = 570


def job_param(name, job):
    marks = [pytest.mark.fast] if name == "defaults" and job in ("checks", "tests") else []
    if name != "defaults":
        marks.append(pytest.mark.other_bake)
    if job in ("checks", "tests-redis"):
        marks.append(pytest.mark.redis)  # a redis-server: the checks job's service, or what --redis starts
    return pytest.param(name, job, marks=marks, id=f"{name}-{job}")


@pytest.fixture(scope="session")
def checkouts(cookies_session, tmp_path_factory):
    """checkout(name) → a clone of bake `name` (CI_BAKES), made once per test worker; the jobs of a bake share it."""
    made = {}

    def checkout(name):
        if name not in made:
            result = cookies_session.bake(extra_context=CI_BAKES[name])
            assert result.exit_code == 0, result.exception
            bake = Path(result.project_path)
            env = baked_env(**GIT_IDENTITY)
            run_in(bake, "git", "init", "-q", env=env)
            run_in(bake, "git", "add", "-A", env=env)
            run_in(bake, "git", "commit", "-q", "-m", "baked", env=env)
            clone = tmp_path_factory.mktemp(f"ci-{name}") / bake.name
            run_in(clone.parent, "git", "clone", "-q", bake, clone, env=env)
            made[name] = clone
        return made[name]

    return checkout


def workflow_of(project):
    text = (project / WORKFLOW).read_text()
    # GitHub's ${{ }} would be eaten by cookiecutter's Jinja: the workflow does without.
    assert "{{" not in text and "{%" not in text, f"{WORKFLOW} holds template or GitHub expressions"
    return yaml.safe_load(text)


@pytest.mark.timeout(900)  # a job is a few steps; its pytest step stops at STEP_TIMEOUT
@pytest.mark.parametrize(
    ("name", "job"), [job_param(name, job) for name, context in CI_BAKES.items() for job in jobs_of(context)]
)
def test_ci_job_passes(checkouts, name, job, tmp_path):
    if name in SAME_CODE_JOBS and job not in SAME_CODE_JOBS[name]:
        pytest.skip(f"the {name} bake's code is the defaults': the defaults bake runs its {job} job")
    clone = checkouts(name)
    # A fresh checkout, but for .venv (what `uv sync` installed): no .env, database or output of another job.
    run_in(clone, "git", "clean", "-ffdxq", "-e", "/.venv")
    workflow = workflow_of(clone)
    assert list(workflow["jobs"]) == jobs_of(CI_BAKES[name]), "the jobs this test runs (jobs_of) are not the workflow's"
    extra = {} if (name, job) in SEVERAL_WORKERS else {"PYTEST_XDIST_AUTO_NUM_WORKERS": "1"}
    timings = run_job(clone, workflow, job, CI_BAKES[name], name, tmp_path, extra)
    assert run_in(clone, "git", "status", "--porcelain", "--untracked-files=no").stdout == "", "a step changed files"
    wall, cpu = sum(t[1] for t in timings), sum(t[2] for t in timings)
    print(f"{name} {job}: {wall:.1f} s wall, {cpu:.1f} s CPU")
    for step, step_wall, step_cpu in timings:
        print(f"    {step_wall:6.1f} s wall {step_cpu:6.1f} s CPU  {step}")


def job_env(workflow, job, extra):
    """The environment of a job's steps: this machine's as a container would have it, the workflow's env, the
    job's env; uv from this environment, with this environment's Python 3.11."""
    env = baked_env(CI="true", UV_PYTHON=sys._base_executable, **extra)
    for name in ("VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE", "UV_NO_CACHE"):
        env.pop(name, None)
    env["PATH"] = f"{env['PATH']}{os.pathsep}{Path(sys.executable).parent}"
    return {**env, **stringify(workflow.get("env", {})), **stringify(job.get("env", {}))}


def stringify(values):
    return {key: str(value) for key, value in values.items()}


def shell_of(workflow, job, step):
    shell = step.get("shell") or job.get("defaults", {}).get("run", {}).get("shell")
    shell = shell or workflow.get("defaults", {}).get("run", {}).get("shell")
    assert shell in SHELLS, f"a step runs in shell {shell!r}: add how GitHub runs it to SHELLS"
    return SHELLS[shell]


def not_run(step):
    """The NOT_RUN key of a `run:` step, or None: every line of the step starts with it."""
    lines = [line.strip() for line in step["run"].splitlines() if line.strip()]
    for key in NOT_RUN:
        if all(line == key or line.startswith(key + " ") for line in lines):
            return key
    assert not any(line.startswith(tuple(NOT_RUN)) for line in lines), f"keep {step['run']!r} a step of its own"
    return None


def check_not_run(key, step):
    """What a step not run would have made available is here."""
    if key == "pip install uv":
        assert shutil.which("uv", path=str(Path(sys.executable).parent)), NOT_RUN[key]
        return
    for line in step["run"].splitlines():
        words = shlex.split(line)
        if words[1:2] == ["install"]:
            packages = [word for word in words[2:] if not word.startswith("-")]
            assert packages, line
            for package in packages:
                assert package in APT_PROGRAMS, f"{line}: add how to tell {package} is installed to APT_PROGRAMS"
                assert APT_PROGRAMS[package](), f"{package} is not installed: {NOT_RUN[key]}"


def start_services(job, tmp_path):
    """A stand-in for each of the job's service containers; returns (processes, {"label:port": "127.0.0.1:N"})."""
    processes, addresses = [], {}
    try:
        for label, service in job.get("services", {}).items():
            image = service["image"].split(":")[0]
            assert image in SERVICES, f"service {label}: add a stand-in for {service['image']} to SERVICES"
            container_port, start = SERVICES[image]
            directory = tmp_path / label
            directory.mkdir()
            process, port = start(directory)
            processes.append(process)
            addresses[f"{label}:{container_port}"] = f"127.0.0.1:{port}"
    except BaseException:
        for process in processes:
            stop(process)
        raise
    return processes, addresses


def to_stand_ins(values, addresses):
    for address, stand_in in addresses.items():
        values = {key: value.replace(address, stand_in) for key, value in values.items()}
    return values


def run_job(clone, workflow, name, context, bake_name, tmp_path, extra):
    """Run job `name`'s steps in `clone`; returns [(step, wall seconds, CPU seconds)] of the steps run."""
    job = workflow["jobs"][name]
    unknown = set(job) - JOB_KEYS
    assert not unknown, f"job {name}: add what {unknown} means on GitHub to this test"
    # The same Debian as this machine's: the packages NOT_RUN finds here are the ones the job installs.
    assert job["container"] == "python:3.11-bookworm" and job["runs-on"] == "ubuntu-24.04", name
    timings = []
    services, addresses = start_services(job, tmp_path)
    try:
        env = to_stand_ins(job_env(workflow, job, extra), addresses)
        steps = job["steps"]
        for index, step in enumerate(steps):
            if "uses" in step:
                assert step["uses"] in USES_NOT_RUN, f"{step['uses']}: say why it is not run in USES_NOT_RUN"
                if step["uses"].startswith("actions/upload-artifact"):
                    check_upload(step, steps[:index], clone)
                continue
            assert set(step) <= {"name", "run", "env"}, (
                f"{step}: this test knows no {set(step) - {'name', 'run', 'env'}}"
            )
            key = not_run(step)
            if key:
                check_not_run(key, step)
                continue
            step_env = {**env, **to_stand_ins(stringify(step.get("env", {})), addresses)}
            command = [*shell_of(workflow, job, step), step["run"]]
            timings.append(run_step(command, clone, step_env, step, context, bake_name))
    finally:
        for process in services:
            stop(process)
    return timings


def run_step(command, clone, env, step, context, bake_name):
    """Run one step (a mypy step with the shared cache); check a pytest step's output. Returns its timing."""
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if re.search(r"\bmypy\b", step["run"]):
        # One cache per package name: django-stubs' plugin invalidates every module when the settings module differs.
        with mypy_cache(f"ci-venv-{clone.name}") as cache:
            result = run_captured(command, clone, {**env, "MYPY_CACHE_DIR": str(cache)}, STEP_TIMEOUT)
    else:
        result = run_captured(command, clone, env, STEP_TIMEOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    label = step.get("name") or step["run"]
    assert result.returncode == 0, f"step {label!r} failed in {clone}:\n{result.stdout}\n{result.stderr}"
    if re.search(r"\bpytest\b", step["run"]):
        words = shlex.split(step["run"])
        screenshots = clone / words[words.index("--screenshots") + 1] if "--screenshots" in words else None
        if re.search(r"collected \d+ items / \d+ deselected / 0 selected", result.stdout):
            # A step that allows pytest's "no test selected" (exit status 5) may select none only in a bake
            # without the demo apps: the one browser test that needs Redis is theirs.
            assert "[ $? -eq 5 ]" in step["run"] and not context.get("include_demo_apps", True), result.stdout
        else:
            check_suite_output(result.stdout, context, screenshots=screenshots)
        if "--postgresql" in words:
            assert "run pytest --postgresql" not in result.stdout, result.stdout  # none skipped for want of it
        if screenshots is not None:  # kept for people to look at, as CI keeps the artifact
            kept = SCREENSHOTS / bake_name
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(screenshots, kept)
        label = f"{label}: {result.stdout.splitlines()[-1]}"
    return label, time.monotonic() - started, cpu


def check_upload(step, earlier, clone):
    """upload-artifact uploads the folder an earlier pytest step saved the screenshots in, which must exist."""
    path = step["with"]["path"]
    saved = [
        words[words.index("--screenshots") + 1]
        for words in (shlex.split(other.get("run", "")) for other in earlier)
        if "--screenshots" in words
    ]
    assert saved == [path], f"the artifact uploads {path}; the screenshots go to {saved}"
    assert (clone / path).is_dir()
