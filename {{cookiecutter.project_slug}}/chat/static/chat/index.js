// Goes to the room typed in the form.
document.getElementById("enter").addEventListener("submit", (event) => {
  event.preventDefault();
  const room = document.getElementById("room").value.trim();
  if (room) location.href = encodeURIComponent(room) + "/";
});
