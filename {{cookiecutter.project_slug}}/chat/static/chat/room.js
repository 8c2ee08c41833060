// Chat room client: sends {"message": ...}, shows what the room receives, and reconnects when the
// socket drops (server restart, network change) with exponential backoff plus jitter.
(function () {
  const room = JSON.parse(document.getElementById("room-name").textContent);
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const input = document.getElementById("message");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const url = scheme + location.host + "/ws/chat/" + encodeURIComponent(room) + "/";
  const MAX_DELAY_MS = 10000;
  let socket = null;
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
    socket = new WebSocket(url);
    socket.onopen = () => {
      attempt = 0;
      setStatus("connected", true);
    };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.error) show(data.error, "error");
      else show(data.user + ": " + data.message);
    };
    socket.onclose = (event) => {
      const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setStatus("disconnected (code " + event.code + "), retrying in " + (delay / 1000).toFixed(1) + " s", false);
      setTimeout(connect, delay);
    };
  }

  document.getElementById("send").addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ message: message }));
    input.value = "";
  });
  connect();
})();
