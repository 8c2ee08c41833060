"""The durable jobs of the demo (durable.py): whose they are and how far they got. Where each stands in the
queue (queued, running, done, failed; its attempts) is its `result`, the row django-tasks-db keeps for it."""

import uuid

from django.conf import settings
from django.db import models
from django_tasks_db.models import DBTaskResult


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    steps = models.PositiveSmallIntegerField()
    fail_at = models.PositiveSmallIntegerField(null=True, blank=True)
    step = models.PositiveSmallIntegerField(default=0)  # the last step done
    # Set in the transaction that enqueues the job; pruning old results (prune_db_task_results) deletes their jobs.
    result = models.OneToOneField(DBTaskResult, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.pk} of user {self.user_id}: step {self.step} of {self.steps}"
