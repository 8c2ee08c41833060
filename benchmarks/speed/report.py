"""The table: each figure of the bake next to its reference, the ratio, the target and the verdict."""

import json
from pathlib import Path

from benchmarks import devloop


def write_figures(figures, path):
    """Write `figures` as JSON to `path` (its folder made if needed); return the Path."""
    output = Path(path)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2, default=str))
    return output


def say(text):
    print(text, flush=True)


def row(figure, baked, reference, target):
    text, meets = target
    ratio = baked / reference if baked is not None and reference else None
    verdict = "-" if meets is None else ("met" if baked is not None and meets(baked, ratio or 0) else "MISSED")
    return {
        "figure": figure,
        "baked": baked,
        "reference": reference,
        "ratio": ratio,
        "target": text,
        "verdict": verdict,
    }


def ratio_at_least(x):
    return f">= {x}x", lambda baked, ratio: ratio >= x


def ratio_at_most(x):
    return f"<= {x}x", lambda baked, ratio: ratio <= x


def value_at_most(x, unit):
    return f"<= {x} {unit}", lambda baked, ratio: baked <= x


INFO = ("info", None)


def table_rows(figures):
    echo, fanout, held, bake = figures["echo"], figures["fanout"], figures["held"], figures["bake"]
    bare, prod = echo["bare ASGI"], echo["prod /ws/echo/"]
    rows = []
    for name in ("project /ws/echo/", "project /ws/echo-json/"):
        rows.append(
            row(f"echo msgs/s {name} vs bare", echo[name]["msgs_per_s"], bare["msgs_per_s"], ratio_at_least(0.8))
        )
        rows.append(row(f"echo p99 ms {name} vs bare", echo[name]["p99_ms"], bare["p99_ms"], ratio_at_most(2)))
    for name, tutorial in [("project /ws/echo/", "tutorial echo"), ("project /ws/echo-json/", "tutorial json echo")]:
        rows.append(
            row(f"echo msgs/s {name} vs {tutorial}", echo[name]["msgs_per_s"], echo[tutorial]["msgs_per_s"], INFO)
        )
    rows.append(row("echo msgs/s prod /ws/echo/ vs bare", prod["msgs_per_s"], bare["msgs_per_s"], INFO))
    rows.append(row("echo p99 ms prod /ws/echo/ vs bare", prod["p99_ms"], bare["p99_ms"], INFO))
    for key, project in fanout.items():
        if key.startswith("project "):
            tutorial, label = fanout[key.replace("project", "tutorial", 1)], key.removeprefix("project ")
            rows.append(
                row(
                    f"fan-out deliveries/s {label} vs tutorial",
                    project["deliveries_per_s"],
                    tutorial["deliveries_per_s"],
                    ratio_at_least(2),
                )
            )
            rows.append(row(f"fan-out p99 ms {label} vs tutorial", project["p99_ms"], tutorial["p99_ms"], INFO))
            rows.append(
                row(
                    f"fan-out lost {label} (ref: tutorial lost)",
                    project["lost"],
                    tutorial["lost"],
                    value_at_most(0, "lost"),
                )
            )
    rows.append(
        row(
            f"held KB/connection at {held['project']['opened']} vs bare",
            held["project"]["kb_per_connection"],
            held["bare ASGI"]["kb_per_connection"],
            value_at_most(15, "KB"),
        )
    )
    rows.append(
        row(
            "bake time s vs one-file template",
            bake["template"]["median_s"],
            bake["one-file"]["median_s"],
            ratio_at_most(1.5),
        )
    )
    for name, target in devloop.TARGETS.items() if "devloop" in figures else ():
        project, bare_app = figures["devloop"]["project"][name], figures["devloop"]["bare"][name]
        rows.append(row(f"dev loop {name} s vs bare", project, bare_app, value_at_most(target, "s")))
    return rows


def print_table(rows):
    width = max(len(r["figure"]) for r in rows) + 2
    say("")
    say(f"{'figure':<{width}}{'baked':>10}{'reference':>11}{'ratio':>8}  {'target':<11}verdict")
    for r in rows:
        say(
            f"{r['figure']:<{width}}{number(r['baked']):>10}{number(r['reference']):>11}"
            f"{number(r['ratio'], 2, 'x'):>8}  {r['target']:<11}{r['verdict']}"
        )


def number(value, decimals=None, suffix=""):
    if value is None:
        return "-"
    if decimals is None:
        decimals = 0 if abs(value) >= 100 or float(value).is_integer() else 2
    return f"{value:.{decimals}f}{suffix}"
