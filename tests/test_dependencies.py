"""The shared test environment must hold what a baked project declares, and its pyproject must install."""

import importlib.util
import os
import sys
from pathlib import Path

import django

from .support.bakes import run_in


def test_the_environment_holds_compiled_bytecode():
    # Under PYTHONDONTWRITEBYTECODE (set on this project's machines) nothing writes it later: without it, each of
    # the suite's many processes would compile Django anew (0.7 s of CPU a process). `make venv` compiles at install.
    module = Path(django.__file__)
    cached = Path(importlib.util.cache_from_source(str(module)))
    assert cached.is_file(), f"{module} has no bytecode: install with `uv pip install --compile-bytecode`"
    assert os.path.getmtime(cached) >= os.path.getmtime(module)


def test_baked_pyproject_installs_with_dev_extra(cookies):
    project = cookies.bake().project_path
    # Resolves the baked project's dependencies against this environment only (no index, no download):
    # a dependency the template suite does not have, or a broken pyproject, fails here.
    run_in(
        project,
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--no-index",
        "--no-build-isolation",
        "--quiet",
        "-e",
        ".[dev]",
    )
