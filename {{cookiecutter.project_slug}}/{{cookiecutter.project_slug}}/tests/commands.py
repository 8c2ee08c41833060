"""manage.py in a process of its own, for the tests of what a command prints or does."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str] | None = None, **variables: str) -> "subprocess.CompletedProcess[str]":
    """`python manage.py ARGS` in the project's folder, its output captured as text, stopped after 60 s. Its
    environment: `env` (by default this process's, without pytest's PYTEST_ variables) with `variables` over it."""
    if env is None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
