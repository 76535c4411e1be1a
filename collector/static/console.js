// Conveniences only: every console action works without this script.
"use strict";
document.addEventListener("change", function (event) {
  var box = event.target;
  var name = box.getAttribute && box.getAttribute("data-select-all");
  if (!name || !box.form) return;
  var boxes = box.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
  for (var i = 0; i < boxes.length; i++) boxes[i].checked = box.checked;
});
// "Copy" buttons: shown only where the script runs and the clipboard works.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  var label = button.textContent;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
});
// On a phone the pages are one row that scrolls sideways: start it where
// the current page is, not at the first.
(function () {
  var nav = document.querySelector("header.top nav");
  var here = nav && nav.querySelector('[aria-current="page"]');
  if (!here || nav.scrollWidth <= nav.clientWidth) return;
  var offset = here.getBoundingClientRect().left - nav.getBoundingClientRect().left;
  nav.scrollLeft += offset - (nav.clientWidth - here.offsetWidth) / 2;
})();
// On a phone the inbox's filters would fill the first screen: fold all
// but the search and its scope behind a button, unless one is in use.
(function () {
  var fold = document.querySelector("form.filters button.fold");
  if (!fold) return;
  var form = fold.form;
  var fields = form.querySelectorAll("button.fold ~ label input, button.fold ~ label select");
  var inUse = Array.prototype.some.call(fields, function (field) { return field.value !== ""; });
  function show(open) {
    form.classList.toggle("folded", !open);
    fold.setAttribute("aria-expanded", String(open));
    fold.textContent = open ? "Fewer filters" : "More filters";
  }
  fold.hidden = false;
  show(inUse);
  fold.addEventListener("click", function () { show(form.classList.contains("folded")); });
})();
// Keyboard shortcuts, for people who triage all day. Nothing depends on
// them: every action is a link or a form without this script.
(function () {
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("table.inbox tbody tr")); };
  var current = -1;
  function mark(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("kbd-current", i === current); });
    var link = all[current].querySelector("td.words a");
    if (link) link.focus();
  }
  var help = null;
  function toggleHelp() {
    if (!help) {
      help = document.createElement("dialog");
      help.className = "shortcuts";
      help.setAttribute("aria-labelledby", "shortcuts-title");
      help.innerHTML = '<h2 id="shortcuts-title">Keyboard shortcuts</h2><dl>' +
        "<dt>j / k</dt><dd>Next / previous entry in the list</dd>" +
        "<dt>o or Enter</dt><dd>Open the selected entry</dd>" +
        "<dt>r</dt><dd>Reply (on an entry)</dd>" +
        "<dt>a</dt><dd>Assign (on an entry)</dd>" +
        "<dt>/</dt><dd>Search</dd>" +
        "<dt>?</dt><dd>Show or hide this help</dd></dl>" +
        '<form method="dialog"><button type="submit">Close</button></form>';
      document.body.appendChild(help);
    }
    if (help.open) help.close(); else help.showModal();
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable);
    if (typing) return;
    var focus = function (selector) {
      var el = document.querySelector(selector);
      if (!el) return false;
      el.focus();
      if (el.scrollIntoView) el.scrollIntoView({ block: "center" });
      return true;
    };
    var handled = true;
    switch (event.key) {
      case "j": mark(current + 1); break;
      case "k": mark(current - 1); break;
      case "o": {
        var all = rows();
        var link = all[current] && all[current].querySelector("td.words a");
        if (link) link.click(); else handled = false;
        break;
      }
      case "r": handled = focus("#reply"); break;
      case "a": handled = focus("#assignee"); break;
      case "/": handled = focus('input[type="search"]'); break;
      case "?": toggleHelp(); break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
// A table's scroll box is a keyboard stop only while it has something to
// scroll; without this script every box stays one.
(function () {
  var boxes = document.querySelectorAll(".scrolls");
  if (!boxes.length) return;
  function fit() {
    boxes.forEach(function (box) {
      if (box.scrollWidth > box.clientWidth) box.setAttribute("tabindex", "0");
      else box.removeAttribute("tabindex");
    });
  }
  addEventListener("resize", fit);
  fit();
})();
// A second click while a form is on its way would send it twice: the
// server keeps a repeated reply once, but not every form is a reply.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.method !== "post") return;
  var now = Date.now();
  if (form.dataset.sentAt && now - Number(form.dataset.sentAt) < 3000) {
    event.preventDefault();
    return;
  }
  form.dataset.sentAt = String(now);
});
// The daily digest goes at a UTC hour: say when that is here (today).
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  document.querySelectorAll("select[data-utc-hours] option").forEach(function (option) {
    var hour = Number(option.value);
    var when = new Date();
    if (option.value === "" || isNaN(hour)) return;
    when.setUTCHours(hour, 0, 0, 0);
    if (when.getTimezoneOffset() === 0) return;
    option.textContent += " (" + pad(when.getHours()) + ":" + pad(when.getMinutes()) + " your time)";
  });
})();
