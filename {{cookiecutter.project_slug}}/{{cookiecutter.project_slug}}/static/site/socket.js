// The one helper of the pages with a socket. site.connect(path, handlers) opens ws(s)://<this host><path>,
// shows its state in the page's #status ("connecting…", "connected", "disconnected …") the same way on every
// page, and reopens a dropped socket with exponential backoff plus jitter. `path` may be a function, called at each
// (re)connect: a page that catches up (history.py) reopens with ?since=<the last seq it got>. Handlers (all
// optional): open(), message(event), close(event). Returns {send(text) -> sent?, close()}; close() stops reconnecting.
(function () {
  const MAX_DELAY_MS = 10000;
  const UNAUTHORIZED = 4401; // not logged in: retrying would not help
  const EXPIRED = 4408; // the server closes sockets before their group memberships expire: reconnect at once

  function showStatus(state, text) {
    const status = document.getElementById("status");
    if (!status) return;
    status.dataset.state = state; // site.css colours "connecting", "connected" and "disconnected"
    status.textContent = text || state;
  }

  function connect(path, handlers) {
    const on = handlers || {};
    const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
    let socket = null;
    let attempt = 0;
    let stopped = false;

    function open() {
      socket = new WebSocket(base + (typeof path === "function" ? path() : path));
      socket.onopen = () => {
        attempt = 0;
        showStatus("connected");
        if (on.open) on.open();
      };
      socket.onmessage = (event) => {
        if (on.message) on.message(event);
      };
      socket.onclose = (event) => {
        if (on.close) on.close(event);
        if (stopped) return;
        if (event.code === UNAUTHORIZED) {
          showStatus("disconnected", "not logged in: log in and reload the page");
          return;
        }
        if (event.code === EXPIRED) attempt = 0;
        const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
        attempt += 1;
        showStatus("disconnected", "disconnected (code " + event.code + "), retrying in " + (delay / 1000).toFixed(1) + " s");
        setTimeout(open, delay);
      };
    }

    showStatus("connecting", "connecting…");
    open();
    return {
      send(text) {
        if (socket.readyState !== WebSocket.OPEN) return false;
        socket.send(text);
        return true;
      },
      close() {
        stopped = true;
        socket.close();
      },
    };
  }

  window.site = { connect: connect, showStatus: showStatus };
})();
