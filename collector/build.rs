//! Builds the widget to WebAssembly, binds it with wasm-bindgen and embeds
//! the result (content-hashed) into the collector binary, so `cargo run`
//! alone gives a server that serves its own widget.
//!
//! The nested cargo build uses its own target directory and a cleaned
//! environment: sharing the outer target dir deadlocks on its lock, and the
//! outer build's RUSTFLAGS/target/profile overrides are wrong for wasm32.

// A build step that cannot produce the widget must stop the build loudly.
#![allow(clippy::expect_used)]

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const WASM_PROFILE: &str = "wasm-release";

/// Variables of the outer build that must not reach the nested one.
const SCRUBBED_ENV: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("collector lives inside the workspace")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    for watched in [
        "widget/src",
        "widget/assets",
        "widget/Cargo.toml",
        "protocol/src",
        "protocol/Cargo.toml",
        "Cargo.toml",
        "Cargo.lock",
        "collector/static/page.css",
        "collector/static/console.css",
        "collector/static/console.js",
        "collector/static/local-time.js",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=EARSHOT_WIDGET_TARGET_DIR");

    let target_dir = env::var_os("EARSHOT_WIDGET_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("widget"));
    // Fuzz builds (`cargo +nightly fuzz`) exercise the request parser only;
    // the nightly toolchain they use has no wasm32 target, so embed
    // placeholders instead of the widget.
    let (glue, wasm_bytes) = if env::var_os("CARGO_CFG_FUZZING").is_some() {
        ("let wasm_bindgen = {};".to_owned(), b"\0asm".to_vec())
    } else {
        ensure_wasm_target();
        let wasm = build_widget(&root, &target_dir);
        let bindgen_dir = out_dir.join("bindgen");
        bindgen(&wasm, &bindgen_dir);
        let glue = fs::read_to_string(bindgen_dir.join("earshot_widget.js"))
            .expect("wasm-bindgen wrote the glue");
        let wasm_bytes = fs::read(bindgen_dir.join("earshot_widget_bg.wasm"))
            .expect("wasm-bindgen wrote the module");
        (glue, wasm_bytes)
    };
    // The glue inside the app's own script (widget/assets/app.js), which
    // keeps its `wasm_bindgen` binding out of the host page's globals.
    let app = minify_js(
        "app.js",
        &fs::read_to_string(root.join("widget/assets/app.js"))
            .expect("widget/assets/app.js exists")
            .replace("__GLUE__", &glue),
    );
    let css = minify_css(
        &fs::read_to_string(root.join("widget/assets/style.css"))
            .expect("widget/assets/style.css exists"),
    );
    let launcher_css = minify_css(
        &fs::read_to_string(root.join("widget/assets/launcher.css"))
            .expect("widget/assets/launcher.css exists"),
    );

    let assets_dir = out_dir.join("assets");
    fs::create_dir_all(&assets_dir).expect("create OUT_DIR/assets");
    // One version for the three files the loader names: they change
    // together (a release), and the loader, fetched on every page of every
    // host site, then carries one hash three times, which brotli stores
    // once, instead of three.
    //
    // Its twelve random digits are the loader's least compressible bytes,
    // and which digits they are moves the loader's brotli size by up to
    // 19 B (2,043 to 2,062 over 300 builds, median 2,048: the goal itself,
    // so every other change to the widget could tip it over). Any hash of
    // this content names it as well as another, so the build hashes it
    // with each of a few counters and keeps the version whose loader
    // compresses smallest: still a content hash (caching stays right), and
    // the same choice every time (2,043 to 2,045 over 60 contents with 32
    // counters).
    let loader_source = fs::read_to_string(root.join("widget/assets/loader.js"))
        .expect("widget/assets/loader.js exists");
    let (version, loader) = (0..VERSION_CANDIDATES)
        .map(|n| {
            let version = short_hash(&[app.as_bytes(), &wasm_bytes, css.as_bytes(), &[n]]);
            let loader = loader_for(&loader_source, &launcher_css, &version);
            (version, loader)
        })
        .min_by_key(|(_, loader)| brotli(loader.as_bytes()).len())
        .expect("at least one candidate");
    let [app_name, wasm_name, css_name] = asset_names(&version);

    let page_css = minify_css(
        &fs::read_to_string(manifest_dir.join("static/page.css")).expect("static/page.css exists"),
    );
    let console_css = minify_css(
        &fs::read_to_string(manifest_dir.join("static/console.css"))
            .expect("static/console.css exists"),
    );
    let local_time = fs::read_to_string(manifest_dir.join("static/local-time.js"))
        .expect("static/local-time.js exists");
    // One script for the console: the status pages' few lines first.
    let console_js = minify_js(
        "console.js",
        &(local_time.clone()
            + &fs::read_to_string(manifest_dir.join("static/console.js"))
                .expect("static/console.js exists")),
    );
    let local_time_js = minify_js("local-time.js", &local_time);

    let mut generated = String::new();
    let _ = writeln!(generated, "// Generated by collector/build.rs.");
    for (konst, name) in [
        ("APP_JS_NAME", &app_name),
        ("WASM_NAME", &wasm_name),
        ("CSS_NAME", &css_name),
    ] {
        let _ = writeln!(generated, "pub const {konst}: &str = {name:?};");
    }
    // (constant, file, bytes, text or binary)
    let files: [(&str, &str, Vec<u8>, bool); 8] = [
        ("LOADER_JS", "loader.js", loader.into_bytes(), true),
        ("APP_JS", "app.js", app.into_bytes(), true),
        ("WASM", "widget.wasm", wasm_bytes, false),
        ("CSS", "widget.css", css.into_bytes(), true),
        ("PAGE_CSS", "page.css", page_css.into_bytes(), true),
        ("CONSOLE_CSS", "console.css", console_css.into_bytes(), true),
        ("CONSOLE_JS", "console.js", console_js.into_bytes(), true),
        (
            "LOCAL_TIME_JS",
            "local-time.js",
            local_time_js.into_bytes(),
            true,
        ),
    ];
    for (konst, file, bytes, is_text) in files {
        let path = assets_dir.join(file);
        fs::write(&path, &bytes).expect("write an asset");
        let (br, gzip) = precompress(&path, &bytes);
        let quoted = |p: &Path| format!("{:?}", p.display().to_string());
        let (ty, mac, as_bytes) = if is_text {
            ("str", "include_str", ".as_bytes()")
        } else {
            ("[u8]", "include_bytes", "")
        };
        let etag: String = Sha256::digest(&bytes)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(
            generated,
            "pub const {konst}: &{ty} = {mac}!({});",
            quoted(&path)
        );
        let _ = writeln!(
            generated,
            "pub const {konst}_SERVED: Asset = Asset {{ identity: {konst}{as_bytes}, br: include_bytes!({}), gzip: include_bytes!({}), etag: {:?} }};",
            quoted(&br),
            quoted(&gzip),
            format!("\"{etag}\""),
        );
    }
    fs::write(out_dir.join("widget_assets.rs"), generated).expect("write widget_assets.rs");
}

/// The widget needs the toolchain's wasm32 standard library. rustup adds
/// the targets `rust-toolchain.toml` lists only when it installs the
/// toolchain, not to one already installed: detect that before the nested
/// build, add it when rustup is here (saying so), else stop with the fix.
fn ensure_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = |root: &Path| {
        root.join("lib/rustlib")
            .join(WASM_TARGET)
            .join("lib")
            .is_dir()
    };
    let Some(sysroot) = sysroot else {
        return;
    };
    if installed(&sysroot) {
        return;
    }
    let fix = format!("rustup target add {WASM_TARGET}");
    println!(
        "cargo:warning=the {WASM_TARGET} target is missing from this toolchain; running `{fix}`"
    );
    let added = Command::new("rustup")
        .args(["target", "add", WASM_TARGET])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        added && installed(&sysroot),
        "the widget is built for {WASM_TARGET}, which this toolchain ({}) lacks. Install it with `{fix}` (or your distribution's rust-std for {WASM_TARGET}), then build again.",
        sysroot.display()
    );
}

/// `--remap-path-prefix` flags that cut the builder's directories (the
/// crate registry, git checkouts, this workspace) out of the panic
/// locations compiled into the widget: every visitor downloads them, and
/// they said where and by whom the widget was built. `yew-0.23.0/src/…`
/// still names the place.
fn remapped_paths(root: &Path) -> Vec<String> {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let mut prefixes = vec![format!("{}/", root.display())];
    if let Some(cargo_home) = cargo_home {
        let registries = fs::read_dir(cargo_home.join("registry/src"));
        for registry in registries.into_iter().flatten().flatten() {
            prefixes.push(format!("{}/", registry.path().display()));
        }
        prefixes.push(format!("{}/", cargo_home.join("git/checkouts").display()));
    }
    prefixes
        .into_iter()
        .map(|prefix| format!("--remap-path-prefix={prefix}="))
        .collect()
}

fn build_widget(root: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--package", "earshot-widget", "--lib"])
        .args(["--target", WASM_TARGET, "--profile", WASM_PROFILE])
        .arg("--target-dir")
        .arg(target_dir)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"));
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_TARGET_") && key.ends_with("_RUSTFLAGS")
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", remapped_paths(root).join("\x1f"));
    let status = cmd.status().expect("run cargo for the widget");
    assert!(
        status.success(),
        "building the widget for {WASM_TARGET} failed (is the target installed? `rustup target add {WASM_TARGET}`)"
    );
    target_dir
        .join(WASM_TARGET)
        .join(WASM_PROFILE)
        .join("earshot_widget.wasm")
}

fn bindgen(wasm: &Path, out: &Path) {
    let _ = fs::remove_dir_all(out);
    fs::create_dir_all(out).expect("create bindgen dir");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .no_modules(true)
        .expect("no-modules output is supported")
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate(out)
        .expect("wasm-bindgen");
}

/// Versions the build chooses the loader's from (see `main`).
const VERSION_CANDIDATES: u8 = 32;

/// The widget's glue, module and stylesheet as named at `version`.
fn asset_names(version: &str) -> [String; 3] {
    [
        format!("earshot-app.{version}.js"),
        format!("earshot.{version}.wasm"),
        format!("earshot.{version}.css"),
    ]
}

/// The loader as served, naming the widget's files at `version`.
fn loader_for(source: &str, launcher_css: &str, version: &str) -> String {
    let [app, wasm, css] = asset_names(version);
    let loader = source
        .replace("__LAUNCHER_CSS__", &js_string(launcher_css))
        .replace("__APP__", &format!("widget/{app}"))
        .replace("__WASM__", &format!("widget/{wasm}"))
        .replace("__CSS__", &format!("widget/{css}"))
        .replace(
            "__VERSION__",
            &env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        );
    minify_js("loader.js", &loader)
}

/// `bytes` at brotli quality 11, its most thorough.
fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut br = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &bytes[..], &mut br, &params).expect("brotli compresses");
    br
}

/// Writes `<path>.br` (brotli quality 11, its most thorough) and
/// `<path>.gz` (gzip level 9) beside the asset; returns their paths.
fn precompress(path: &Path, bytes: &[u8]) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(ext);
        PathBuf::from(name)
    };
    let br = brotli(bytes);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes).expect("gzip compresses");
    let gzip = gzip.finish().expect("gzip compresses");
    let (br_path, gzip_path) = (with(".br"), with(".gz"));
    fs::write(&br_path, br).expect("write .br");
    fs::write(&gzip_path, gzip).expect("write .gz");
    (br_path, gzip_path)
}

fn short_hash(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        // Each part's length first, so moving bytes from one file to the
        // next still changes the hash.
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Minifies a script (oxc: compress and mangle). The loader runs on every
/// page of every host site and the glue on every opening, so their bytes
/// are worth a real minifier; a `/*! … */` first line (the loader's notice)
/// is kept.
fn minify_js(name: &str, source: &str) -> String {
    use oxc_allocator::Allocator;
    use oxc_codegen::{Codegen, CodegenOptions};
    use oxc_minifier::{Minifier, MinifierOptions};
    use oxc_parser::Parser;
    use oxc_span::SourceType;

    let allocator = Allocator::default();
    // Classic scripts, not modules: the loader is a plain <script>.
    let parsed = Parser::new(&allocator, source, SourceType::cjs()).parse();
    assert!(
        !parsed.diagnostics.has_errors() && !parsed.panicked,
        "{name} does not parse: {:?}",
        parsed.diagnostics.errors().collect::<Vec<_>>()
    );
    let mut program = parsed.program;
    let minified = Minifier::new(MinifierOptions::default()).minify(&allocator, &mut program);
    let code = Codegen::new()
        .with_options(CodegenOptions::minify())
        .with_scoping(minified.scoping)
        .build(&program)
        .code;
    match source.lines().next() {
        Some(notice) if notice.starts_with("/*!") && notice.ends_with("*/") => {
            format!("{notice}\n{code}")
        }
        _ => code,
    }
}

/// Minifies our own stylesheets: comments go, whitespace shrinks to what
/// the syntax needs. Not a general CSS minifier: it relies on what these
/// files never contain (strings or `url()`s with significant spaces or
/// `/*`, a descendant combinator before a pseudo-class such as `a :hover`),
/// and the end-to-end tests render the result.
fn minify_css(source: &str) -> String {
    let mut without_comments = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("/*") {
        without_comments.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("a CSS comment is closed");
        rest = &rest[start + end + 2..];
        without_comments.push(' ');
    }
    without_comments.push_str(rest);
    let mut out = String::with_capacity(without_comments.len());
    for word in without_comments.split_whitespace() {
        let tight = |c: char| matches!(c, '{' | '}' | ';' | ',' | ':' | '>');
        let joins = out.ends_with(tight) || word.starts_with(|c| tight(c) && c != ':' || c == '!');
        if !out.is_empty() && !joins {
            out.push(' ');
        }
        out.push_str(word);
    }
    // `0.5` is `.5`; only after a separator, so `10.5` stays.
    let mut out = out.replace(";}", "}");
    for sep in [":", " ", ",", "("] {
        out = out.replace(&format!("{sep}0."), &format!("{sep}."));
    }
    out
}

/// `text` as a JavaScript string literal.
fn js_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
