"""The table: each figure of the bake next to its reference, the ratio, the target and the verdict.

Every figure is measured in several interleaved runs: the table prints median [min-max] of the bake's value, of
the reference's, and of their ratio run by run (the bake's and the reference's runs of one repeat are paired).
A verdict is given only when the spread allows it: "met" when every run meets the target, "MISSED" when none
does, "spread too wide" when the runs fall on both sides, "too few runs" under MIN_RUNS.
"""

import json
import statistics
from pathlib import Path

from benchmarks import devloop

from . import cpu

MIN_RUNS = 3  # runs a verdict needs: with fewer, a spread says nothing


def write_figures(figures, path):
    """Write `figures` as JSON to `path` (its folder made if needed); return the Path."""
    output = Path(path)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2, default=str))
    return output


def say(text):
    print(text, flush=True)


def stats(values):
    """{"median", "min", "max", "n"} of the values that are not None, or None if there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def spread_text(summary, decimals=None, suffix=""):
    """The text "median [min-max]" of a stats() summary ("-" for None; the median alone for one run)."""
    if summary is None:
        return "-"
    if decimals is None:  # the median's, for all three
        decimals = auto_decimals(summary["median"])
    if summary["n"] == 1:
        return number(summary["median"], decimals, suffix)
    low, mid, high = (number(summary[k], decimals, suffix) for k in ("min", "median", "max"))
    return f"{mid} [{low}-{high}]"


def spread(results, key, decimals=None):
    """spread_text of results[i][key] over the runs."""
    return spread_text(stats(r[key] for r in results), decimals)


class Target:
    """A target: its text, whether one value passes (value, ratio -> bool), on the ratio or the bake's value."""

    def __init__(self, text, passes, on_ratio, every_run=False):
        self.text, self.passes, self.on_ratio, self.every_run = text, passes, on_ratio, every_run

    def verdict(self, baked, ratios):
        values = [r for r in ratios if r is not None] if self.on_ratio else [b for b in baked if b is not None]
        if not values:
            return "no value"
        passed = [self.passes(v) for v in values]
        if self.every_run:  # a correctness figure: one failing run is a miss, whatever the count
            return "met" if all(passed) else "MISSED"
        if len(values) < MIN_RUNS:
            return "too few runs"
        return "met" if all(passed) else "MISSED" if not any(passed) else "spread too wide"


def ratio_at_most(x):
    return Target(f"<= {x}x", lambda ratio: ratio <= x, on_ratio=True)


def value_at_most(x, unit, every_run=False):
    return Target(f"<= {x} {unit}", lambda value: value <= x, on_ratio=False, every_run=every_run)


INFO = None


def row(figure, baked, reference, target=INFO):
    """A table row; `baked` and `reference`: one value per run, the i-th of each from the same repeat."""
    ratios = [b / r if b is not None and r else None for b, r in zip(baked, reference, strict=False)]
    return {
        "figure": figure,
        "baked": stats(baked),
        "reference": stats(reference),
        "ratio": stats(ratios),
        "target": target.text if target else "info",
        "verdict": target.verdict(baked, ratios) if target else "-",
        "runs": {"baked": list(baked), "reference": list(reference)},
    }


def runs_of(entry, key):
    return [run[key] for run in entry["runs"]]


ECHO_TARGETS = {"project /ws/echo/": ratio_at_most(1.25), "project /ws/echo-json/": ratio_at_most(1.4)}
ECHO_TUTORIAL = {"project /ws/echo/": "tutorial echo", "project /ws/echo-json/": "tutorial json echo"}
TARGET_LISTENERS = 1000  # the fan-out size the p99 and GC targets are set at


def table_rows(figures):
    rows = []
    echo = figures["echo"]
    bare = echo["bare ASGI"]
    for name in ("project /ws/echo/", "project /ws/echo-json/", "prod /ws/echo/"):
        rows.append(
            row(
                f"echo server CPU µs/msg {name} vs bare",
                runs_of(echo[name], "server_cpu_us"),
                runs_of(bare, "server_cpu_us"),
                ECHO_TARGETS.get(name),
            )
        )
    for name, tutorial in ECHO_TUTORIAL.items():
        rows.append(
            row(
                f"echo server CPU µs/msg {name} vs {tutorial}",
                runs_of(echo[name], "server_cpu_us"),
                runs_of(echo[tutorial], "server_cpu_us"),
            )
        )
    for name in ("project /ws/echo/", "project /ws/echo-json/", "prod /ws/echo/"):
        rows.append(row(f"echo msgs/s {name} vs bare", runs_of(echo[name], "msgs_per_s"), runs_of(bare, "msgs_per_s")))
        rows.append(row(f"echo p99 ms {name} vs bare", runs_of(echo[name], "p99_ms"), runs_of(bare, "p99_ms")))
    for name, entry in echo.items():
        rows.append(
            row(
                f"echo client CPU µs/msg {name} (ref: its server's)",
                runs_of(entry, "client_cpu_us"),
                runs_of(entry, "server_cpu_us"),
            )
        )
    rows += fanout_rows(figures["fanout"])
    held = figures["held"]
    rows.append(
        row(
            f"held KB/connection at {held['project']['opened']} vs bare (1 run)",
            [held["project"]["kb_per_connection"]],
            [held["bare ASGI"]["kb_per_connection"]],
            Target("<= 1.25x", lambda ratio: ratio <= 1.25, on_ratio=True, every_run=True),
        )
    )
    bake = figures["bake"]
    rows.append(
        row("bake time s vs one-file template", bake["template"]["runs"], bake["one-file"]["runs"], ratio_at_most(1.5))
    )
    for name, target in devloop.TARGETS.items() if "devloop" in figures else ():
        project, bare_app = figures["devloop"]["project"][name], figures["devloop"]["bare"][name]
        rows.append(
            row(f"dev loop {name} s vs bare (medians)", [project], [bare_app], value_at_most(target, "s", True))
        )
    return rows


def fanout_rows(fanout):
    rows = []
    for key, project in fanout.items():
        if not key.startswith("project "):
            continue
        tutorial, label = fanout[key.replace("project", "tutorial", 1)], key.removeprefix("project ")
        at_target_size = int(label.rsplit("=", 1)[1]) >= TARGET_LISTENERS

        def pair(figure, field, target=INFO, project=project, tutorial=tutorial, label=label):
            figure = f"fan-out {figure} {label} vs tutorial"
            rows.append(row(figure, runs_of(project, field), runs_of(tutorial, field), target))

        pair("server CPU µs/delivery", "server_cpu_us", ratio_at_most(0.4))
        if any(run["redis_cpu_us"] is not None for run in project["runs"]):
            pair("redis-server CPU µs/delivery", "redis_cpu_us")
        pair("deliveries/s", "deliveries_per_s")
        pair("p99 ms", "p99_ms", ratio_at_most(0.3) if at_target_size else INFO)
        pair("longest full GC ms", "longest_gc_ms", value_at_most(10, "ms") if at_target_size else INFO)
        pair("longest full GC CPU ms", "longest_gc_cpu_ms")
        pair("full GCs per run", "full_gcs")
        pair("lost", "lost", value_at_most(0, "lost", every_run=True))
    return rows


def run_line(result, rate_key, rate, unit):
    """One run's figures on one line: rate (result[rate_key], named `rate`), latency, CPU per `unit` of server and
    client, how busy each was, the server's full collections."""
    return (
        f"{result[rate_key]:7.0f} {rate}  p50 {number(result['p50_ms'], 2):>6} ms  p99 {number(result['p99_ms'], 2):>6}"
        f" ms  server {number(result['server_cpu_us'], 1):>6} µs/{unit} ({percent(result['server_busy'])} of a core,"
        f" {result['server_ticks']} ticks)  client {number(result['client_cpu_us'], 1):>6} µs/{unit}"
        f" ({percent(result['client_busy'])} of a core each)  full GCs {result['full_gcs']}"
        + (
            f" (longest {number(result['longest_gc_ms'], 1)} ms, {number(result['longest_gc_cpu_ms'], 1)} ms CPU)"
            if result["full_gcs"]
            else ""
        )
    )


def spread_line(results, rate_key, rate, unit):
    """Median [min-max] over the runs of the rate (results[i][rate_key], named `rate`), p99, server and client
    CPU per `unit`."""
    return (
        f"median [min-max] of {len(results)}: {spread(results, rate_key, 0)} {rate}, p99 {spread(results, 'p99_ms', 2)}"
        f" ms, server {spread(results, 'server_cpu_us', 1)} µs/{unit}, client {spread(results, 'client_cpu_us', 1)}"
        f" µs/{unit}"
    )


def percent(fraction):
    return "-" if fraction is None else f"{100 * fraction:.0f}%"


def print_table(rows):
    width = max(len(r["figure"]) for r in rows) + 2
    cells = [(spread_text(r["baked"]), spread_text(r["reference"]), spread_text(r["ratio"], 2, "x")) for r in rows]
    labels = ("baked", "reference", "ratio")
    widths = [max(len(label), *(len(c[i]) for c in cells)) + 2 for i, label in enumerate(labels)]
    say("")
    say("median [min-max] over the runs; ratio: the bake's value over the reference's, run by run; CPU figures")
    say(f"count in clock ticks of {1000 * cpu.TICK:.0f} ms (each run's line above gives its server's count)")
    say(
        f"{'figure':<{width}}{'baked':>{widths[0]}}{'reference':>{widths[1]}}{'ratio':>{widths[2]}}  {'target':<11}"
        "verdict"
    )
    for r, (baked, reference, ratio) in zip(rows, cells, strict=True):
        say(
            f"{r['figure']:<{width}}{baked:>{widths[0]}}{reference:>{widths[1]}}{ratio:>{widths[2]}}"
            f"  {r['target']:<11}{r['verdict']}"
        )


def number(value, decimals=None, suffix=""):
    if value is None:
        return "-"
    if decimals is None:
        decimals = auto_decimals(value)
    return f"{value:.{decimals}f}{suffix}"


def auto_decimals(value):
    """Three significant digits or so: none from 100 up (or for a whole number), one from 10, else two."""
    return 0 if abs(value) >= 100 or float(value).is_integer() else 2 if abs(value) < 10 else 1
