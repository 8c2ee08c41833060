// Chat room client: sends {"message": ...} and shows what the room receives. site.connect (site/socket.js)
// shows the socket's state and reconnects when it drops (server restart, network change).
(function () {
  const room = JSON.parse(document.getElementById("room-name").textContent);
  const log = document.getElementById("log");
  const input = document.getElementById("message");

  function show(text, className) {
    const line = document.createElement("div");
    line.textContent = text;
    if (className) line.className = className;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  const socket = site.connect("/ws/chat/" + encodeURIComponent(room) + "/", {
    message: (event) => {
      const data = JSON.parse(event.data);
      if (data.error) show(data.error, "error");
      else show(data.user + ": " + data.message);
    },
  });

  document.getElementById("send").addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (message && socket.send(JSON.stringify({ message: message }))) input.value = "";
  });
})();
