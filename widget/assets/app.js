// Earshot's app script: wasm-bindgen's glue, which the collector's build
// fills in below, and the app's few duties on the host's side.
// The function around it keeps the glue's `wasm_bindgen` binding out of the
// host page's globals; the build minifies the whole.
(function () {
  "use strict";
  __GLUE__
  // The launcher's aria-expanded follows the dialog, and the dialog's size
  // divides by the host page's CSS zoom (--earshot-zoom in style.css), read
  // at each opening since the page may change it. Done here, beside the
  // app, not in the loader, whose every byte is paid on every page view,
  // nor in Rust: through web-sys the same calls cost 488 B of WebAssembly
  // (brotli), four times these lines. Through the CSSOM, which a strict CSP
  // allows (a style attribute it would not).
  const mount = wasm_bindgen.mount;
  wasm_bindgen.mount = (root, config, emit, waiting) => {
    const host = root.host;
    const launcher = root.querySelector(".launcher");
    const follow = (name, detail) => {
      if (name == "open") host.style.setProperty("--earshot-zoom", host.currentCSSZoom || 1);
      if (launcher && (name == "open" || name == "close")) launcher.ariaExpanded = name == "open";
      emit(name, detail);
    };
    return mount(root, config, follow, waiting);
  };
  // Hands itself to the loader, which mounts it.
  if (window.Earshot && window.Earshot.__boot) window.Earshot.__boot(wasm_bindgen);
})();
