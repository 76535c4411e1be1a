//! Configuration handed over by the loader.

use crate::json::{FromJson, Json};

#[derive(Debug, Clone, PartialEq)]
pub struct WidgetConfig {
    /// Public site key from `data-site`.
    pub site: String,
    /// Base URL of the collector, ending in `/` (where `widget.js` came from).
    pub endpoint: String,
    /// `data-locale`, when the host chose the language.
    pub locale: Option<String>,
    /// The browser's language, read by [`crate::mount`] (not sent by the
    /// loader) to pick the widget's.
    pub language: Option<String>,
}

/// What the loader hands over: `{site, endpoint, locale?}`.
impl FromJson for WidgetConfig {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        Some(WidgetConfig {
            site: value.text_at("site")?,
            endpoint: value.text_at("endpoint")?,
            locale: value.text_at("locale"),
            language: None,
        })
    }
}

impl WidgetConfig {
    pub fn feedback_url(&self) -> String {
        format!("{}api/v1/feedback", self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_url_is_relative_to_the_loader_origin() {
        let value: serde_json::Value =
            serde_json::from_str(r#"{"site":"k","endpoint":"https://fb.example/earshot/"}"#)
                .unwrap();
        let c = WidgetConfig::from_json(&value).unwrap();
        assert_eq!(
            c.feedback_url(),
            "https://fb.example/earshot/api/v1/feedback"
        );
        assert_eq!(c.locale, None);
    }

    #[test]
    fn a_configuration_without_site_or_endpoint_is_refused() {
        for raw in [
            r#"{"site":"k"}"#,
            r#"{"endpoint":"https://fb.example/"}"#,
            "null",
        ] {
            let value: serde_json::Value = serde_json::from_str(raw).unwrap();
            assert_eq!(WidgetConfig::from_json(&value), None, "{raw}");
        }
        let value: serde_json::Value =
            serde_json::from_str(r#"{"site":"k","endpoint":"e/","locale":"de"}"#).unwrap();
        assert_eq!(
            WidgetConfig::from_json(&value).unwrap().locale.as_deref(),
            Some("de")
        );
    }
}
