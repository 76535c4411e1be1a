// Conveniences only: every console action works without this script.
"use strict";
document.addEventListener("change", function (event) {
  var box = event.target;
  var name = box.getAttribute && box.getAttribute("data-select-all");
  if (!name || !box.form) return;
  var boxes = box.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
  for (var i = 0; i < boxes.length; i++) boxes[i].checked = box.checked;
});
