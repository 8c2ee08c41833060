import json
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from {{ cookiecutter.project_slug }}.layers import is_in_memory
from {{ cookiecutter.project_slug }}.testing import processes
from {{ cookiecutter.project_slug }}.testing.live_server import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PROJECT_DIR = Path(__file__).resolve().parents[2]
# A job's steps take half a second (jobs.py), for a person to watch; in the processes these tests start, a
# twenty-fifth of that. The page must still show every step, in order.
FAST_STEPS = {"TASKS_STEP_MILLISECONDS": "20"}


@pytest.fixture(scope="module")
def fast_server(process_env, tmp_path_factory):
    """A server of this module's own whose jobs run FAST_STEPS (on the in-memory layer the server runs them)."""
    server = LiveServer({**process_env, **FAST_STEPS}, tmp_path_factory.mktemp("fast-steps") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def worker(process_env):
    """With Redis the server leaves the tasks to `runworker tasks`, as in production; in-memory, it runs them."""
    if is_in_memory():
        yield
        return
    command = [sys.executable, "manage.py", "runworker", "tasks"]
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env={**process_env, **FAST_STEPS})
    yield
    process.terminate()
    process.wait(timeout=10)


def test_task_progress_and_failure_appear_live(worker, fast_server, new_page, log_in, django_user_model, screenshot):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    page = new_page(fast_server)
    log_in(page, "alice", "pw-alice-123")
    page.goto("/tasks/")
    expect(page.locator("#status")).to_have_text("connected")

    # Every text the first task line shows, in order: one message is one event, and the observer runs
    # after each (polling the page could miss a step on a busy machine).
    page.evaluate(
        """window.seen = [];
        new MutationObserver(() => {
            const row = document.querySelector("[data-task]");
            if (row && row.textContent !== window.seen.at(-1)) window.seen.push(row.textContent);
        }).observe(document.getElementById("log"), {childList: true, subtree: true, characterData: true});"""
    )
    page.click("#start")
    task = page.locator("[data-task]").nth(0)
    expect(task).to_contain_text("done (step 5/5)", timeout=20_000)
    steps = [text.split(": ", 1)[1] for text in page.evaluate("window.seen")]
    assert steps == ["queued (step 0/5)", *(f"running (step {n}/5)" for n in range(1, 6)), "done (step 5/5)"]
    expect(task.locator("progress")).to_have_js_property("value", 5)

    page.click("#start-failing")
    failing = page.locator("[data-task]").nth(1)
    # A generic line: the exception's text ("step 3 of 5 failed") stays in the server log.
    expect(failing).to_contain_text("failed: The task failed.", timeout=20_000)
    expect(failing).to_have_class("error")
    screenshot(page, "tasks")


def test_a_task_the_server_never_reports_on_again_ends_lost_on_the_page(new_page, log_in, django_user_model):
    """The page's own watch: after a reconnect no server watchdog reports a task the old socket queued.

    The socket is Playwright's stand-in, which answers "queued" with a short "silence" and then says nothing.
    """
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    page = new_page()
    log_in(page, "alice", "pw-alice-123")

    def silent_server(socket):
        queued = {"task": "f" * 32, "status": "queued", "step": 0, "steps": 5, "silence": 0.2}
        socket.on_message(lambda message: socket.send(json.dumps(queued)))

    page.route_web_socket("**/ws/tasks/", silent_server)
    page.clock.install()  # the page's timers run on a clock the test can move
    page.goto("/tasks/")
    expect(page.locator("#status")).to_have_text("connected")
    page.click("#start")
    task = page.locator("[data-task]").nth(0)
    expect(task).to_contain_text("queued (step 0/5)")
    # Ten seconds on the page's clock, in an instant: past the silence and the page's margin (tasks.js).
    page.clock.fast_forward(10_000)
    expect(task).to_contain_text("lost: No word of the task from the server")
    expect(task).to_have_class("error")


@pytest.fixture
def db_worker(process_env, tmp_path):
    """`manage.py db_worker` on the test database, retrying at once, its jobs running FAST_STEPS (the server tells
    the page how many attempts there are: TASKS_JOB_ATTEMPTS is the same in both)."""
    env = {**process_env, "TASKS_JOB_RETRY_SECONDS": "0", **FAST_STEPS}
    command = [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"]
    process = processes.launch(command, PROJECT_DIR, env, log=tmp_path / "db_worker.log")
    yield
    process.terminate()
    process.wait(timeout=30)


def test_a_job_runs_to_its_end_and_the_page_shows_it_after_a_reload(
    db_worker, new_page, log_in, django_user_model, screenshot
):
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    page = new_page()
    log_in(page, "alice", "pw-alice-123")
    page.goto("/tasks/jobs/")
    expect(page.locator("#status")).to_have_text("connected")
    page.click("#start")
    job = page.locator("[data-job]").nth(0)
    expect(job).to_contain_text("done (step 5/5, attempt 1 of 3)", timeout=30_000)
    expect(job.locator("progress")).to_have_js_property("value", 5)

    page.click("#start-failing")
    failing = page.locator("[data-job]").nth(1)
    # A generic line: the exception's text ("step 3 of 5 failed") stays in the worker's log.
    expect(failing).to_contain_text("failed: The job failed on every attempt.", timeout=30_000)
    expect(failing).to_have_class("error")

    # The state comes from the database when the page opens.
    page.reload()
    expect(page.locator("[data-job]").nth(0)).to_contain_text("done (step 5/5, attempt 1 of 3)")
    expect(page.locator("[data-job]").nth(1)).to_contain_text("failed: The job failed on every attempt.")
    screenshot(page, "tasks-jobs")
