//! JSON shapes on the wire. Unknown fields are rejected so a typo in a host
//! integration fails loudly instead of silently dropping data. Objects are
//! read only from JSON objects (serde's derive would also take an array of
//! the fields in order), and `null` means absent for every optional field.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Implements `Serialize` and an objects-only `Deserialize` for a struct
/// whose derives use `#[serde(remote = "Self")]` (they become inherent
/// functions the trait implementations call).
macro_rules! objects_only {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $name::serialize(self, serializer)
            }
        }

        crate::deserialize_objects_only!($name);
    };
}

/// Implements a `Deserialize` that reads the struct `$name` only from a
/// JSON object, for a struct whose `Deserialize` derive uses
/// `#[serde(remote = "Self")]` (serde's own would also take an array of
/// the fields in order, so `["resolved"]` would pass for
/// `{"status":"resolved"}`). For the wire's shapes, and exported for the
/// collector's own request bodies, so every body is read by one rule.
#[macro_export]
macro_rules! deserialize_objects_only {
    ($name:ident) => {
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                deserializer.deserialize_map($crate::wire::ObjectVisitor::<$name>(
                    ::core::marker::PhantomData,
                ))
            }
        }

        impl $crate::wire::FromObject for $name {
            fn from_object<'de, A: ::serde::de::MapAccess<'de>>(
                map: A,
            ) -> ::core::result::Result<Self, A::Error> {
                $name::deserialize(::serde::de::value::MapAccessDeserializer::new(map))
            }
        }
    };
}

/// What [`deserialize_objects_only!`] builds on; not for direct use.
#[doc(hidden)]
pub trait FromObject: Sized {
    fn from_object<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// What [`deserialize_objects_only!`] builds on; not for direct use.
#[doc(hidden)]
pub struct ObjectVisitor<T>(pub PhantomData<T>);

impl<'de, T: FromObject> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_object(map)
    }
}

/// The largest whole number every JSON reader holds exactly (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// A whole number from 0 to [`MAX_SAFE_INTEGER`], written with or without
/// a fraction of zero (`5` or `5.0`, as JSON Schema's `integer` allows), or
/// `null` for absent.
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct Whole;

    impl<'de> Visitor<'de> for Whole {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number from 0 to 2^53 - 1")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Option<u64>, E> {
            Ok(None)
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Option<u64>, E> {
            if v <= MAX_SAFE_INTEGER {
                Ok(Some(v))
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Option<u64>, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
            }
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Option<u64>, E> {
            // Exact: every whole f64 up to 2^53 converts without rounding.
            if v.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER as f64).contains(&v) {
                Ok(Some(v as u64))
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
    }

    deserializer.deserialize_any(Whole)
}

/// `null` reads as the default, like an absent field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What the customer wants to tell us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Something went wrong.
    Complaint,
    /// "I expected X, but Y happened."
    Expectation,
    Idea,
    Praise,
    Question,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Complaint,
        Kind::Expectation,
        Kind::Idea,
        Kind::Praise,
        Kind::Question,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Complaint => "complaint",
            Kind::Expectation => "expectation",
            Kind::Idea => "idea",
            Kind::Praise => "praise",
            Kind::Question => "question",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Whether the customer is asked how much it affects them: an idea or
    /// praise is not a problem, and a "blocking" one must not page staff.
    pub fn takes_severity(self) -> bool {
        matches!(self, Kind::Complaint | Kind::Expectation | Kind::Question)
    }
}

/// How much the problem affects the customer, in their own estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Annoying,
    Blocking,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Minor, Severity::Annoying, Severity::Blocking];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Annoying => "annoying",
            Severity::Blocking => "blocking",
        }
    }

    pub fn parse(raw: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// `POST /api/v1/feedback` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct FeedbackRequest {
    /// Public key of the site the widget is embedded in.
    pub site: String,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// How the customer would like to be addressed in a reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub page: PageInfo,
    #[serde(default, deserialize_with = "null_as_default")]
    pub client: ClientInfo,
    /// What the host page adds through `Earshot.setContext`, such as a plan
    /// or an order number: string keys and values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextMap>,
    /// Client-generated key; a retry with the same key for the same site
    /// returns the original entry instead of creating a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Honeypot: a field people never see. Anything in it marks a bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hp: Option<String>,
    /// Milliseconds between opening the form and sending it, as measured by
    /// the widget. Implausibly fast submissions are kept but marked as spam.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pub fill_ms: Option<u64>,
}

objects_only!(FeedbackRequest);

/// `context` on the wire: a JSON object of string keys and values, in the
/// order written. A list, not a `BTreeMap`: the widget pays for every
/// collection it compiles in, and sorted maps cost it 8 KB. Kept as read
/// (duplicate keys too); `HostContext::parse` counts, orders and settles
/// duplicates (the last wins, as in a JSON reader's map).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextMap(Vec<(String, String)>);

impl ContextMap {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `key` (its last, if written more than once).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl FromIterator<(String, String)> for ContextMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(entries: I) -> Self {
        ContextMap(entries.into_iter().collect())
    }
}

impl Serialize for ContextMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ContextMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;

        impl<'de> Visitor<'de> for Entries {
            type Value = ContextMap;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContextMap, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    entries.push(entry);
                }
                Ok(ContextMap(entries))
            }
        }

        deserializer.deserialize_map(Entries)
    }
}

/// Where the customer was when they wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct PageInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

objects_only!(PageInfo);

/// What the customer's browser told us about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
pub struct ClientInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewport: Option<String>,
}

objects_only!(ClientInfo);

/// `201 Created` (or `200 OK` for an idempotent replay) response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackAccepted {
    pub id: String,
    /// Short, human-friendly reference the customer can quote.
    pub reference: String,
    /// Private page where the customer can follow what happens.
    pub status_url: String,
    /// What the site promises about answering, e.g. "We answer within 1
    /// business day", when it has set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_promise: Option<String>,
}

/// Every API error has this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable code (`required`, `too_long`, …).
    pub code: String,
    /// Human-readable explanation in English.
    pub message: String,
    /// Dotted path of the offending field (`page.url`), when there is one.
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_only_from_objects() {
        let positional = r#"["site_abc","idea","positional"]"#;
        assert!(serde_json::from_str::<FeedbackRequest>(positional).is_err());
        let page_array = r#"{"site":"s","kind":"idea","message":"m","page":["https://a.example"]}"#;
        assert!(serde_json::from_str::<FeedbackRequest>(page_array).is_err());
        let client_array = r#"{"site":"s","kind":"idea","message":"m","client":["ua"]}"#;
        assert!(serde_json::from_str::<FeedbackRequest>(client_array).is_err());
    }

    #[test]
    fn null_means_absent_for_every_optional_field() {
        let body = r#"{"site":"s","kind":"idea","message":"m","page":null,"client":null,
            "severity":null,"email":null,"name":null,"context":null,"idempotency_key":null,
            "hp":null,"fill_ms":null,"expected":null,"actual":null}"#;
        let request: FeedbackRequest = serde_json::from_str(body).unwrap();
        assert_eq!(request.page, PageInfo::default());
        assert_eq!(request.client, ClientInfo::default());
        assert_eq!(request.email, None);
        let page = r#"{"site":"s","kind":"idea","message":"m","page":{"url":null,"title":null,"referrer":null}}"#;
        assert!(serde_json::from_str::<FeedbackRequest>(page).is_ok());
    }

    #[test]
    fn fill_time_is_a_whole_number_written_either_way() {
        let fill = |raw: &str| {
            let body = format!(r#"{{"site":"s","kind":"idea","message":"m","fill_ms":{raw}}}"#);
            serde_json::from_str::<FeedbackRequest>(&body).map(|r| r.fill_ms)
        };
        assert_eq!(fill("4000").unwrap(), Some(4_000));
        assert_eq!(fill("474366720887.0").unwrap(), Some(474_366_720_887));
        assert_eq!(fill("null").unwrap(), None);
        assert_eq!(fill("9007199254740991").unwrap(), Some(MAX_SAFE_INTEGER));
        for bad in ["1.5", "-1", "9007199254740992", "1e300", "\"5\""] {
            assert!(fill(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn context_is_an_object_of_strings_kept_in_order() {
        let body = r#"{"site":"s","kind":"idea","message":"m","context":{"plan":"pro","a":"1","plan":"max"}}"#;
        let request: FeedbackRequest = serde_json::from_str(body).unwrap();
        let context = request.context.clone().unwrap();
        assert_eq!(
            context.iter().collect::<Vec<_>>(),
            vec![("plan", "pro"), ("a", "1"), ("plan", "max")]
        );
        assert_eq!(context.get("plan"), Some("max"));
        assert_eq!(context.get("none"), None);
        let json = serde_json::to_string(&request).unwrap();
        assert!(
            json.contains(r#""context":{"plan":"pro","a":"1","plan":"max"}"#),
            "{json}"
        );
        for bad in [r#"["a","b"]"#, r#"{"a":1}"#, r#"{"a":null}"#, r#""a""#] {
            let body = format!(r#"{{"site":"s","kind":"idea","message":"m","context":{bad}}}"#);
            assert!(
                serde_json::from_str::<FeedbackRequest>(&body).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_request_survives_a_round_trip() {
        let request = FeedbackRequest {
            site: "site_abc".into(),
            kind: Kind::Expectation,
            message: None,
            expected: Some("Free shipping".into()),
            actual: Some("Charged".into()),
            severity: Some(Severity::Blocking),
            email: Some("ana@example.com".into()),
            name: None,
            page: PageInfo {
                url: Some("https://shop.example/".into()),
                ..PageInfo::default()
            },
            client: ClientInfo::default(),
            context: None,
            idempotency_key: Some("6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b".into()),
            hp: None,
            fill_ms: Some(4_000),
        };
        let json = serde_json::to_string(&request).unwrap();
        assert!(
            json.starts_with(r#"{"site":"site_abc","kind":"expectation""#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<FeedbackRequest>(&json).unwrap(),
            request
        );
    }
}
