/*! Earshot feedback widget loader. https://github.com/earshot */
// Kept tiny and dependency-free: it runs on every page of every host site.
// Placeholders in double underscores are filled in by the collector's build.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || (window.Earshot && window.Earshot.version)) return;
  var base = new URL(".", script.src).href;
  var data = script.dataset;
  var tz;
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) {}
  var config = {
    site: data.site || "",
    endpoint: base,
    label: data.label || null,
    user_agent: navigator.userAgent,
    language: navigator.language || null,
    timezone: tz || null
  };

  var host = document.createElement("earshot-widget");
  var root = host.attachShadow({ mode: "open" });
  // A stylesheet file, not inline styles, so hosts with a strict CSP only
  // need to allow the collector in style-src.
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "__CSS__";
  root.appendChild(css);

  window.Earshot = {
    version: "__VERSION__",
    // Called once by the app script; not part of the public API.
    __boot: function (bindgen) {
      delete window.Earshot.__boot;
      bindgen({ module_or_path: base + "__WASM__" }).then(function () {
        bindgen.mount(root, JSON.stringify(config));
      }, function (err) {
        if (window.console) console.warn("earshot: widget failed to start", err);
      });
    }
  };

  function start() {
    (document.body || document.documentElement).appendChild(host);
    var app = document.createElement("script");
    app.src = base + "__APP__";
    app.async = true;
    (document.head || document.documentElement).appendChild(app);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
