"""Example non-browser client: log in, get a socket token, print notifications as they arrive.

    .venv/bin/python -m notifications.client --username demo            # asks for the password
    WS_PASSWORD=... .venv/bin/python -m notifications.client --username demo --url http://127.0.0.1:8000

Scripts cannot send the browser's session cookie, so the client trades username and password for a
short-lived token (POST /api/ws-token/) and opens /ws/notifications/?token=... with it. It sends an
Origin header because the server only accepts sockets from its own hosts (DJANGO_ALLOWED_HOSTS).
"""

import argparse
import asyncio
import getpass
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import websockets

UNAUTHORIZED = 4401
SOCKET_PATH = "/ws/notifications/"


def get_token(base_url, username, password):
    # A token opens the socket path it names only.
    body = json.dumps({"username": username, "password": password, "path": SOCKET_PATH}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/ws-token/", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["token"]
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("error", error.reason)
        sys.exit(f"Could not get a token ({error.code}): {detail}")
    except urllib.error.URLError as error:
        sys.exit(f"Could not reach {base_url}: {error.reason}. Is the server running?")


async def print_notifications(base_url, token, count):
    socket_url = base_url.replace("http", "ws", 1) + SOCKET_PATH + "?" + urllib.parse.urlencode({"token": token})
    try:
        socket = await websockets.connect(socket_url, origin=base_url, open_timeout=10)
    except websockets.InvalidStatus as error:
        sys.exit(
            f"The server refused the socket (HTTP {error.response.status_code}): "
            "is the host of --url listed in the server's DJANGO_ALLOWED_HOSTS?"
        )
    async with socket:
        print("Connected; waiting for notifications (Ctrl-C to stop).", flush=True)
        received = 0
        try:
            async for frame in socket:
                print(frame, flush=True)
                received += 1
                if received == count:
                    return
        except websockets.ConnectionClosed:
            pass
        if socket.close_code == UNAUTHORIZED:
            sys.exit(
                "The server refused the token (expired or invalid), or the login ended (logout, password "
                "change, deactivation): run the client again."
            )
        sys.exit(f"The server closed the socket (code {socket.close_code}).")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default: %(default)s)")
    parser.add_argument("--username", required=True)
    parser.add_argument("--count", type=int, default=0, help="stop after this many notifications (0: never)")
    args = parser.parse_args()
    password = os.environ.get("WS_PASSWORD") or getpass.getpass(f"Password for {args.username}: ")
    base_url = args.url.rstrip("/")
    token = get_token(base_url, args.username, password)
    try:
        asyncio.run(print_notifications(base_url, token, args.count))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
