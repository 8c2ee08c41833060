// Opens the chosen echo socket (site.connect, site/socket.js) and shows what goes out, what comes back,
// and each time the socket connects or closes.
(function () {
  const log = document.getElementById("log");
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
    const path = select.value;
    socket = site.connect(path, {
      open: () => show("connected to " + path, "event"),
      message: (event) => show("← " + event.data),
      close: (event) => show("disconnected from " + path + " (code " + event.code + ")", "event"),
    });
  }

  select.addEventListener("change", open);
  document.getElementById("send").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value || !socket.send(input.value)) return;
    show("→ " + input.value);
    input.value = "";
  });
  open();
})();
