// Starts tasks over /ws/tasks/ and shows the progress the worker pushes: one line per task, updated
// in place. site.connect (site/socket.js) shows the socket's state and reconnects when it drops; tasks keep
// running in the worker meanwhile.
(function () {
  const log = document.getElementById("log");

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

  function show(update) {
    if (update.error && !update.task) {
      const row = document.createElement("div");
      row.className = "error";
      row.textContent = update.error;
      log.appendChild(row);
      return;
    }
    const row = line(update.task);
    const [bar, text] = row.children;
    bar.max = update.steps;
    if (update.step !== undefined) bar.value = update.step;
    row.className = update.status === "failed" ? "error" : "";
    text.textContent = " task " + update.task.slice(0, 8) + ": " + update.status +
      (update.status === "failed" ? ": " + update.error : " (step " + bar.value + "/" + update.steps + ")");
  }

  const socket = site.connect("/ws/tasks/", { message: (event) => show(JSON.parse(event.data)) });

  function start(options) {
    socket.send(JSON.stringify({ start: options }));
  }

  document.getElementById("start").addEventListener("click", () => start({ steps: 5 }));
  document.getElementById("start-failing").addEventListener("click", () => start({ steps: 5, fail_at: 3 }));
})();
