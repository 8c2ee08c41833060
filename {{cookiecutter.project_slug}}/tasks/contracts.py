"""The messages of the tasks socket (TaskConsumer.contract): what the page sends, what the server pushes back."""

from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from {{ cookiecutter.project_slug }}.contracts import Contract
from {{ cookiecutter.project_slug }}.messages import Message

from .consumers import MAX_STEPS


class Steps(Message):
    """How many steps the task counts (TASKS_STEP_MILLISECONDS each, 0.5 s by default), and the step at which it
    fails, if it should."""

    steps: int = Field(5, ge=1, le=MAX_STEPS)
    fail_at: int | None = Field(None, ge=1, le=MAX_STEPS, description="at most `steps`")

    @field_validator("fail_at")
    @classmethod
    def within_steps(cls, fail_at: int | None, info: ValidationInfo) -> int | None:
        steps = info.data.get("steps")  # absent when `steps` itself failed: that error is reported instead
        if fail_at is not None and steps is not None and fail_at > steps:
            raise PydanticCustomError("fail_at", "must be a step from 1 to {steps}, or left out", {"steps": steps})
        return fail_at


class Start(Message):
    """Start a task."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"start": {"steps": 5}}, {"start": {"steps": 3, "fail_at": 2}}]}
    )

    start: Steps


class Progress(Message):
    """A task of the user's, queued, running (at each step) or done; every socket of the user gets it."""

    task: str
    status: Literal["queued", "running", "done"]
    step: int
    steps: int
    silence: float | None = Field(
        None, description='"queued" only: seconds without word of the task after which it is reported lost or expired'
    )


class Ended(Message):
    """A task's bad end, with a sentence for the user: it failed, no worker took it in time, or its worker went
    silent."""

    task: str
    status: Literal["failed", "lost", "expired"]
    steps: int
    error: str


TASKS = Contract(receives=[Start], sends=[Progress, Ended])


class JobState(Message):
    """Where a durable job of the user stands (every socket of the user gets each change); "error" when failed."""

    job: str
    status: Literal["queued", "retrying", "running", "done", "failed"]
    step: int
    steps: int
    attempt: int = Field(description="attempts started so far (0 while first queued)")
    attempts: int = Field(description="attempts at most (settings.TASKS_JOB_ATTEMPTS)")
    error: str | None = None


JOBS = Contract(receives=[Start], sends=[JobState])
