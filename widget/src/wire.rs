//! The protocol's JSON shapes, read and written by hand (see `json`). The
//! tests below hold each to what the protocol's serde derives write and
//! accept, so the collector reads every request the widget sends.

use earshot_protocol::{
    ClientInfo, ErrorBody, FeedbackAccepted, FeedbackRequest, Kind, PageInfo, Severity,
};

use crate::json::{FromJson, Json, ToJson, whole};

impl ToJson for FeedbackRequest {
    fn to_json<J: Json>(&self) -> J {
        let mut out = J::object();
        out.set("site", J::string(&self.site));
        out.set("kind", J::string(self.kind.as_str()));
        out.set_text("message", self.message.as_deref());
        out.set_text("expected", self.expected.as_deref());
        out.set_text("actual", self.actual.as_deref());
        out.set_text("severity", self.severity.map(Severity::as_str));
        out.set_text("email", self.email.as_deref());
        out.set_text("name", self.name.as_deref());
        out.set("page", self.page.to_json());
        out.set("client", self.client.to_json());
        if let Some(context) = &self.context {
            let mut map = J::object();
            for (key, value) in context.iter() {
                map.set(key, J::string(value));
            }
            out.set("context", map);
        }
        out.set_text("idempotency_key", self.idempotency_key.as_deref());
        out.set_text("hp", self.hp.as_deref());
        if let Some(fill_ms) = self.fill_ms {
            // Milliseconds: far below 2^53, so exact as a JSON number.
            #[allow(clippy::cast_precision_loss)]
            out.set("fill_ms", J::number(fill_ms as f64));
        }
        out
    }
}

impl FromJson for FeedbackRequest {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        let context = value.get("context").map(|map| {
            map.members()
                .into_iter()
                .filter_map(|(key, value)| Some((key, value.as_text()?)))
                .collect()
        });
        Some(FeedbackRequest {
            site: value.text_at("site")?,
            kind: Kind::parse(&value.text_at("kind")?)?,
            message: value.text_at("message"),
            expected: value.text_at("expected"),
            actual: value.text_at("actual"),
            severity: value.text_at("severity").and_then(|s| Severity::parse(&s)),
            email: value.text_at("email"),
            name: value.text_at("name"),
            page: value
                .get("page")
                .and_then(|page| PageInfo::from_json(&page))
                .unwrap_or_default(),
            client: value
                .get("client")
                .and_then(|client| ClientInfo::from_json(&client))
                .unwrap_or_default(),
            context,
            idempotency_key: value.text_at("idempotency_key"),
            hp: value.text_at("hp"),
            fill_ms: value.number_at("fill_ms").and_then(whole),
        })
    }
}

impl ToJson for PageInfo {
    fn to_json<J: Json>(&self) -> J {
        let mut out = J::object();
        out.set_text("url", self.url.as_deref());
        out.set_text("title", self.title.as_deref());
        out.set_text("referrer", self.referrer.as_deref());
        out
    }
}

impl FromJson for PageInfo {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        Some(PageInfo {
            url: value.text_at("url"),
            title: value.text_at("title"),
            referrer: value.text_at("referrer"),
        })
    }
}

impl ToJson for ClientInfo {
    fn to_json<J: Json>(&self) -> J {
        let mut out = J::object();
        out.set_text("user_agent", self.user_agent.as_deref());
        out.set_text("language", self.language.as_deref());
        out.set_text("timezone", self.timezone.as_deref());
        out.set_text("viewport", self.viewport.as_deref());
        out
    }
}

impl FromJson for ClientInfo {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        Some(ClientInfo {
            user_agent: value.text_at("user_agent"),
            language: value.text_at("language"),
            timezone: value.text_at("timezone"),
            viewport: value.text_at("viewport"),
        })
    }
}

impl FromJson for FeedbackAccepted {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        Some(FeedbackAccepted {
            id: value.text_at("id")?,
            reference: value.text_at("reference")?,
            status_url: value.text_at("status_url")?,
            response_promise: value.text_at("response_promise"),
        })
    }
}

/// The body of every error answer: `{"error":{"code","message","field"}}`.
impl FromJson for ErrorBody {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        let error = value.get("error")?;
        Some(ErrorBody {
            code: error.text_at("code")?,
            message: error.text_at("message").unwrap_or_default(),
            field: error.text_at("field"),
        })
    }
}

#[cfg(test)]
mod tests {
    use earshot_protocol::ErrorResponse;
    use serde_json::Value;

    use super::*;

    fn full_request() -> FeedbackRequest {
        FeedbackRequest {
            site: "site_abc".into(),
            kind: Kind::Expectation,
            message: Some("Ünïcode \"quoted\" <b>".into()),
            expected: Some("Free shipping".into()),
            actual: Some("Charged".into()),
            severity: Some(Severity::Blocking),
            email: Some("ana@example.com".into()),
            name: Some("Ana".into()),
            page: PageInfo {
                url: Some("https://shop.example/".into()),
                title: Some("Shop".into()),
                referrer: Some("https://search.example/".into()),
            },
            client: ClientInfo {
                user_agent: Some("UA".into()),
                language: Some("de-DE".into()),
                timezone: Some("Europe/Berlin".into()),
                viewport: Some("1280x800".into()),
            },
            context: Some(
                // In key order: serde_json's `Value` keeps objects sorted.
                [
                    ("order".into(), "4711".into()),
                    ("plan".into(), "pro".into()),
                ]
                .into_iter()
                .collect(),
            ),
            idempotency_key: Some("0193a1b2-0000-7000-8000-000000000001".into()),
            hp: Some("bot".into()),
            fill_ms: Some(474_366_720_887),
        }
    }

    fn sparse_request() -> FeedbackRequest {
        FeedbackRequest {
            site: "s".into(),
            kind: Kind::Idea,
            message: Some("m".into()),
            expected: None,
            actual: None,
            severity: None,
            email: None,
            name: None,
            page: PageInfo::default(),
            client: ClientInfo::default(),
            context: None,
            idempotency_key: None,
            hp: None,
            fill_ms: None,
        }
    }

    #[test]
    fn requests_are_written_as_the_protocol_writes_them() {
        for request in [full_request(), sparse_request()] {
            let ours: Value = request.to_json();
            assert_eq!(ours, serde_json::to_value(&request).unwrap());
            // The collector's own reader (unknown fields refused) takes it.
            let read: FeedbackRequest = serde_json::from_value(ours.clone()).unwrap();
            assert_eq!(read, request);
            assert_eq!(FeedbackRequest::from_json(&ours), Some(request));
        }
    }

    #[test]
    fn a_request_missing_its_site_or_kind_is_not_read() {
        let mut value: Value = sparse_request().to_json();
        value["kind"] = Value::from("rant");
        assert_eq!(FeedbackRequest::from_json(&value), None);
        let mut value: Value = sparse_request().to_json();
        value.as_object_mut().unwrap().remove("site");
        assert_eq!(FeedbackRequest::from_json(&value), None);
    }

    #[test]
    fn null_reads_as_absent() {
        let value: Value = serde_json::from_str(
            r#"{"site":"s","kind":"idea","message":"m","page":null,"client":null,
            "severity":null,"email":null,"context":null,"fill_ms":null}"#,
        )
        .unwrap();
        assert_eq!(FeedbackRequest::from_json(&value), Some(sparse_request()));
    }

    #[test]
    fn answers_are_read_as_the_collector_writes_them() {
        let accepted = FeedbackAccepted {
            id: "0193a1b2".into(),
            reference: "ES-7K2Q".into(),
            status_url: "https://fb.example/s/1.secret".into(),
            response_promise: Some("We answer within a day".into()),
        };
        let value = serde_json::to_value(&accepted).unwrap();
        assert_eq!(FeedbackAccepted::from_json(&value), Some(accepted));
        let error = ErrorResponse {
            error: ErrorBody {
                code: "invalid_email".into(),
                message: "m".into(),
                field: Some("email".into()),
            },
        };
        let value = serde_json::to_value(&error).unwrap();
        assert_eq!(ErrorBody::from_json(&value), Some(error.error));
        let html = Value::String("<html>proxy</html>".into());
        assert_eq!(FeedbackAccepted::from_json(&html), None);
        assert_eq!(ErrorBody::from_json(&html), None);
    }
}
