// Times in the reader's own time zone, on the console and on customers'
// status pages (the build puts this file at the head of console.js). The
// pages say UTC, as the server knows no reader's zone; UTC stays on hover.
// Days (promises' due dates, with no time of day) are left as they are.
// Nothing depends on this script.
"use strict";
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function zone(when) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(when);
      var name = parts.filter(function (p) { return p.type === "timeZoneName"; })[0];
      return name ? " " + name.value : "";
    } catch (e) {
      return "";
    }
  }
  document.querySelectorAll("time[datetime]").forEach(function (element) {
    var when = new Date(element.dateTime);
    if (element.dateTime.indexOf("T") < 0 || isNaN(when.getTime())) return;
    var local = when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) +
      " " + pad(when.getHours()) + ":" + pad(when.getMinutes()) + zone(when);
    if (element.title) {
      element.title = local;
    } else {
      element.title = element.textContent;
      element.textContent = local;
    }
  });
})();
