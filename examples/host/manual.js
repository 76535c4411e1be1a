// Runs after widget.js (both deferred): window.Earshot is the real API now,
// though the WebAssembly app has not loaded yet. These calls wait for it.
Earshot.setContext({ plan: "pro", account: 4711, beta: true });
Earshot.on("open", function () { document.body.classList.add("feedback-open"); });
Earshot.on("close", function () { document.body.classList.remove("feedback-open"); });
document.getElementById("suggest").addEventListener("click", function () {
  Earshot.open({ kind: "idea", message: "It would help if " });
});
