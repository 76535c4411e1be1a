/*! Earshot feedback widget loader. https://github.com/earshot */
// Runs on every page of every host site, so it stays tiny and
// dependency-free. It draws the button and owns window.Earshot; the
// WebAssembly app (the dialog) is fetched only when someone shows intent
// (pointer or focus on the button), opens it, or when an earlier page left
// a submission to deliver. Placeholders in double underscores are filled in
// by the collector's build.
(function () {
  "use strict";
  var script = document.currentScript;
  var prior = window.Earshot;
  if (!script || (prior && prior.version)) return;
  var base = new URL(".", script.src).href;
  var data = script.dataset;
  var site = (data.site || "").trim();
  var manual = data.mode === "manual";
  var tz;
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) {}
  var config = {
    site: site,
    endpoint: base,
    label: data.label || null,
    manual: manual,
    locale: data.locale || null,
    user_agent: navigator.userAgent,
    language: navigator.language || null,
    timezone: tz || null
  };
  var labels = { de: "Feedback", fr: "Votre avis", es: "Opinión", pt: "Opinião" };
  // When the app itself cannot load, its strings cannot either.
  var down = {
    en: "Feedback is unavailable. Please try again later.",
    de: "Feedback ist nicht verfügbar. Bitte später erneut versuchen.",
    fr: "Avis indisponible. Réessayez plus tard.",
    es: "Comentarios no disponibles. Inténtalo más tarde.",
    pt: "Comentários indisponíveis. Tente mais tarde."
  };
  var lang = (data.locale || navigator.language || "en").slice(0, 2).toLowerCase();

  var host = document.createElement("earshot-widget");
  var root = host.attachShadow({ mode: "open" });
  // A stylesheet file, not inline styles, so hosts with a strict CSP only
  // need to allow the collector in style-src.
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = base + "__CSS__";
  root.appendChild(css);
  // CSSOM, which a strict CSP allows (a style attribute it would not).
  var color = data.color || "";
  if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(color)) {
    host.style.setProperty("--earshot-color", color);
    // Text on the host's colour: white or near-black, whichever reads
    // better (relative luminance, as WCAG measures it).
    var hex = color.length === 4 ? color.replace(/[0-9a-f]/gi, "$&$&") : color;
    var lum = [1, 3, 5].reduce(function (sum, i, k) {
      var c = parseInt(hex.substr(i, 2), 16) / 255;
      c = c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
      return sum + c * [0.2126, 0.7152, 0.0722][k];
    }, 0);
    host.style.setProperty("--earshot-color-ink", lum > 0.179 ? "#111318" : "#ffffff");
  }

  var app = null, loading = false, queue = [], handlers = {}, button = null, layer = null, note = null;

  function on(name, fn) {
    if (typeof fn === "function") (handlers[name] = handlers[name] || []).push(fn);
  }
  function emit(name, detail) {
    if (button && (name === "open" || name === "close")) {
      button.setAttribute("aria-expanded", String(name === "open"));
    }
    (handlers[name] || []).slice().forEach(function (fn) {
      // A failing listener must not stop the others, nor us.
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  // The host's CSS zoom, which the dialog's size divides by.
  function zoom() {
    var z = host.currentCSSZoom;
    host.style.setProperty("--earshot-zoom", String(z > 0 ? z : 1));
  }
  function ready() { if (button) button.removeAttribute("aria-busy"); }
  // Whoever asked to open it is told; a later click tries again.
  function failed() {
    loading = false;
    ready();
    var opening = queue.some(function (c) { return c[0] === "open"; });
    queue = queue.filter(function (c) { return c[0] !== "open"; });
    if (opening && layer) {
      note = note || document.createElement("p");
      note.className = "load-error";
      note.setAttribute("role", "alert");
      note.textContent = down[lang] || down.en;
      layer.insertBefore(note, layer.firstChild);
    }
    emit("failed", { reason: "unreachable" });
  }
  function load() {
    if (loading) return;
    loading = true;
    var tag = document.createElement("script");
    tag.src = base + "__APP__";
    tag.async = true;
    tag.onerror = function () { tag.remove(); failed(); };
    (document.head || document.documentElement).appendChild(tag);
  }
  // Calls before the app is ready wait in order; only opening loads it.
  function call(method, arg, wake) {
    if (app) return app(method, arg);
    queue.push([method, arg]);
    if (wake) load();
  }

  window.Earshot = {
    version: "__VERSION__",
    open: function (options) {
      zoom();
      if (!app && button) button.setAttribute("aria-busy", "true");
      call("open", options, true);
    },
    close: function () { call("close"); },
    identify: function (person) { call("identify", person); },
    setContext: function (context) { call("setContext", context); },
    setStrings: function (strings) { call("setStrings", strings); },
    on: on,
    // Called once by the app script; not part of the public API.
    __boot: function (bindgen) {
      delete window.Earshot.__boot;
      bindgen({ module_or_path: base + "__WASM__" }).then(function () {
        app = bindgen.mount(root, JSON.stringify(config), emit);
        // Not removed on a retry: the button must not move under the pointer.
        if (note) note.remove();
        ready();
        var waiting = queue;
        queue = [];
        waiting.forEach(function (c) { app(c[0], c[1]); });
      }, function (err) {
        if (window.console) console.warn("earshot: widget failed to start", err);
        failed();
      });
    }
  };
  // A host may queue calls before this script runs:
  // window.Earshot = {q: [["identify", {...}], ["on", "submitted", fn]]}.
  ((prior && prior.q) || []).forEach(function (c) {
    if (c[0] === "on") on(c[1], c[2]);
    else if (typeof window.Earshot[c[0]] === "function") window.Earshot[c[0]](c[1]);
  });

  if (!manual) {
    layer = document.createElement("div");
    layer.className = "launcher-layer " + (/^(top|bottom)-(left|right)$/.test(data.position || "") ? data.position : "bottom-right");
    // A manual popover renders in the top layer, above any z-index.
    layer.setAttribute("popover", "manual");
    button = document.createElement("button");
    button.type = "button";
    button.className = "launcher";
    button.setAttribute("part", "launcher");
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-expanded", "false");
    button.textContent = data.label || labels[lang] || "Feedback";
    button.addEventListener("click", function () { window.Earshot.open(); });
    button.addEventListener("pointerenter", load);
    button.addEventListener("focus", load);
    layer.appendChild(button);
    root.appendChild(layer);
  }

  function start() {
    (document.body || document.documentElement).appendChild(host);
    if (layer) { try { layer.showPopover(); } catch (e) {} }
    // Something an earlier page could not send is still waiting.
    try { if (localStorage.getItem("earshot:" + site + ":outbox")) load(); } catch (e) {}
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
