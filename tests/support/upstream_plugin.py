"""The pytest plugin that runs channels-redis's own tests (from its sdist) against a layer class of our choice.

Loaded with `-p tests.support.upstream_plugin` in a pytest run inside the extracted sdist (see upstream.py),
where it:
- makes every test module construct `--layer-class` wherever it says `RedisChannelLayer`;
- points the modules' hardcoded hosts (`redis://localhost:6379/N`) and channels-redis's default host (a layer
  built without `hosts`) at `--redis-url`, a private redis-server: never the machine's port 6379; and their
  hardcoded sentinel (`("localhost", 26379)` in a Sentinel host) at `--sentinel-port`, a private redis-sentinel;
- skips, by name and with their reason, the tests that `--layer-class`'s module lists in CONTRACT_DIFFERENCES
  (deliberate differences of our class) and those named in `--skip` (JSON: test or module name -> reason);
- writes each test's outcome to `--outcomes` (JSON: node id -> {"outcome", "reason"}).

Plain pytest with no Django: the layer classes do not need settings.
"""

import importlib
import json
import re

import pytest

STOCK = "channels_redis.core.RedisChannelLayer"
HARDCODED_HOST = re.compile(r"^redis://localhost:6379(?=/|$)")
HARDCODED_SENTINEL = ("localhost", 26379)


def pytest_addoption(parser):
    group = parser.getgroup("upstream", "channels-redis's own tests against another layer class")
    group.addoption("--layer-class", default=STOCK, help="dotted path of the class the tests construct")
    group.addoption("--redis-url", required=True, help="redis://HOST:PORT of the redis-server to test against")
    group.addoption("--sentinel-port", type=int, required=True, help="port of the redis-sentinel watching it")
    group.addoption("--skip", default="{}", help="JSON: test or module name -> why it is skipped")
    group.addoption("--outcomes", required=True, help="file the outcome of each test is written to (JSON)")


def load(dotted):
    module_name, _, name = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    return module, getattr(module, name)


def server_address(redis_url):
    """redis://HOST:PORT, without a database number."""
    return re.match(r"^redis://[^/]+", redis_url).group()


def point_at(value, address, sentinel):
    """A module constant with each hardcoded `redis://localhost:6379` host replaced by `address`, and each
    hardcoded sentinel by `sentinel` ((host, port)), inside lists and Sentinel host dicts too."""
    if isinstance(value, str):
        return HARDCODED_HOST.sub(address, value)
    if value == HARDCODED_SENTINEL:
        return sentinel
    if isinstance(value, list):
        return [point_at(item, address, sentinel) for item in value]
    if isinstance(value, dict):
        return {key: point_at(item, address, sentinel) for key, item in value.items()}
    return value


class UpstreamRun:
    def __init__(self, config):
        self.address = server_address(config.getoption("--redis-url"))
        self.sentinel = ("127.0.0.1", config.getoption("--sentinel-port"))
        self.module, self.layer_class = load(config.getoption("--layer-class"))
        self.skips = {**json.loads(config.getoption("--skip")), **getattr(self.module, "CONTRACT_DIFFERENCES", {})}
        self.outcomes_path = config.getoption("--outcomes")
        self.outcomes = {}
        self.patched = set()
        # A layer built without `hosts` goes to redis://localhost:6379: send it to our server instead.
        core = importlib.import_module("channels_redis.core")
        decode_hosts = core.decode_hosts
        core.decode_hosts = lambda hosts: decode_hosts(hosts or [self.address])

    def patch(self, module):
        if module in self.patched:
            return
        self.patched.add(module)
        if hasattr(module, "RedisChannelLayer"):
            module.RedisChannelLayer = self.layer_class
        for name, value in list(vars(module).items()):
            if name.isupper():
                setattr(module, name, point_at(value, self.address, self.sentinel))
                if ":6379" in repr(getattr(module, name)) or "26379" in repr(getattr(module, name)):
                    raise pytest.UsageError(f"{module.__name__}.{name} still names a default port: teach point_at it")

    def skip_reason(self, item):
        for name in (item.path.name, item.originalname, item.name):
            if name in self.skips:
                return self.skips[name]
        return None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        for item in items:
            reason = self.skip_reason(item)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))
            else:
                self.patch(item.module)

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            outcome = report.outcome
            if hasattr(report, "wasxfail"):
                outcome = "xfailed" if report.skipped else "xpassed"
            elif report.failed and report.when != "call":
                outcome = "error"
            reason = report.longrepr[2] if report.skipped and isinstance(report.longrepr, tuple) else ""
            if report.nodeid not in self.outcomes or outcome != "passed":
                self.outcomes[report.nodeid] = {"outcome": outcome, "reason": reason.removeprefix("Skipped: ")}

    def pytest_sessionfinish(self):
        with open(self.outcomes_path, "w") as output:
            json.dump(self.outcomes, output, indent=1, sort_keys=True)


def pytest_configure(config):
    config.pluginmanager.register(UpstreamRun(config), "upstream-run")
