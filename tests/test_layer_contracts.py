"""Our patched channel layers keep the libraries' own contracts, proven by the libraries' own tests.

channels-redis's tests (from the sdist of the installed release, see support/upstream.py) run twice, at once,
each on a private redis-server (and, for its Sentinel tests, a private redis-sentinel watching it): on the
stock RedisChannelLayer and on our SingleReaderRedisChannelLayer (a default bake's layers/redis.py). Every test
that passes on the stock class must pass on ours; a deliberate difference is skipped for our class by name in
that module's CONTRACT_DIFFERENCES, and explained in its docstring.

Channels ships no tests in its sdist: the in-memory layer's contract tests are the baked
<slug>/tests/test_layers_contract.py, which every bake's own suite runs on Channels' class and on ours.
"""

import ast
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support import upstream
from .support.processes import start_redis, stop
from .support.sentinel import start_sentinel

pytestmark = pytest.mark.redis


def module_facts(path):
    """(docstring, CONTRACT_DIFFERENCES) of a baked module, read without importing it."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        # `CONTRACT_DIFFERENCES = {...}`, or with a type annotation (ast.AnnAssign)
        targets = getattr(node, "targets", [getattr(node, "target", None)])
        if isinstance(node, ast.Assign | ast.AnnAssign) and [getattr(t, "id", None) for t in targets] == [
            "CONTRACT_DIFFERENCES"
        ]:
            return ast.get_docstring(tree), ast.literal_eval(node.value)
    raise AssertionError(f"{path} has no CONTRACT_DIFFERENCES")


def defined_tests(path):
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, functions) and node.name.startswith("test_")}


def name_of(node_id):
    """`tests/test_core.py::test_x[param]` -> test_x."""
    return node_id.split("::")[-1].split("[")[0]


def with_outcome(outcomes, *wanted):
    return {node_id for node_id, result in outcomes.items() if result["outcome"] in wanted}


@dataclass
class Outcomes:
    tests: dict  # node id -> {"outcome", "reason"}
    log: Path

    def failure(self, message):
        return f"{message}\n{self.log.read_text()[-5000:]}"


@pytest.fixture(scope="module")
def package(cookies_session):
    """The package folder of a default bake: its layers/ and tests/."""
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    return next(project.glob("*/layers")).parent


@pytest.fixture(scope="module")
def upstream_runs(package, tmp_path_factory):
    """channels-redis's own tests on the stock class and on ours: {"stock": Outcomes, "ours": Outcomes}.

    Run once per session: test workers (xdist) share the result through the session's temporary folder."""
    base = tmp_path_factory.getbasetemp()
    work = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "upstream-channels-redis"
    work.mkdir(exist_ok=True)
    layer_classes = {"stock": upstream.STOCK, "ours": f"{package.name}.layers.redis.SingleReaderRedisChannelLayer"}
    with open(work / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (work / "done").exists():
            run_upstream(package, work, layer_classes)
            (work / "done").touch()
    return {
        name: Outcomes(json.loads((work / f"{name}.json").read_text()), work / f"{name}.log") for name in layer_classes
    }


def run_upstream(package, work, layer_classes):
    """Both runs at once, each on its own redis-server and a redis-sentinel watching it (their tests flush
    Redis)."""
    sdist = upstream.sdist_tests()
    servers = []
    try:
        runs = []
        for name, layer_class in layer_classes.items():
            for kind in ("redis", "sentinel"):
                (work / f"{kind}-{name}").mkdir(exist_ok=True)
            process, url = start_redis(work / f"redis-{name}")
            servers.append(process)
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            sentinel, sentinel_port = start_sentinel(
                work / f"sentinel-{name}",
                port,
                name=upstream.SENTINEL_MASTER,
                quorum=1,
                password=upstream.SENTINEL_PASSWORD,
            )
            servers.append(sentinel)
            runs.append(upstream.start_run(name, sdist, layer_class, url, sentinel_port, [package.parent], work, {}))
        for run in runs:
            upstream.outcomes(run)
    finally:
        for process in servers:
            stop(process)


def test_channels_redis_own_tests_all_pass_on_the_stock_class(upstream_runs):
    # Anything else means this harness is wrong (a host not pointed at our redis-server, a missing test
    # dependency), not channels-redis: then the comparison below would prove nothing.
    stock = upstream_runs["stock"].tests
    broken = with_outcome(stock, "failed", "error")
    assert not broken, upstream_runs["stock"].failure(sorted(broken))
    for module in upstream.MODULES:
        assert any(node_id.startswith(f"tests/{module}::") for node_id in with_outcome(stock, "passed")), module


def test_every_channels_redis_test_passing_on_the_stock_class_passes_on_ours(upstream_runs, package):
    stock, ours = upstream_runs["stock"].tests, upstream_runs["ours"].tests
    _, differences = module_facts(package / "layers" / "redis.py")
    lost = {}
    for node_id in with_outcome(stock, "passed"):
        result = ours.get(node_id, {"outcome": "not run", "reason": ""})
        if name_of(node_id) in differences:
            expected = f"skipped: {differences[name_of(node_id)]}"
            if f"{result['outcome']}: {result['reason']}" != expected:
                lost[node_id] = f"{result['outcome']} (listed as a deliberate difference, so expected {expected})"
        elif result["outcome"] != "passed":
            lost[node_id] = result["outcome"]
    assert not lost, upstream_runs["ours"].failure(lost)


def test_channels_redis_sentinel_tests_ran_on_a_real_sentinel(upstream_runs):
    # settings.py gives the layer Sentinel hosts (REDIS_SENTINELS): channels-redis's own Sentinel tests must have
    # run, against the private redis-sentinel, on both classes (the test above compares their outcomes).
    for name in ["stock", "ours"]:
        sentinel = {
            node_id: result
            for node_id, result in upstream_runs[name].tests.items()
            if node_id.split("::")[0] in {f"tests/{module}" for module in upstream.SENTINEL_MODULES}
        }
        assert sentinel, f"the {name} run collected no Sentinel tests"
        # All run: none failed or skipped (channels-redis marks a few xfail; those may pass).
        assert with_outcome(sentinel, "passed", "xfailed", "xpassed") == set(sentinel), upstream_runs[name].failure(
            sentinel
        )


def test_each_deliberate_difference_names_a_real_test_and_is_explained_in_its_module(upstream_runs, package):
    upstream_tests = {name_of(node_id) for node_id in upstream_runs["stock"].tests}
    contract_tests = defined_tests(package / "tests" / "test_layers_contract.py")
    for module, known in [("redis.py", upstream_tests | contract_tests), ("memory.py", contract_tests)]:
        docstring, differences = module_facts(package / "layers" / module)
        assert set(differences) <= known, f"layers/{module} lists tests that do not exist"
        unexplained = [name for name in differences if name not in docstring]
        assert not unexplained, f"layers/{module}: explain {unexplained} in its docstring"
        if not differences:
            assert "CONTRACT_DIFFERENCES below (and only there): none." in " ".join(docstring.split()), module
