"""The messages of the notifications socket (NotificationConsumer.contract): it only sends."""

from typing import Any

from pydantic import ConfigDict, RootModel

from {{ cookiecutter.project_slug }}.contracts import Contract


class Notification(RootModel[dict[str, Any]]):
    """A notify_user() payload (notifications.api) as it was pushed: a JSON object, whose "message" the demo page
    shows; kept for the user, so on a socket opened with ?since= it carries its "seq"."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [{"message": "Export ready", "seq": 3}]})


class Broadcast(RootModel[Any]):
    """A broadcast() payload as it was pushed: any JSON, to the sockets open at the time (never kept)."""

    model_config = ConfigDict(defer_build=True, json_schema_extra={"examples": [{"message": "Deploying in 5 minutes"}]})


# A kept PushConsumer: its description adds the catch-up frames (CaughtUp, Missed) and ?since= (asyncapi.py).
NOTIFICATIONS = Contract(sends=[Notification, Broadcast])
