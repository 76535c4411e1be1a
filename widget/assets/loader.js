// Earshot's loader. Runs on every page of every host site, so it stays tiny and
// dependency-free (the build minifies it; every byte here is paid by every
// visitor). It draws the button and owns window.Earshot; the WebAssembly
// app (the dialog) and its stylesheet are fetched only when someone shows
// intent (pointer or focus on the button), opens it, or when an earlier
// page left a submission to deliver. Placeholders in double underscores are
// filled in by the collector's build.
(() => {
  // A module has no currentScript: the tag is then found by its file.
  const script = document.currentScript || document.querySelector("script[src*=\"/widget.js\"]");
  const prior = window.Earshot;
  if (!script || prior?.version) return;
  const base = new URL(".", script.src).href;
  const data = script.dataset;
  const site = (data.site || "").trim();
  // What the script tag says; the app reads the browser's context itself.
  const config = { site, endpoint: base, locale: data.locale || null };
  const lang = (data.locale || navigator.language || "en").slice(0, 2).toLowerCase();
  // When the app itself cannot load, its strings cannot either.
  const down = {
    en: "Feedback is unavailable. Try again later.",
    de: "Feedback ist nicht verfügbar. Später erneut versuchen.",
    fr: "Avis indisponible. Réessayez plus tard.",
    es: "Opinión no disponible. Inténtalo más tarde.",
    pt: "Opinião indisponível. Tente mais tarde."
  };
  const el = (tag) => document.createElement(tag);

  const host = el("earshot-widget");
  const root = host.attachShadow({ mode: "open" });
  // The launcher's rules, minified in by the build, as a constructable
  // stylesheet: a strict CSP allows it (a <style> it would not), and the
  // page fetches nothing more until someone shows intent.
  // Browsers without them (Safari before 16.4) lack popovers too.
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(__LAUNCHER_CSS__);
    root.adoptedStyleSheets = [sheet];
  } catch {}
  const color = data.color || "";
  // Through the CSSOM, which a strict CSP allows (a style attribute it
  // would not). The text on it follows in CSS (launcher.css).
  if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(color)) host.style.setProperty("--earshot-color", color);

  let app, loading, button, layer, note, styled, wasm, bindgen, tries = 0;
  let queue = [];
  const handlers = {};
  const on = (name, fn) => {
    if (typeof fn == "function") (handlers[name] ||= []).push(fn);
  };
  // The app's script keeps the button's aria-expanded and the dialog's
  // zoom in step (app.js). A listener added by a listener is not called
  // this time: forEach stops at the length it started with.
  const emit = (name, detail) => {
    (handlers[name] || []).forEach((fn) => {
      // A failing listener must not stop the others, nor us.
      try { fn(detail); } catch (e) { setTimeout(() => { throw e; }); }
    });
  };
  const ready = () => button && (button.ariaBusy = null);
  const pending = () => {
    try { return localStorage.getItem("earshot:" + site + ":outbox"); } catch {}
  };
  let retry = 5e3;
  // Whoever asked to open it is told; a later click tries again.
  const failed = () => {
    loading = wasm = 0;
    ready();
    // Waiting open() calls leave the queue; if there were any, say so.
    const opening = queue.length > (queue = queue.filter((c) => c[0] != "open")).length;
    if (opening && layer) {
      note ||= el("p");
      note.className = "load-error";
      note.role = "alert";
      note.textContent = down[lang] || down.en;
      layer.prepend(note);
    }
    emit("failed", { reason: "unreachable" });
    // Something an earlier page could not send is still waiting: keep
    // trying to load the app that delivers it, backing off as it would.
    if (pending()) setTimeout(load, retry = Math.min(2 * retry, 3e5));
  };
  const boot = () =>
    Promise.all([bindgen({ module_or_path: wasm }), styled]).then(() => {
      // The calls that waited go in with the mount: its first render
      // already shows them (the click that loaded us opens the dialog).
      app = bindgen.mount(root, config, emit, queue);
      queue = [];
      // Not removed on a retry: the button must not move under the pointer.
      note?.remove();
      ready();
    }, (err) => {
      console.warn("earshot:", err);
      failed();
    });
  // The dialog's stylesheet comes with the app, which mounts once both are
  // in, so the dialog never shows unstyled. A file, not inline styles, so
  // hosts with a strict CSP only need to allow the collector in style-src.
  // The WebAssembly is fetched beside the glue, not after it (one round
  // trip less; it compiles as it streams in). What arrived is kept; a retry
  // fetches only what failed.
  const load = () => {
    if (loading) return;
    loading = 1;
    // The glue's request first: the first fetch() on a page spends 5-15 ms
    // before it returns, which would hold it back. The glue cannot run
    // before this returns, so `wasm` is set by the time it boots.
    // Imported, not a <script src>: a page enforcing Trusted Types refuses
    // a plain string there, and import() is no such sink. A failed import
    // stays failed for that URL, so each try asks for its own.
    if (!bindgen) import(base + "__APP__?" + tries++).catch(failed);
    if (!styled) {
      const css = el("link");
      styled = new Promise((resolve, reject) => {
        css.onload = resolve;
        css.onerror = () => { css.remove(); styled = 0; reject(); };
      });
      css.rel = "stylesheet";
      css.href = base + "__CSS__";
      root.appendChild(css);
    }
    wasm ||= fetch(base + "__WASM__");
    if (bindgen) boot();
  };
  // Calls before the app is ready wait in order; only opening loads it.
  const call = (method, arg, wake) => {
    if (app) return app(method, arg);
    queue.push([method, arg]);
    if (wake) load();
  };

  const api = (window.Earshot = {
    version: "__VERSION__",
    open: (options) => {
      if (!app && button) button.ariaBusy = true;
      call("open", options, 1);
    },
    on,
    // Called once by the app script; not part of the public API.
    __boot: (b) => {
      delete api.__boot;
      bindgen = b;
      boot();
    }
  });
  ["close", "identify", "setContext", "setStrings"].forEach((method) => {
    api[method] = (arg) => call(method, arg);
  });
  // A host may queue calls before this script runs:
  // window.Earshot = {q: [["identify", {...}], ["on", "submitted", fn]]}.
  (prior?.q || []).forEach((c) => {
    if (c[0] == "on") on(c[1], c[2]);
    else if (typeof api[c[0]] == "function") api[c[0]](c[1]);
  });

  if (data.mode != "manual") {
    layer = root.appendChild(el("div"));
    // Bottom right needs no class: it is where the layer sits by default.
    layer.className = "launcher-layer " + (/^(top|bottom)-(left|right)$/.test(data.position) ? data.position : "");
    // A manual popover renders in the top layer, above any z-index.
    layer.popover = "manual";
    button = layer.appendChild(el("button"));
    button.className = "launcher";
    button.part = "launcher";
    button.ariaHasPopup = "dialog";
    button.ariaExpanded = false;
    // German says "Feedback" too.
    button.textContent = data.label || { fr: "Votre avis", es: "Opinión", pt: "Opinião" }[lang] || "Feedback";
    button.onclick = () => api.open();
    button.onpointerenter = button.onfocus = load;
  }

  const start = () => {
    // Beside <body>, not in it: Turbo Drive replaces <body> on every
    // navigation and htmx's hx-boost swaps its content, which would take
    // the button (and an open dialog) with them.
    document.documentElement.appendChild(host);
    try { layer?.showPopover(); } catch {}
    // Something an earlier page could not send is still waiting.
    if (pending()) load();
  };
  if (document.readyState == "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
