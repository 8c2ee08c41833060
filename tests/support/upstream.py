"""channels-redis's own tests, from the sdist of the installed release on PyPI, run against a channel layer class.

- `sdist_tests()`: `pip download --no-deps --no-binary :all: channels-redis==<installed>` into CACHE (build/,
  ignored by git, kept between runs: downloaded once per release), and its tests/ and setup.cfg extracted
  beside it. Nothing of it is copied into the repository.
- `start_run(...)`: its test modules in a pytest subprocess with upstream_plugin.py, which makes them construct
  the class given and sends them to a private redis-server (and its Sentinel tests to a private redis-sentinel
  watching it); `outcomes(run)` waits and reads the result.
"""

import fcntl
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .bakes import TEMPLATE_DIR, baked_env

DISTRIBUTION = "channels-redis"
CACHE = TEMPLATE_DIR / "build" / "upstream"
STOCK = "channels_redis.core.RedisChannelLayer"
# The modules about RedisChannelLayer, its serializers and its hashing (test_pubsub*.py test the other layer,
# RedisPubSubChannelLayer, which the project neither uses nor patches).
MODULES = ["test_core.py", "test_serializers.py", "test_utils.py"]
# RedisChannelLayer on Sentinel hosts: they need a redis-sentinel (start_run's `sentinel_port`) that watches the
# run's redis-server as SENTINEL_MASTER, with SENTINEL_PASSWORD, as channels-redis's own CI sets one up.
SENTINEL_MODULES = ["test_sentinel.py"]
SENTINEL_MASTER = "sentinel"
SENTINEL_PASSWORD = "channels_redis"
TIMEOUT = 300  # seconds for one whole run


def installed_version():
    return importlib.metadata.version(DISTRIBUTION)


def sdist_tests(cache=CACHE):
    """The folder of the installed release's sdist holding its tests/ and setup.cfg (its pytest settings)."""
    version = installed_version()
    folder = cache / f"{DISTRIBUTION}-{version}"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:  # test workers share the cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "tests" / MODULES[0]).exists():
            extract(download(version, cache), folder)
    return folder


def download(version, cache):
    existing = sorted(cache.glob(f"channels_redis-{version}.tar.gz"))
    if existing:
        return existing[0]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
    command += ["--disable-pip-version-check", "--dest", str(cache), f"{DISTRIBUTION}=={version}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    archives = sorted(cache.glob(f"channels_redis-{version}.tar.gz"))
    assert result.returncode == 0 and archives, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return archives[0]


def extract(archive, folder):
    """tests/ and setup.cfg of the sdist into `folder`, replacing it whole (so a half extraction never stays)."""
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch, tarfile.open(archive) as sdist:
        wanted = re.compile(r"^[^/]+/(tests/[^/]+\.py|setup\.cfg)$")
        members = [member for member in sdist.getmembers() if member.isfile() and wanted.match(member.name)]
        sdist.extractall(scratch, members=members, filter="data")
        [root] = Path(scratch).iterdir()
        assert (root / "tests" / MODULES[0]).exists(), f"{archive.name} ships no tests/{MODULES[0]}"
        if folder.exists():
            shutil.rmtree(folder)
        root.rename(folder)


@dataclass
class Run:
    name: str
    process: subprocess.Popen
    log: Path
    outcomes_file: Path


def start_run(name, sdist, layer_class, redis_url, sentinel_port, python_path, work_dir, skips):
    """pytest on MODULES and SENTINEL_MODULES of `sdist` in a subprocess, constructing `layer_class` (dotted)
    on `redis_url` (Sentinel hosts: the sentinel on `sentinel_port` that watches it); `python_path`: folders
    holding that class's package; `skips`: test or module name -> reason."""
    outcomes_file, log = work_dir / f"{name}.json", work_dir / f"{name}.log"
    command = [sys.executable, "-m", "pytest", "-p", "tests.support.upstream_plugin", "-p", "no:cacheprovider"]
    command += ["-o", "asyncio_default_fixture_loop_scope=function", "-rA", "--color=no"]
    command += ["--layer-class", layer_class, "--redis-url", redis_url, "--sentinel-port", str(sentinel_port)]
    command += ["--outcomes", str(outcomes_file)]
    command += ["--skip", json.dumps(skips), *(f"tests/{module}" for module in MODULES + SENTINEL_MODULES)]
    env = baked_env(PYTHONPATH=":".join(str(path) for path in [TEMPLATE_DIR, *python_path]))
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=sdist, env=env, stdout=output, stderr=subprocess.STDOUT)
    return Run(name, process, log, outcomes_file)


def outcomes(run):
    """Wait for a run; its outcomes, node id -> {"outcome": passed/failed/error/skipped/xfailed/xpassed, "reason"}."""
    try:
        run.process.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.wait()
        raise AssertionError(f"the {run.name} run took over {TIMEOUT} s:\n{run.log.read_text()[-5000:]}") from None
    assert run.outcomes_file.exists(), f"the {run.name} run wrote no outcomes:\n{run.log.read_text()[-5000:]}"
    return json.loads(run.outcomes_file.read_text())
