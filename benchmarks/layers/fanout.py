"""2. fan-out across the servers of a layer: benchmarks/speed's paced fan-out, one listener process per server."""

from benchmarks.speed.clients import CLIENT_PROCESSES
from benchmarks.speed.fanout import measure_fanout, say_fanout

from .servers import SERVERS_PER_LAYER

assert CLIENT_PROCESSES == SERVERS_PER_LAYER, "one listener process per server"


def fanout_run(setup, listeners, sent):
    marks = setup.log_marks()
    urls = setup.urls(f"/ws/chat/fanout-{listeners}/")
    result = measure_fanout(urls[0], listeners, sent, listener_urls=urls)
    result.update(setup.problems_since(marks))
    say_fanout(f"{setup.name:<7} N={listeners:<5}", result)
    return result
