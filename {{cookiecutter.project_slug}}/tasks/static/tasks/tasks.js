// Starts tasks over /ws/tasks/ and shows the progress the worker pushes: one line per task, updated
// in place. Reconnects with backoff when the socket drops; tasks keep running in the worker meanwhile.
(function () {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const url = scheme + location.host + "/ws/tasks/";
  const UNAUTHORIZED = 4401;
  const MAX_DELAY_MS = 10000;
  let socket = null;
  let attempt = 0;

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

  function setStatus(text, connected) {
    status.textContent = text;
    status.className = connected ? "status connected" : "status";
  }

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = () => {
      attempt = 0;
      setStatus("connected", true);
    };
    socket.onmessage = (event) => show(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (event.code === UNAUTHORIZED) {
        setStatus("not logged in: log in and reload the page", false);
        return;
      }
      const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setStatus("disconnected (code " + event.code + "), retrying in " + (delay / 1000).toFixed(1) + " s", false);
      setTimeout(connect, delay);
    };
  }

  function start(options) {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ start: options }));
  }

  document.getElementById("start").addEventListener("click", () => start({ steps: 5 }));
  document.getElementById("start-failing").addEventListener("click", () => start({ steps: 5, fail_at: 3 }));
  connect();
})();
