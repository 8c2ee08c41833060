// Shows what the server pushes to this user's notifications socket; site.connect (site/socket.js) shows the
// socket's state and reconnects when it drops. The form posts with fetch() so the page (and its socket) stays
// open to receive the result. The user's notifications are kept (history.py): the page opens with ?since=recent
// (the recent ones first), keeps the seq of the last one it got and reconnects with ?since=<that seq>, so one
// sent while it was reconnecting is shown when it is back. Broadcasts are live only (no seq).
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("send");
  const input = document.getElementById("message");
  let since = "recent"; // the seq of the last kept notification shown, once there is one

  function show(text, className) {
    const line = document.createElement("div");
    line.textContent = text;
    if (className) line.className = className;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  // True for the socket's own frames, handled here; false for a notification (kept ones carry a seq).
  function handled(data) {
    if (typeof data.seq === "number") since = data.seq;
    else if ("caught_up" in data) since = data.caught_up;
    else if (data.missed) show("Older notifications are no longer kept", "error");
    else if (data.error) show(data.error, "error");
    else return false;
    return typeof data.seq !== "number";
  }

  site.connect(() => "/ws/notifications/?since=" + since, {
    message: (event) => {
      const data = JSON.parse(event.data);
      if (handled(data)) return;
      if (typeof data.message === "string") show((data.from ? data.from + ": " : "") + data.message);
      else show(JSON.stringify(data));
    },
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    data.set("to", event.submitter ? event.submitter.value : "me");
    const response = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
    if (response.ok) input.value = "";
    else show((await response.json().catch(() => ({}))).error || "Sending failed (" + response.status + ")", "error");
  });
})();
