//! The languages Earshot speaks to customers (the widget's five), and
//! which one a customer gets: their entry's language where it has one (the
//! browser's tag, sent by the widget), else what their browser accepts.

/// A language the customer-facing pages and emails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    De,
    Fr,
    Es,
    Pt,
}

impl Language {
    /// The language of a browser's tag (`pt-BR`: Portuguese), if spoken.
    pub fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::En),
            "de" => Some(Language::De),
            "fr" => Some(Language::Fr),
            "es" => Some(Language::Es),
            "pt" => Some(Language::Pt),
            _ => None,
        }
    }

    /// An entry's language, from the tag stored with it; English when it
    /// has none or one not spoken.
    pub fn of_entry(tag: Option<&str>) -> Language {
        tag.and_then(Language::of_tag).unwrap_or(Language::En)
    }

    /// The browser's most preferred language that is spoken, from its
    /// `Accept-Language` (`de-CH, fr;q=0.8`); English when none is.
    pub fn accepted(accept_language: Option<&str>) -> Language {
        let mut ranked: Vec<(f32, Language)> = accept_language
            .unwrap_or_default()
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let language = Language::of_tag(parts.next()?)?;
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (q > 0.0).then_some((q, language))
            })
            .collect();
        // Stable: among equal weights the browser's order stands.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked
            .first()
            .map_or(Language::En, |(_, language)| *language)
    }

    /// Its code for `lang` attributes and `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::De => "de",
            Language::Fr => "fr",
            Language::Es => "es",
            Language::Pt => "pt",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entrys_language_comes_from_its_browser_tag() {
        assert_eq!(Language::of_entry(Some("pt-BR")), Language::Pt);
        assert_eq!(Language::of_entry(Some("de_AT")), Language::De);
        assert_eq!(Language::of_entry(Some("ja-JP")), Language::En);
        assert_eq!(Language::of_entry(None), Language::En);
    }

    #[test]
    fn the_most_preferred_language_spoken_is_chosen() {
        let pick = |header| Language::accepted(Some(header));
        assert_eq!(pick("de-CH,de;q=0.9,en;q=0.8"), Language::De);
        assert_eq!(pick("ja, fr;q=0.5, en;q=0.4"), Language::Fr);
        assert_eq!(pick("en;q=0.5, pt-BR"), Language::Pt);
        assert_eq!(pick("es;q=0.7, de;q=0.7"), Language::Es);
    }

    #[test]
    fn english_when_nothing_spoken_is_acceptable() {
        let pick = |header| Language::accepted(Some(header));
        assert_eq!(pick("ja, zh;q=0.9"), Language::En);
        assert_eq!(pick("de;q=0, *"), Language::En);
        assert_eq!(pick("fr;q=abc"), Language::En);
        assert_eq!(pick(""), Language::En);
        assert_eq!(Language::accepted(None), Language::En);
    }
}
