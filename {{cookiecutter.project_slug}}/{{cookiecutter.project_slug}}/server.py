"""How this project's servers run uvicorn: the WebSocket options every server command uses, and the folders
`--reload` watches.

Written once here: `deploy/gunicorn.conf.py` and the test servers import it. The IDE run configurations
(`.run/*.run.xml`, `.vscode/launch.json`) and README.md cannot import anything, so they spell the options
out and the template's test suite checks each copy against this module; their `--reload-dir` lists are
rewritten by `sync_reload_dirs()` (called by `manage.py newapp`), never edited by hand.

No Django import: the bake's post-generation hook loads this file on its own.
"""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

# A frame over 1 MiB closes its socket with code 1009 (uvicorn's default is 16 MiB; daphne's is 1 MiB).
WS_MAX_SIZE = 1024 * 1024
# No permessage-deflate: a small compressed frame of repeated bytes inflates a thousandfold in the server.
WS_PER_MESSAGE_DEFLATE = False

# As uvicorn.Config keyword arguments (gunicorn's uvicorn worker takes these).
UVICORN_OPTIONS = {"ws_max_size": WS_MAX_SIZE, "ws_per_message_deflate": WS_PER_MESSAGE_DEFLATE}

# The IDE configurations that run `uvicorn --reload`, relative to the project folder.
PYCHARM_CONFIGS = ".run"
VSCODE_LAUNCH = ".vscode/launch.json"


def uvicorn_args() -> list[str]:
    """UVICORN_OPTIONS as `python -m uvicorn` command-line arguments."""
    return ["--ws-max-size", str(WS_MAX_SIZE), "--ws-per-message-deflate", str(WS_PER_MESSAGE_DEFLATE).lower()]


def with_reload_dirs(args: list[str], folders: list[str]) -> list[str]:
    """`args` of a uvicorn command with its `--reload-dir` pairs replaced by one per folder, right after
    `--reload`. Arguments of a command without `--reload` come back unchanged."""
    if "--reload" not in args:
        return list(args)
    kept: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
        elif arg == "--reload-dir":
            skip_next = True
        else:
            kept.append(arg)
    at = kept.index("--reload") + 1
    return [*kept[:at], *(token for folder in folders for token in ("--reload-dir", folder)), *kept[at:]]


def sync_reload_dirs(project_dir: Path, folders: list[str]) -> list[Path]:
    """Make every `uvicorn --reload` IDE configuration of the project in `project_dir` watch exactly
    `folders` (the project package and each app of PROJECT_APPS). Returns the files it changed.

    uvicorn watches only the folders it is given (it would skip a missing one silently, and watching the
    project folder would include .venv), so these lists must follow PROJECT_APPS.
    """
    changed = []
    for path in sorted((project_dir / PYCHARM_CONFIGS).glob("*.run.xml")):
        tree = ET.parse(path)
        for option in tree.getroot().iter("option"):
            if option.get("name") != "PARAMETERS":
                continue
            # PyCharm splits PARAMETERS on spaces and honours double quotes only; no value here has a space.
            args = option.get("value", "").split()
            new = with_reload_dirs(args, folders)
            if new != args:
                option.set("value", " ".join(new))
                tree.write(path, encoding="unicode")
                path.write_text(path.read_text() + "\n")
                changed.append(path)
    launch = project_dir / VSCODE_LAUNCH
    if launch.exists():
        data = json.loads(launch.read_text())
        before = json.dumps(data)
        for configuration in data["configurations"]:
            if "args" in configuration:
                configuration["args"] = with_reload_dirs(configuration["args"], folders)
        if json.dumps(data) != before:
            launch.write_text(json.dumps(data, indent=2) + "\n")
            changed.append(launch)
    return changed
