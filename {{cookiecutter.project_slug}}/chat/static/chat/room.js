// Chat room client: sends {"message": ...} and shows what the room receives, and who is in the room
// ({"presence": ...}, asked for with ?presence=1). site.connect (site/socket.js)
// shows the socket's state and reconnects when it drops (server restart, network change). The page opens with
// ?since=recent (the room's recent messages first) and keeps the seq of the last message it got: it reconnects
// with ?since=<that seq>, and the server sends what it missed, each message once, in order (history.py).
(function () {
  const room = JSON.parse(document.getElementById("room-name").textContent);
  const log = document.getElementById("log");
  const input = document.getElementById("message");
  const present = document.getElementById("presence");
  let since = "recent"; // the seq of the last message shown, once there is one

  function show(text, className) {
    const line = document.createElement("div");
    line.textContent = text;
    if (className) line.className = className;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  // "alice, bob and 2 anonymous": logged-in users once each, however many tabs they have open.
  function showPresence(presence) {
    const names = presence.users.slice();
    if (presence.anonymous) names.push(presence.anonymous + " anonymous");
    present.textContent = names.length > 1 ? names.slice(0, -1).join(", ") + " and " + names.at(-1) : names[0] || "nobody";
  }

  const path = () => "/ws/chat/" + encodeURIComponent(room) + "/?presence=1&since=" + since;
  const socket = site.connect(path, {
    message: (event) => {
      const data = JSON.parse(event.data);
      if (typeof data.seq === "number") since = data.seq; // a message (only they have a seq)
      if (data.presence) showPresence(data.presence);
      else if (data.error) show(data.error, "error");
      else if (data.missed) {
        const count = data.missed.last - data.missed.first + 1;
        show(count + (count === 1 ? " message is" : " messages are") + " no longer kept here", "error");
      } else if ("caught_up" in data) since = data.caught_up;
      else show(data.user + ": " + data.message);
    },
  });

  document.getElementById("send").addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (message && socket.send(JSON.stringify({ message: message }))) input.value = "";
  });
})();
