"""4. bake time: median of B bakes (`python -m cookiecutter --no-input`) of the template and of a one-file one."""

import json
import statistics
import subprocess
import sys
import time

from tests.support.bakes import TEMPLATE_DIR

from .report import say


def one_file_template(folder):
    folder.mkdir()
    (folder / "cookiecutter.json").write_text(json.dumps({"name": "demo"}))
    (folder / "{{cookiecutter.name}}").mkdir()
    (folder / "{{cookiecutter.name}}" / "README.md").write_text("# {{ cookiecutter.name }}\n")
    return folder


def time_bake(template, output):
    started = time.monotonic()
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(output), str(template)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return time.monotonic() - started


def bake_benchmark(tmp, bakes):
    templates = {"template": TEMPLATE_DIR, "one-file": one_file_template(tmp / "one_file_template")}
    times = {name: [] for name in templates}
    for run in range(bakes):
        for name, template in templates.items():
            times[name].append(time_bake(template, tmp / f"bake-{name}-{run}"))
    for name, values in times.items():
        say(f"  bake {name:<9} " + " ".join(f"{v:.3f}" for v in values) + " s")
    return {name: {"median_s": statistics.median(values), "runs": values} for name, values in times.items()}
