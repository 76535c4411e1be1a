//! The widget's weight on a host page, and a ratchet that keeps it there.
//!
//! `cargo test -p earshot-collector --test api widget_size -- --nocapture`
//! prints the report. The ceilings are the sizes reached so far (plus a
//! little slack for compiler noise): lower them when the widget shrinks,
//! never raise them without saying why in the change.

use earshot_collector::assets;

/// Ratchet for what a page fetches before anyone reaches for the button:
/// the loader alone, the launcher's rules inside it (brotli). The goal is
/// 2 KB, met since as 2,000 B too: never raise it. 2,160 at first; raised by 60 B
/// for fetching the WebAssembly beside the glue (a round trip less: 2.1 s
/// to 1.5 s on Fast 3G) and for retrying when an earlier page's submission
/// waits and the app could not load; lowered to the goal by choosing the
/// text colour on the accent in CSS (relative colours) instead of in
/// script, and a plainer "unavailable" note; 2,021 since the three files
/// it names share one version hash (brotli stores its random digits once,
/// not three times); 2,045 since it also starts from `type="module"` tags
/// (26 B, less 6 for a shorter console warning). Those random digits moved
/// it by up to 19 B from build to build (median 2,048), so any change to
/// the widget could tip it over: the build now takes, of 32 hashes of the
/// same content, the one whose loader compresses smallest (2,044 here;
/// 2,043 to 2,045 over 60 simulated contents). Lowered to 1,970 (measured
/// 1,965) by handing the launcher's aria-expanded and the dialog's zoom to
/// the app's script (app.js), which does them as the dialog opens and
/// closes (35 B), placing the corners with plain `top`/`right`/`bottom`/
/// `left` instead of four custom properties and an `inset` of them (31 B),
/// and dropping what did nothing: `display: block` on a host that fixed
/// positioning already makes a block, a copy of the listeners before
/// calling them (forEach never reaches those added meanwhile), a German
/// label equal to the default.
const BEFORE_CLICK_BR_MAX: usize = 1_970;
/// Ratchet for everything fetched once the dialog opens (brotli). The goal
/// is 50 KB; see README ("Widget size") for where the bytes go. Raised by
/// 1 KB for every error shown at once with focus moved to it, the folded
/// details, and two strings in five languages (honest origin refusals);
/// lowered to 149,500 by minifying the glue and splitting the launcher's
/// styles into the loader, then to 141,000 by reading and writing JSON with
/// the browser's own `JSON` instead of serde_json, then to 119,000 by
/// reading and writing that JSON by hand instead of through serde's derives
/// (19 KB) and sending the host's context as a list, not a sorted map; then
/// to 109,500 by compiling yew's tracing out of the WebAssembly (9.9 KB).
/// Raised to 109,600 (measured 109,551, from 109,202) for building the
/// folded email, name and screenshot fields when they first unfold instead
/// of with the form: 350 B for about 20 ms less CPU in a profiled cold
/// click (rendering and the dialog's first layout). Raised to 110,000
/// (measured 109,992) for telling a customer whose browser refuses storage
/// to keep the page open instead of calling the message kept on the
/// device: two strings in five languages and the flag that picks them.
/// A dialog in the host's own language (its `lang` a string the host sets
/// like any other, its direction that of its words) cost 78 B, and reading
/// the host's objects through the JSON reader instead of a second copy of
/// it saved 186 B: measured 109,868, then 109,904 with no change to the
/// widget (code generation moves with the crates around it), and
/// 109,953 after the dependencies' patch releases of 2026-12-06, so the
/// ratchet stays at 110,000. 109,990 since the app's script keeps the
/// launcher's aria-expanded and the dialog's zoom in step (+116 B of
/// glue, less 79 B of loader): every page view pays 79 B less, every
/// opening 37 B more. In Rust the same calls cost 488 B of WebAssembly.
/// Lowered to 108,000 (measured 107,828) by allocating with talc instead
/// of Rust's default dlmalloc (2,161 B less), then to 106,700 (measured
/// 106,550) by filling in a string's `{n}` and cleaning a customer's line
/// endings without searching for a string (the two-way search, 1.3 KB),
/// and listing the host's context keys without `join`.
const OPENED_BR_MAX: usize = 106_700;

#[test]
fn widget_size_stays_within_its_budget() {
    // What is served: compressed once at build time (brotli 11, gzip 9).
    let parts = [
        (
            "loader (widget.js, with the launcher's styles)",
            assets::LOADER_JS_SERVED,
        ),
        ("dialog stylesheet", assets::CSS_SERVED),
        ("glue (app.js)", assets::APP_JS_SERVED),
        ("wasm", assets::WASM_SERVED),
    ];
    println!("| part | raw | gzip -9 | brotli -q 11 |");
    println!("|---|---|---|---|");
    let mut opened_br = 0;
    let mut loader_br = 0;
    for (name, asset) in parts {
        let br = asset.br.len();
        println!(
            "| {name} | {} | {} | {br} |",
            asset.identity.len(),
            asset.gzip.len()
        );
        opened_br += br;
        if name.starts_with("loader") {
            loader_br = br;
        }
    }
    println!("| once opened (all four) | | | {opened_br} |");
    assert!(
        loader_br <= BEFORE_CLICK_BR_MAX,
        "the loader is {loader_br} B brotli, over the {BEFORE_CLICK_BR_MAX} B ratchet"
    );
    assert!(
        opened_br <= OPENED_BR_MAX,
        "the opened widget is {opened_br} B brotli, over the {OPENED_BR_MAX} B ratchet"
    );
}
