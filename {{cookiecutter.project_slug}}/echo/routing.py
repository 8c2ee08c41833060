from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/echo/", consumers.EchoConsumer.as_asgi()),
    path("ws/echo-json/", consumers.JsonEchoConsumer.as_asgi()),
    path("ws/echo-sync/", consumers.SyncEchoConsumer.as_asgi()),
]
