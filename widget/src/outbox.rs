//! Submissions the collector has not confirmed yet.
//!
//! A send that fails for a reason that may pass (no network, collector
//! down, 5xx, 429) is kept here and retried with backoff, also after a
//! reload (see `storage`). Each keeps its idempotency key, so however many
//! times it is sent, it is stored once. Pure logic, no browser calls.

use earshot_protocol::FeedbackRequest;

use crate::json::{FromJson, Json, ToJson};

/// First retry after this long; each further failure doubles it.
const FIRST_RETRY_MS: f64 = 5_000.0;
/// Never wait longer than this between attempts while the page is open.
const MAX_RETRY_MS: f64 = 300_000.0;
/// Submissions kept at most; the oldest stay, a flood of new ones waits.
pub const CAPACITY: usize = 20;

/// Delay before the attempt after `failures` failed ones (1 = the first
/// send failed): 5 s, 10 s, 20 s … capped at 5 minutes.
pub fn backoff_ms(failures: u32) -> f64 {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_RETRY_MS * f64::from(1u32 << doublings)).min(MAX_RETRY_MS)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub request: FeedbackRequest,
    /// Failed attempts so far.
    pub failures: u32,
    /// Not before this time (ms since the epoch).
    pub next_at: f64,
}

impl Pending {
    pub fn key(&self) -> &str {
        self.request.idempotency_key.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    items: Vec<Pending>,
}

/// Kept as `{"items":[{"request":{…},"failures":n,"next_at":ms}]}`.
impl ToJson for Outbox {
    fn to_json<J: Json>(&self) -> J {
        let items = self
            .items
            .iter()
            .map(|pending| {
                let mut item = J::object();
                item.set("request", pending.request.to_json());
                item.set("failures", J::number(f64::from(pending.failures)));
                item.set("next_at", J::number(pending.next_at));
                item
            })
            .collect();
        let mut out = J::object();
        out.set("items", J::array(items));
        out
    }
}

/// An item that cannot be read is dropped alone, so one damaged entry does
/// not cost the customer every other submission waiting beside it.
impl FromJson for Outbox {
    fn from_json<J: Json>(value: &J) -> Option<Self> {
        let items = value
            .get("items")?
            .items()
            .iter()
            .filter_map(|item| {
                Some(Pending {
                    request: FeedbackRequest::from_json(&item.get("request")?)?,
                    failures: item
                        .number_at("failures")
                        .and_then(crate::json::whole)
                        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                    next_at: item.number_at("next_at").unwrap_or(0.0),
                })
            })
            .take(CAPACITY)
            .collect();
        Some(Outbox { items })
    }
}

impl Outbox {
    pub fn items(&self) -> &[Pending] {
        &self.items
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.items.iter().any(|p| p.key() == key)
    }

    /// Records a failed send of `request`; `retry_after_ms` is the server's
    /// own wait (429), which wins over the backoff when longer. Returns when
    /// the next attempt is due, or `None` if the outbox is full.
    pub fn failed(
        &mut self,
        request: &FeedbackRequest,
        now: f64,
        retry_after_ms: Option<f64>,
    ) -> Option<f64> {
        let key = request.idempotency_key.as_deref().unwrap_or_default();
        let index = match self.items.iter().position(|p| p.key() == key) {
            Some(index) => index,
            None if self.items.len() >= CAPACITY => return None,
            None => {
                self.items.push(Pending {
                    request: request.clone(),
                    failures: 0,
                    next_at: now,
                });
                self.items.len() - 1
            }
        };
        let item = &mut self.items[index];
        item.failures = item.failures.saturating_add(1);
        let wait = backoff_ms(item.failures).max(retry_after_ms.unwrap_or(0.0));
        item.next_at = now + wait;
        Some(item.next_at)
    }

    /// The collector confirmed (or refused for good) the submission with
    /// this key: it leaves the outbox.
    pub fn remove(&mut self, key: &str) -> Option<Pending> {
        let index = self.items.iter().position(|p| p.key() == key)?;
        Some(self.items.remove(index))
    }

    /// Requests due at `now`, oldest first.
    pub fn due(&self, now: f64) -> Vec<FeedbackRequest> {
        self.items
            .iter()
            .filter(|p| p.next_at <= now)
            .map(|p| p.request.clone())
            .collect()
    }

    /// Makes everything due now: the browser says it is back online, or
    /// the customer pressed "Try now".
    pub fn hurry(&mut self, now: f64) {
        for item in &mut self.items {
            item.next_at = item.next_at.min(now);
        }
    }

    /// When the next attempt is due, if anything is waiting.
    pub fn next_due(&self) -> Option<f64> {
        self.items.iter().map(|p| p.next_at).reduce(f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &str) -> FeedbackRequest {
        FeedbackRequest {
            site: "site".into(),
            kind: earshot_protocol::Kind::Complaint,
            message: Some("it broke".into()),
            expected: None,
            actual: None,
            severity: None,
            email: None,
            name: None,
            page: Default::default(),
            client: Default::default(),
            context: None,
            idempotency_key: Some(key.into()),
            hp: None,
            fill_ms: None,
        }
    }

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_five_minutes() {
        let waits: Vec<f64> = (1..=8).map(backoff_ms).collect();
        assert_eq!(
            waits,
            [5e3, 10e3, 20e3, 40e3, 80e3, 160e3, 300e3, 300e3].to_vec()
        );
        assert_eq!(backoff_ms(u32::MAX), 300e3);
    }

    #[test]
    fn a_failed_send_is_kept_once_and_retried_later() {
        let mut outbox = Outbox::default();
        assert_eq!(
            outbox.failed(&request("key-a"), 1_000.0, None),
            Some(6_000.0)
        );
        assert!(outbox.due(5_999.0).is_empty());
        assert_eq!(outbox.due(6_000.0), vec![request("key-a")]);
        // The retry fails too: same entry, longer wait.
        assert_eq!(
            outbox.failed(&request("key-a"), 6_000.0, None),
            Some(16_000.0)
        );
        assert_eq!(outbox.items().len(), 1);
        assert_eq!(outbox.next_due(), Some(16_000.0));
    }

    #[test]
    fn the_servers_retry_after_wins_when_longer() {
        let mut outbox = Outbox::default();
        assert_eq!(
            outbox.failed(&request("k"), 0.0, Some(60_000.0)),
            Some(60_000.0)
        );
        assert_eq!(
            outbox.failed(&request("j"), 0.0, Some(1_000.0)),
            Some(5_000.0)
        );
    }

    #[test]
    fn delivery_removes_only_that_submission() {
        let mut outbox = Outbox::default();
        outbox.failed(&request("a"), 0.0, None);
        outbox.failed(&request("b"), 0.0, None);
        assert!(outbox.remove("a").is_some());
        assert!(outbox.remove("a").is_none());
        assert!(!outbox.contains("a"));
        assert!(outbox.contains("b"));
    }

    #[test]
    fn hurry_makes_everything_due_now() {
        let mut outbox = Outbox::default();
        outbox.failed(&request("a"), 0.0, Some(100_000.0));
        outbox.hurry(10.0);
        assert_eq!(outbox.due(10.0).len(), 1);
    }

    #[test]
    fn a_full_outbox_refuses_new_submissions_but_keeps_the_old() {
        let mut outbox = Outbox::default();
        for i in 0..CAPACITY {
            assert!(
                outbox
                    .failed(&request(&format!("k{i}")), 0.0, None)
                    .is_some()
            );
        }
        assert_eq!(outbox.failed(&request("late"), 0.0, None), None);
        assert!(outbox.failed(&request("k0"), 0.0, None).is_some());
        assert_eq!(outbox.items().len(), CAPACITY);
    }

    #[test]
    fn it_round_trips_through_json() {
        let mut outbox = Outbox::default();
        outbox.failed(&request("a"), 0.0, None);
        outbox.failed(&request("b"), 1_764_600_000_123.0, Some(60_000.0));
        outbox.failed(&request("b"), 1_764_600_060_123.0, None);
        let json: serde_json::Value = outbox.to_json();
        assert_eq!(Outbox::from_json(&json), Some(outbox));
    }

    #[test]
    fn an_outbox_kept_by_an_earlier_widget_is_read() {
        // As serde-wasm-bindgen wrote it, with a damaged item beside.
        let kept: serde_json::Value = serde_json::from_str(
            r#"{"items":[
              {"request":{"site":"s","kind":"complaint","message":"It broke",
                "page":{"url":"https://shop.example/"},"client":{},
                "idempotency_key":"key-a","fill_ms":4000},
               "failures":2,"next_at":1764600010000},
              {"request":{"kind":"complaint"},"failures":1,"next_at":0}]}"#,
        )
        .unwrap();
        let outbox = Outbox::from_json(&kept).unwrap();
        assert_eq!(outbox.items().len(), 1);
        let pending = &outbox.items()[0];
        assert_eq!(pending.key(), "key-a");
        assert_eq!(pending.failures, 2);
        assert_eq!(pending.next_at, 1_764_600_010_000.0);
        assert_eq!(pending.request.message.as_deref(), Some("It broke"));
        assert_eq!(pending.request.fill_ms, Some(4_000));
    }
}
