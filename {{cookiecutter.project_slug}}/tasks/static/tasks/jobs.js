// Starts durable jobs over /ws/tasks/jobs/ and shows the state of each: one line per job, updated in place.
// The socket sends each job's state from the database when it opens, so a reload loses nothing; then every
// change (JobConsumer in tasks/consumers.py). A job that has ended keeps its line as it ended.
(function () {
  const log = document.getElementById("log");
  const ENDED = ["done", "failed"];

  function line(id) {
    let row = document.querySelector('[data-job="' + id + '"]');
    if (!row) {
      row = document.createElement("div");
      row.dataset.job = id;
      row.append(document.createElement("progress"), document.createElement("span"));
      log.appendChild(row);
    }
    return row;
  }

  function show(update) {
    if (update.error && !update.job) {
      const row = document.createElement("div");
      row.className = "error";
      row.textContent = update.error;
      log.appendChild(row);
      return;
    }
    const row = line(update.job);
    // Frames of a job can cross (a page opening while the worker pushes): an ended job stays ended.
    if (ENDED.includes(row.dataset.status) && !ENDED.includes(update.status)) return;
    row.dataset.status = update.status;
    const [bar, text] = row.children;
    bar.max = update.steps;
    bar.value = update.step;
    row.className = update.status === "failed" ? "error" : "";
    const attempt = update.attempt ? ", attempt " + update.attempt + " of " + update.attempts : "";
    text.textContent = " job " + update.job.slice(0, 8) + ": " + update.status +
      (update.status === "failed" ? ": " + update.error : " (step " + update.step + "/" + update.steps + attempt + ")");
  }

  const socket = site.connect("/ws/tasks/jobs/", { message: (event) => show(JSON.parse(event.data)) });

  function start(options) {
    socket.send(JSON.stringify({ start: options }));
  }

  document.getElementById("start").addEventListener("click", () => start({ steps: 5 }));
  document.getElementById("start-failing").addEventListener("click", () => start({ steps: 5, fail_at: 3 }));
})();
