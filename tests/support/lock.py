"""The baked project's uv.lock: `make lock` (`python -m tests.support.lock`) resolves it in a fresh bake of the
defaults and writes it back into the template with the project's name turned back into Jinja.

The dependencies do not vary by option, so one lock fits every bake; only the project's own name differs. In a
lock it is the normalised package name (PEP 503: `channels_project` is `channels-project`), rendered by LOCK_NAME.
`make lock` keeps every pin that still fits pyproject.toml; `make lock UV_LOCK_ARGS=--upgrade` moves each
dependency to its newest release.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .bakes import PROJECT_TEMPLATE, TEMPLATE_DIR

LOCK_TEMPLATE = PROJECT_TEMPLATE / "uv.lock"
DEFAULT_SLUG = "channels_project"
# A slug is [a-z][a-z0-9_]*: its normalised name joins the parts between underscores with single hyphens.
LOCK_NAME_LINE = '{%- set lock_name = cookiecutter.project_slug.split("_") | reject("equalto", "") | join("-") -%}\n'


def uv():
    """The uv of this environment (the template's dev group installs it), else one on PATH."""
    here = Path(sys.executable).with_name("uv")
    return str(here) if here.exists() else shutil.which("uv") or "uv"


def lock_name(slug):
    return "-".join(part for part in slug.split("_") if part)


def templated(lock_text, slug=DEFAULT_SLUG):
    """A bake's uv.lock as the template's: its project name replaced by the Jinja that renders each bake's."""
    quoted = f'"{lock_name(slug)}"'
    assert lock_text.count(quoted) >= 1, f"{quoted} is not in the lock"
    assert "{{" not in lock_text and "{%" not in lock_text
    return LOCK_NAME_LINE + lock_text.replace(quoted, '"{{ lock_name }}"')


def bake_defaults(output_dir):
    """A bake of the defaults into `output_dir`, its replay file kept there too (not in ~/.cookiecutter_replay)."""
    from cookiecutter.main import cookiecutter

    config = Path(output_dir) / "cookiecutter-config.yaml"
    config.write_text(f"replay_dir: {Path(output_dir) / 'replay'}\ncookiecutters_dir: {Path(output_dir) / 'cc'}\n")
    return Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(output_dir), config_file=str(config)))


def refresh(extra_args=()):
    with tempfile.TemporaryDirectory() as tmp:
        project = bake_defaults(tmp)
        subprocess.run([uv(), "lock", *extra_args], cwd=project, check=True)
        LOCK_TEMPLATE.write_text(templated((project / "uv.lock").read_text()))
    print(f"wrote {LOCK_TEMPLATE.relative_to(TEMPLATE_DIR)}")


if __name__ == "__main__":
    refresh(shlex.split(os.environ.get("UV_LOCK_ARGS", "")))
