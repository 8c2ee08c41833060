// Opens the chosen echo socket and shows what comes back.
(function () {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const select = document.getElementById("socket");
  const input = document.getElementById("message");
  let socket = null;

  function show(text, className) {
    const line = document.createElement("div");
    line.textContent = text;
    if (className) line.className = className;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  function open() {
    if (socket) socket.close();
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + select.value);
    status.textContent = "connecting…";
    status.className = "status";
    socket.onopen = () => { status.textContent = "connected"; status.className = "status connected"; };
    socket.onmessage = (event) => show("← " + event.data);
    socket.onclose = (event) => {
      status.textContent = "closed (" + event.code + ")";
      status.className = "status";
    };
  }

  select.addEventListener("change", open);
  document.getElementById("send").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!socket || socket.readyState !== WebSocket.OPEN || !input.value) return;
    socket.send(input.value);
    show("→ " + input.value);
    input.value = "";
  });
  open();
})();
