// Shows what the server pushes to this user's notifications socket; site.connect (site/socket.js) shows the
// socket's state and reconnects when it drops. The form posts with fetch() so the page (and its socket) stays
// open to receive the result.
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("send");
  const input = document.getElementById("message");

  function show(text, className) {
    const line = document.createElement("div");
    line.textContent = text;
    if (className) line.className = className;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  site.connect("/ws/notifications/", {
    message: (event) => {
      const data = JSON.parse(event.data);
      if (data.error) show(data.error, "error");
      else if (typeof data.message === "string") show((data.from ? data.from + ": " : "") + data.message);
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
