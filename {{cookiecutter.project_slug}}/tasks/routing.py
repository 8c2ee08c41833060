from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/tasks/", consumers.TaskConsumer.as_asgi()),
    path("ws/tasks/jobs/", consumers.JobConsumer.as_asgi()),
]

channel_workers = {
    consumers.WORKER_CHANNEL: consumers.TaskWorker.as_asgi(),
}
