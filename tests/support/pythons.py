"""The interpreters a baked project supports beside this environment's (Python 3.11, Django 5.2 LTS): one virtual
environment each under build/venvs/, installed from a bake's own uv.lock, made once and shared by every test
worker and session until the lock, the pyproject or the interpreter changes.

CPython 3.12.1 and 3.13.0 come from pyenv on every machine of this project (developers' and CI's).
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .bakes import PROJECT_TEMPLATE, TEMPLATE_DIR
from .lock import bake_defaults, uv

VENVS = TEMPLATE_DIR / "build" / "venvs"


@dataclass(frozen=True)
class Python:
    version: str  # the pyenv version
    django: str  # the Django minor this environment runs
    django_spec: tuple[str, ...] = ()  # installed over the lock's Django (and its stubs) for another minor

    @property
    def name(self):
        return "py" + ".".join(self.version.split(".")[:2])


# uv.lock resolves Django 5.2 for Python 3.11 and the newest Django (6.1) for 3.12+; 3.12 runs 6.0 instead, so
# that both Django 6 minors are proven.
PYTHONS = {
    python.name: python
    for python in [
        Python("3.13.0", django="6.1"),
        Python("3.12.1", django="6.0", django_spec=("django>=6.0,<6.1", "django-stubs>=6.0,<6.1")),
    ]
}


def interpreter(version):
    """The pyenv interpreter of `version` (`$(pyenv prefix 3.13.0)/bin/python3.13`)."""
    try:
        prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True, text=True, check=True).stdout
        prefix = Path(prefix.strip())
    except (OSError, subprocess.CalledProcessError):
        prefix = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions" / version
    path = prefix / "bin" / ("python" + ".".join(version.split(".")[:2]))
    if not path.exists():
        raise RuntimeError(f"Python {version} is missing: `pyenv install {version}` (every machine has it)")
    return path


# `uv sync` as a user runs it, plus bytecode compiled at install: uv leaves that to the first import, and with
# PYTHONDONTWRITEBYTECODE (set on this project's machines) every process would compile Django anew (3 s of CPU).
SYNC = ["sync", "--frozen", "--no-install-project", "--compile-bytecode"]


def fingerprint(python):
    digest = hashlib.sha256(f"{python} {SYNC}".encode())
    for name in ["uv.lock", "pyproject.toml"]:
        digest.update((PROJECT_TEMPLATE / name).read_bytes())
    return digest.hexdigest()


def environment(name):
    """The python executable of PYTHONS[name]'s environment, made first if missing or out of date. A file lock
    lets one xdist worker make it while the others wait."""
    python = PYTHONS[name]
    venv = VENVS / name
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = venv / ".made-from"
        if not (stamp.exists() and stamp.read_text() == fingerprint(python)):
            make(python, venv)
            stamp.write_text(fingerprint(python))
    return venv / "bin" / "python"


def make(python, venv):
    shutil.rmtree(venv, ignore_errors=True)
    executable = interpreter(python.version)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "VIRTUAL_ENV": str(venv)}
    env.pop("UV_NO_CACHE", None)
    with tempfile.TemporaryDirectory() as tmp:
        project = bake_defaults(tmp)
        # Exactly the lock's versions with the dev group, as `uv sync` installs them for a user; the project
        # itself is not installed: each bake's suite runs from its own folder.
        run([uv(), *SYNC, "--python", str(executable)], project, env)
    if python.django_spec:
        install = [uv(), "pip", "install", "--compile-bytecode", "--python", str(venv / "bin" / "python")]
        run([*install, *python.django_spec], TEMPLATE_DIR, env)
    version = run([str(venv / "bin" / "python"), "-c", "import django; print(django.get_version())"], venv, env)
    assert version.stdout.startswith(python.django + "."), f"{venv} has Django {version.stdout}"


def run(command, cwd, env):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result
