"""Each user's slots: at most settings.TASKS_PER_USER (default 10) of a user's tasks are queued or running.

The count lives in Django's cache: Redis when REDIS_URL is set, so every server process and worker shares it
(add, incr and delete are atomic there), else the one process's memory, as the in-memory layer needs. Each task
holds a ticket (a cache key of its own) while its slot is taken; free_slot() deletes the ticket and lowers the
count only if that delete removed it, so a task is counted off once, whoever reports its end first (its worker
or the socket's watchdog). Both keys expire SLOT_SECONDS after the user's last accepted task: the backstop for a
slot nobody frees (a lost task whose page had closed, a crashed server process).
"""

from django.conf import settings
from django.core.cache import cache

TASKS_PER_USER = 10
# Longer than any task holds its slot (60 s in the layer at most, then a run of seconds); a leaked slot is free
# again this long after the user's last accepted task.
SLOT_SECONDS = 10 * 60


def take_slot(user_id, task):
    """Count `task` against `user_id`'s limit and return True, or return False (nothing counted) when the user
    already has settings.TASKS_PER_USER tasks queued or running."""
    key = count_key(user_id)
    cache.add(key, 0, SLOT_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, SLOT_SECONDS)
        count = 1
    if count > limit():
        lower(key)
        return False
    cache.touch(key, SLOT_SECONDS)
    cache.set(ticket_key(task), user_id, SLOT_SECONDS)
    return True


def limit():
    """How many tasks a user may have queued or running: settings.TASKS_PER_USER, by default TASKS_PER_USER."""
    return getattr(settings, "TASKS_PER_USER", TASKS_PER_USER)


def holds_slot(task):
    """Whether `task` still holds its slot: False once it was reported done, failed, lost or expired."""
    return cache.has_key(ticket_key(task))


def free_slot(user_id, task):
    """Give back the slot of `task`: True if this call freed it, False if it was free already."""
    if not cache.delete(ticket_key(task)):
        return False
    lower(count_key(user_id))
    return True


def lower(key):
    try:
        cache.decr(key)
    except ValueError:
        pass  # the count expired (SLOT_SECONDS), and the slots it counted with it


def count_key(user_id):
    return f"tasks:user:{user_id}"


def ticket_key(task):
    return f"tasks:task:{task}"
