"""server.py: the one writer of the IDE configurations' --reload-dir lists."""

import json

from {{ cookiecutter.project_slug }}.server import sync_reload_dirs, uvicorn_args, with_reload_dirs

PYCHARM = """<component name="ProjectRunConfigurationManager">
  <configuration default="false" name="serve" type="PythonConfigurationType" factoryName="Python">
    <option name="SCRIPT_NAME" value="uvicorn" />
    <option name="PARAMETERS" value="p.asgi:application --reload --reload-dir p --reload-dir chat \
--reload-include &quot;*.html&quot; --port 8000" />
    <method v="2" />
  </configuration>
</component>
"""


def test_with_reload_dirs_replaces_every_pair_after_reload():
    args = ["p.asgi:app", "--reload", "--reload-dir", "p", "--port", "1", "--reload-dir", "chat"]
    assert with_reload_dirs(args, ["p", "orders"]) == [
        "p.asgi:app",
        "--reload",
        "--reload-dir",
        "p",
        "--reload-dir",
        "orders",
        "--port",
        "1",
    ]


def test_with_reload_dirs_leaves_a_command_without_reload_alone():
    args = ["p.asgi:app", "--port", "1"]
    assert with_reload_dirs(args, ["p", "orders"]) == args


def test_sync_reload_dirs_rewrites_both_editors_and_nothing_else(tmp_path):
    (tmp_path / ".run").mkdir()
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".run" / "serve.run.xml").write_text(PYCHARM)
    (tmp_path / ".run" / "pytest.run.xml").write_text("<component><option name='x' value='y'/></component>\n")
    args = ["p.asgi:application", "--reload", "--reload-dir", "p", "--reload-dir", "chat", "--port", "1"]
    launch = {"version": "0.2.0", "configurations": [{"name": "serve", "args": args}, {"name": "other"}]}
    (tmp_path / ".vscode" / "launch.json").write_text(json.dumps(launch, indent=2) + "\n")

    changed = sync_reload_dirs(tmp_path, ["p", "orders"])

    assert sorted(path.name for path in changed) == ["launch.json", "serve.run.xml"]
    # Only the list changes; the XML keeps its layout, so a diff shows one line.
    assert (tmp_path / ".run" / "serve.run.xml").read_text() == PYCHARM.replace(
        "--reload-dir chat", "--reload-dir orders"
    )
    written = json.loads((tmp_path / ".vscode" / "launch.json").read_text())
    assert written["configurations"][0]["args"][2:6] == ["--reload-dir", "p", "--reload-dir", "orders"]
    assert written["configurations"][1] == {"name": "other"}
    assert sync_reload_dirs(tmp_path, ["p", "orders"]) == []  # nothing left to change


def test_sync_reload_dirs_without_editor_folders_does_nothing(tmp_path):
    assert sync_reload_dirs(tmp_path, ["p"]) == []
    assert list(tmp_path.iterdir()) == []


def test_uvicorn_args_spell_out_the_options():
    assert uvicorn_args() == ["--ws-max-size", "1048576", "--ws-per-message-deflate", "false"]
