"""The project package's tables: the streams of history.py (stored chat messages, kept notifications...) and the
heartbeats of the db_worker processes (background.py)."""

from django.db import models


class Stream(models.Model):
    """A named sequence of entries (a chat room, one user's notifications): `name` is also the channel-layer group
    its live events go to. `last_seq` is the seq of its newest entry (0: none yet); appending increments it under
    the row's lock, so seqs follow commit order (history.py)."""

    name = models.CharField(max_length=100, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return self.name


class Entry(models.Model):
    """One entry of a stream: `data` (a JSON object) and its `seq`, 1, 2, 3... within the stream with no gap. The
    oldest are deleted past settings.HISTORY_KEEP."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="entries")
    seq = models.PositiveBigIntegerField()
    data = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "entries"
        # The index every read and every pruning walks: a stream's entries by seq.
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="history_entry_stream_seq")]

    def __str__(self):
        return f"{self.stream_id}#{self.seq}"


class WorkerHeartbeat(models.Model):
    """When a db_worker thread (its `worker_id`, as django-tasks-db records it in the jobs it claims) last reported
    that its process is alive. A running job whose worker has not reported for settings.TASKS_JOB_STALE_SECONDS is
    run again (management/commands/db_worker.py)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.worker_id} at {self.seen_at}"
