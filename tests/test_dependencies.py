"""The shared test environment must hold what a baked project declares, and its pyproject must install."""

import sys

from .support.bakes import run_in


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
