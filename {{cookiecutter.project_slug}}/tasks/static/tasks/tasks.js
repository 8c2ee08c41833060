// Starts tasks over /ws/tasks/ and shows the progress the worker pushes: one line per task, updated
// in place. Every task ends done, failed, lost or expired (TaskConsumer in tasks/consumers.py). site.connect
// (site/socket.js) shows the socket's state and reconnects when it drops; tasks keep running in the worker
// meanwhile.
(function () {
  const log = document.getElementById("log");
  const BAD_ENDS = ["failed", "lost", "expired"];

  function line(id) {
    let row = document.querySelector('[data-task="' + id + '"]');
    if (!row) {
      row = document.createElement("div");
      row.dataset.task = id;
      row.append(document.createElement("progress"), document.createElement("span"));
      log.appendChild(row);
    }
    return row;
  }

  // The server's watchdog for a task ends with the socket that queued it; after a reconnect the page keeps
  // its own: no word of a task for the "silence" the queued frame gave (plus a margin) ends it "lost".
  const silence = {};
  const timers = {};
  const MARGIN_MS = 2000;

  function watch(update) {
    clearTimeout(timers[update.task]);
    if (update.silence) silence[update.task] = update.silence;
    if (update.status === "done" || BAD_ENDS.includes(update.status) || !silence[update.task]) return;
    timers[update.task] = setTimeout(() => show({
      task: update.task, steps: update.steps, status: "lost",
      error: "No word of the task from the server since the page reconnected.",
    }), silence[update.task] * 1000 + MARGIN_MS);
  }

  function show(update) {
    if (update.error && !update.task) {
      const row = document.createElement("div");
      row.className = "error";
      row.textContent = update.error;
      log.appendChild(row);
      return;
    }
    watch(update);
    const row = line(update.task);
    const [bar, text] = row.children;
    bar.max = update.steps;
    if (update.step !== undefined) bar.value = update.step;
    // failed, lost (its worker stopped reporting) and expired (no worker took it) end a task with a reason.
    const bad = BAD_ENDS.includes(update.status);
    row.className = bad ? "error" : "";
    text.textContent = " task " + update.task.slice(0, 8) + ": " + update.status +
      (bad ? ": " + update.error : " (step " + bar.value + "/" + update.steps + ")");
  }

  const socket = site.connect("/ws/tasks/", { message: (event) => show(JSON.parse(event.data)) });

  function start(options) {
    socket.send(JSON.stringify({ start: options }));
  }

  document.getElementById("start").addEventListener("click", () => start({ steps: 5 }));
  document.getElementById("start-failing").addEventListener("click", () => start({ steps: 5, fail_at: 3 }));
})();
