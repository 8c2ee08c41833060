"""A client that sends far faster than it reads, against the real server command: memory stays bounded.

The server reads a socket only while its consumer keeps up, and writes only while the client reads, so a
flood stops in the kernel's socket buffers. Per-message compression would break that: a browser offers it,
a frame of 32 KiB of repeated bytes then costs ~40 bytes on the wire, and uvicorn queues every frame of one
read before pausing, so one client could make the server hold gigabytes. The project's server commands turn
it off (--ws-per-message-deflate false); daphne never offered it.
"""

import asyncio
import time

import pytest
from websockets.asyncio.client import connect

FRAME = "x" * 32 * 1024
FRAMES = 3000  # 94 MiB, all of it held by the server if nothing pushed back
MOST_FRAMES_ACCEPTED = 750  # 23 MiB: the loopback socket buffers of both ends hold about 8 MiB
MOST_MEMORY_GROWTH = 32 * 1024 * 1024


def resident_bytes(pid):
    status = open(f"/proc/{pid}/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) * 1024


async def send_until_stalled(socket, frames, stall=1.0, limit=15.0):
    """Send frames without ever reading; return how many went out before sending blocked for `stall` s."""
    sent = 0

    async def flood():
        nonlocal sent
        for _ in range(frames):
            await socket.send(FRAME)
            sent += 1

    task = asyncio.create_task(flood())
    deadline, last, last_change = time.monotonic() + limit, -1, time.monotonic()
    while not task.done() and time.monotonic() < deadline and time.monotonic() - last_change < stall:
        await asyncio.sleep(0.1)
        if sent != last:
            last, last_change = sent, time.monotonic()
    task.cancel()
    return sent


@pytest.mark.parametrize("path", ["/ws/echo/", "/ws/echo-sync/"])
async def test_a_client_that_never_reads_cannot_make_the_server_hold_its_flood(uvicorn_server, path):
    url, origin = uvicorn_server.url.replace("http", "ws", 1) + path, uvicorn_server.url
    async with connect(url, origin=origin) as warm_up:  # the first socket loads code: not the flood's memory
        await warm_up.send("hello")
        await warm_up.recv()
    before = resident_bytes(uvicorn_server.pid)

    flooder = await connect(url, origin=origin, compression="deflate", max_queue=1, close_timeout=1)
    try:
        sent = await send_until_stalled(flooder, FRAMES)
        grown = resident_bytes(uvicorn_server.pid) - before
        async with connect(url, origin=origin) as other:  # the server still serves everyone else
            await other.send("still here")
            assert await asyncio.wait_for(other.recv(), 5) == "still here"
    finally:
        flooder.transport.abort()

    assert sent <= MOST_FRAMES_ACCEPTED, f"the server took {sent} frames of {len(FRAME)} bytes without pushing back"
    assert grown <= MOST_MEMORY_GROWTH, f"the server grew by {grown / 2**20:.0f} MiB holding one client's flood"
