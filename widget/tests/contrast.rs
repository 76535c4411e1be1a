//! WCAG AA contrast of the shipped stylesheets, light and dark: 4.5:1 for
//! text, 3:1 for the borders that show where a field is (1.4.11). Reads the
//! real `assets/style.css` and `assets/launcher.css`, so a colour change that
//! breaks it fails here.

// Helpers of a test: a stylesheet that cannot be read should fail it loudly.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

const CSS: &str = include_str!("../assets/style.css");
const LAUNCHER_CSS: &str = include_str!("../assets/launcher.css");

/// The custom properties of the first `.earshot {` block after `from` (a
/// `var(--x, #fallback)` counts as its fallback).
fn palette(from: usize) -> HashMap<String, String> {
    block_colours(CSS, from, ".earshot {")
}

/// The `#hex` colours of the first `selector` block of `css` after `from`:
/// custom properties by name, `color`, `background` by theirs.
fn block_colours(css: &str, from: usize, selector: &str) -> HashMap<String, String> {
    let start = css[from..].find(selector).unwrap() + from;
    let body = &css[start..start + css[start..].find('}').unwrap()];
    body.lines()
        .filter_map(|line| {
            let line = line.trim();
            let (name, value) = line.strip_prefix("--").unwrap_or(line).split_once(':')?;
            let value = value.trim().trim_end_matches(';');
            let hex = value.rsplit(' ').next()?.trim_end_matches(')');
            hex.starts_with('#')
                .then(|| (name.to_owned(), hex.to_owned()))
        })
        .collect()
}

fn luminance(hex: &str) -> f64 {
    // `#abc` is `#aabbcc`.
    let hex: String = if hex.len() == 4 {
        hex.chars().flat_map(|c| [c, c]).skip(1).collect()
    } else {
        hex.to_owned()
    };
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn text_and_field_borders_meet_wcag_aa_in_light_and_dark() {
    let dark_at = CSS.find("prefers-color-scheme: dark").unwrap();
    for (scheme, colours) in [("light", palette(0)), ("dark", palette(dark_at))] {
        assert_eq!(colours.len(), 7, "{scheme}: {colours:?}");
        for (fg, bg, min) in [
            ("ink", "paper", 4.5),
            ("muted", "paper", 4.5),
            ("danger", "paper", 4.5),
            ("accent", "paper", 4.5),
            ("accent-ink", "accent", 4.5),
            ("line", "paper", 3.0),
        ] {
            let ratio = contrast(&colours[fg], &colours[bg]);
            assert!(ratio >= min, "{scheme}: {fg} on {bg} is {ratio:.2}:1");
        }
    }
}

#[test]
fn the_launcher_and_its_unavailable_note_meet_wcag_aa() {
    let layer = block_colours(LAUNCHER_CSS, 0, ".launcher-layer {");
    let ratio = contrast(&layer["accent-ink"], &layer["accent"]);
    assert!(
        ratio >= 4.5,
        "button text on the default accent is {ratio:.2}:1"
    );
    let note = block_colours(LAUNCHER_CSS, 0, ".load-error {");
    let ratio = contrast(&note["color"], &note["background"]);
    assert!(ratio >= 4.5, "the unavailable note is {ratio:.2}:1");
}
