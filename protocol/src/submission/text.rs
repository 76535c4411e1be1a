//! Customer-written text and the characters it may hold.

use super::{Field, Problem, ValidationError};

/// Customer-written text: trimmed, control characters removed (line breaks
/// and tabs kept where the field is multi-line), with at least one visible
/// character, within its limit. The limit counts the characters as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub(super) String);

impl Text {
    /// `Ok(None)` when the input is absent or has nothing visible in it.
    /// Also how the collector reads what a customer writes elsewhere (a
    /// follow-up from the status page).
    pub fn parse(
        raw: Option<&str>,
        field: Field,
        max: usize,
        multiline: bool,
    ) -> Result<Option<Text>, ValidationError> {
        let Some(raw) = raw else { return Ok(None) };
        if raw.chars().count() > max {
            return Err(ValidationError::new(field, Problem::TooLong { max }));
        }
        if !has_visible(raw) {
            return Ok(None);
        }
        Ok(Some(Text(clean(raw, multiline))))
    }

    pub(super) fn required(
        raw: Option<&str>,
        field: Field,
        max: usize,
        multiline: bool,
    ) -> Result<Text, ValidationError> {
        Text::parse(raw, field, max, multiline)?
            .ok_or(ValidationError::new(field, Problem::Required))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Drops control characters (keeping `\n` and `\t` in multi-line text),
/// so stored text renders the same everywhere. A `\r` is one of them:
/// `\r\n` becomes `\n` without a search for the pair.
fn clean(raw: &str, multiline: bool) -> String {
    let keep = |c: char| {
        (multiline && (c == '\n' || c == '\t')) || (!c.is_control() && !is_invisible_format(c))
    };
    // Nearly all text is already clean: one copy instead of three.
    if raw.chars().all(keep) {
        return raw.trim().to_owned();
    }
    let kept: String = raw.chars().filter(|&c| keep(c)).collect();
    kept.trim().to_owned()
}

/// Bidi overrides and similar characters that can disguise text for staff.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Control characters (Unicode category Cc).
pub const CONTROL: &[(char, char)] = &[('\u{0}', '\u{1F}'), ('\u{7F}', '\u{9F}')];

/// White space as `str::trim` removes it (the Unicode White_Space
/// property), beyond the control characters it includes.
pub const WHITE_SPACE: &[(char, char)] = &[
    ('\t', '\r'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{A0}', '\u{A0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200A}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202F}', '\u{202F}'),
    ('\u{205F}', '\u{205F}'),
    ('\u{3000}', '\u{3000}'),
];

/// Characters that draw nothing on their own: format characters (zero
/// width spaces and joiners, bidi marks, word joiners, the byte-order mark),
/// fillers and variation selectors.
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{AD}', '\u{AD}'),
    ('\u{34F}', '\u{34F}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
];

pub(super) fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|&(from, to)| (from..=to).contains(&c))
}

/// Whether `text` shows anything: a field made only of spaces, control
/// and invisible characters is treated as empty.
pub fn has_visible(text: &str) -> bool {
    text.chars()
        .any(|c| !in_ranges(c, CONTROL) && !in_ranges(c, WHITE_SPACE) && !in_ranges(c, INVISIBLE))
}

/// Whether `c` is white space or a control character.
pub(super) fn is_space_or_control(c: char) -> bool {
    in_ranges(c, CONTROL) || in_ranges(c, WHITE_SPACE)
}
