// Shows what the server pushes to this user's notifications socket, reconnecting with backoff when it
// drops. The form posts with fetch() so the page (and its socket) stays open to receive the result.
(function () {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const form = document.getElementById("send");
  const input = document.getElementById("message");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const url = scheme + location.host + "/ws/notifications/";
  const UNAUTHORIZED = 4401;
  const MAX_DELAY_MS = 10000;
  let attempt = 0;

  function show(text, className) {
    const line = document.createElement("div");
    line.textContent = text;
    if (className) line.className = className;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  function setStatus(text, connected) {
    status.textContent = text;
    status.className = connected ? "status connected" : "status";
  }

  function connect() {
    const socket = new WebSocket(url);
    socket.onopen = () => {
      attempt = 0;
      setStatus("connected", true);
    };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.error) show(data.error, "error");
      else if (typeof data.message === "string") show((data.from ? data.from + ": " : "") + data.message);
      else show(JSON.stringify(data));
    };
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

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    data.set("to", event.submitter ? event.submitter.value : "me");
    const response = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
    if (response.ok) input.value = "";
    else show((await response.json().catch(() => ({}))).error || "Sending failed (" + response.status + ")", "error");
  });
  connect();
})();
