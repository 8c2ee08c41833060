"""What a user may type or do at bake time: awkward project names, an existing folder, --replay."""

import filecmp
import subprocess
import sys

import pytest

from .support.bakes import TEMPLATE_DIR, baked_env, run_in
from .support.compiled_templates import CACHE


def bake(output_dir, *args, home=None):
    env = baked_env(**({"HOME": str(home)} if home else {}))
    command = [sys.executable, "-m", "cookiecutter", "--output-dir", str(output_dir), *args]
    return subprocess.run(command, cwd=output_dir, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("My Chat App", "my_chat_app"),
        ("real-time-ops", "real_time_ops"),
        ("Café Live", "cafe_live"),
        ("日本語チャット", "ri_ben_yu_tiyatuto"),
        ("  Ünïcödé  Ops! ", "unicode_ops"),
        ("!!!", "channels_project"),  # nothing to derive a slug from: the default one
    ],
)
def test_a_project_name_gives_a_working_slug(tmp_path, name, slug):
    result = bake(tmp_path, "--no-input", str(TEMPLATE_DIR), f"project_name={name}")
    assert result.returncode == 0, result.stderr
    project = tmp_path / slug
    assert (project / slug / "settings.py").is_file()
    assert name.strip() in (project / "README.md").read_text()
    run_in(project, "python", "manage.py", "check")


# Names whose plain slug the hook would refuse ("2fast Chat", "Django", "Test") bake with a working default
# slug: tests/test_project_names.py.


def test_an_existing_project_folder_is_refused_unless_asked_to_overwrite(tmp_path):
    assert bake(tmp_path, "--no-input", str(TEMPLATE_DIR)).returncode == 0
    project = tmp_path / "channels_project"
    env_file = (project / ".env").read_text()
    (project / "notes.txt").write_text("my own file\n")

    again = bake(tmp_path, "--no-input", str(TEMPLATE_DIR))
    assert again.returncode == 1 and "already exists" in again.stderr + again.stdout, again
    assert (project / "notes.txt").read_text() == "my own file\n"

    overwritten = bake(tmp_path, "--no-input", "--overwrite-if-exists", str(TEMPLATE_DIR))
    assert overwritten.returncode == 0, overwritten.stderr
    # The user's own files and the project's secret survive an overwrite.
    assert (project / "notes.txt").read_text() == "my own file\n"
    assert (project / ".env").read_text() == env_file


def test_replay_reproduces_a_bake(tmp_path):
    home, first, second = tmp_path / "home", tmp_path / "first", tmp_path / "second"
    for folder in (home, first, second):
        folder.mkdir()
    answers = ["project_name=Replay Me", "channel_layer=redis", "editor=both", "include_deploy=false"]
    assert bake(first, "--no-input", str(TEMPLATE_DIR), *answers, home=home).returncode == 0
    replayed = bake(second, "--replay", str(TEMPLATE_DIR), home=home)
    assert replayed.returncode == 0, replayed.stderr
    a, b = first / "replay_me", second / "replay_me"
    differing = compare_trees(a, b)
    assert differing == [".env"], differing  # only the fresh secret differs
    assert (b / ".env").read_text().count("REDIS_URL=redis://") == 1


def compare_trees(a, b, relative=""):
    """Paths (relative to a) whose content or presence differs between folders a and b."""
    comparison = filecmp.dircmp(a, b)
    differing = [f"{relative}{name}" for name in comparison.left_only + comparison.right_only + comparison.diff_files]
    for name in comparison.common_dirs:
        differing += compare_trees(a / name, b / name, f"{relative}{name}/")
    return sorted(differing)


@pytest.mark.fast
def test_bakes_reuse_compiled_templates(cookies):
    """The suite's bakes share compiled templates (tests/support/compiled_templates.py): a second bake in this
    process loads every template file it renders from the cache instead of compiling it."""
    assert cookies.bake().exit_code == 0
    hits = CACHE.hits
    second = cookies.bake(extra_context={"project_name": "Second Bake"})
    assert second.exit_code == 0, second.exception
    rendered = sum(1 for path in second.project_path.rglob("*") if path.is_file())
    assert CACHE.hits - hits >= rendered * 0.9, (CACHE.hits - hits, rendered)
