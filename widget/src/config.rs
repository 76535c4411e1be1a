//! Configuration handed over by the loader.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WidgetConfig {
    /// Public site key from `data-site`.
    pub site: String,
    /// Base URL of the collector, ending in `/` (where `widget.js` came from).
    pub endpoint: String,
    /// `data-locale`, when the host chose the language.
    #[serde(default)]
    pub locale: Option<String>,
    /// The browser's context: read by [`crate::mount`], not sent by the
    /// loader.
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
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
        let c: WidgetConfig =
            serde_json::from_str(r#"{"site":"k","endpoint":"https://fb.example/earshot/"}"#)
                .unwrap();
        assert_eq!(
            c.feedback_url(),
            "https://fb.example/earshot/api/v1/feedback"
        );
        assert_eq!(c.locale, None);
    }
}
