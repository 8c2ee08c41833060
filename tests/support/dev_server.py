"""A server command of a baked project run as a real process, and a WebSocket client to talk to it."""

import os
import signal
import subprocess
import sys
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .processes import launch, output


def own_origin(port):
    """The server's own origin: the socket Origin check compares scheme, host and port, as Django's CSRF does."""
    return f"http://127.0.0.1:{port}"


def echo(port, text, path="/ws/echo/", timeout=5):
    """One fresh socket: send `text`, return the reply."""
    url = f"ws://127.0.0.1:{port}{path}"
    with connect(url, origin=own_origin(port), open_timeout=timeout, close_timeout=1) as ws:
        ws.send(text)
        return ws.recv(timeout=timeout)


def close_code(port, path, send=None):
    """Open a socket that the server accepts and then closes (after `send`, if given); return the close code."""
    url = f"ws://127.0.0.1:{port}{path}"
    with connect(url, origin=own_origin(port), open_timeout=5, close_timeout=1, max_size=None) as ws:
        if send is not None:
            ws.send(send)
        try:
            ws.recv(timeout=5)
        except ConnectionClosed as closed:
            return closed.rcvd.code
    raise AssertionError(f"{path} sent a frame instead of closing")


def with_port(args, port):
    """The same arguments with the value after --port replaced: the one change a test makes to a config."""
    index = args.index("--port")
    return [*args[: index + 1], str(port), *args[index + 2 :]]


class DevServer:
    """Run `python ARGS` in `cwd`; its combined output is collected line by line in `lines`."""

    def __init__(self, args, cwd, env):
        self.process = launch([sys.executable, *args], cwd, env, start_new_session=True)
        self.lines = self.process.lines

    @property
    def output(self):
        return output(self.process)

    def wait_for_echo(self, port, text="ping", timeout=30, path="/ws/echo/"):
        """Retry fresh sockets until one echoes; return the reply. Fails if the process dies first."""
        return self.wait_for(lambda: echo(port, text, path=path), timeout)

    def wait_for(self, probe, timeout=30):
        """Call `probe` until it returns without raising; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return probe()
            except Exception as error:  # refused, reset or closed while (re)starting
                if self.process.poll() is not None:
                    raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.output}") from error
                if time.monotonic() > deadline:
                    raise AssertionError(f"no answer within {timeout} s ({error!r}):\n{self.output[-3000:]}") from error
                time.sleep(0.05)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # its own session: the reloader's server child goes too
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process.reader.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
