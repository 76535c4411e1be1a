//! One entry as staff read it on PostgreSQL: its fields, attachments,
//! timeline and promises.

use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use crate::store::postgres::{Postgres, read_opt, read_rows};
use crate::store::review::{DETAIL_SELECT, EVENTS_SELECT, PROMISE_SELECT};
use crate::store::{
    AttachmentMeta, EntryDetail, Event, EventKind, PromiseRow, Receipt, StoreError,
};

pub(in crate::store::postgres) fn promise(r: &Row) -> Result<PromiseRow, StoreError> {
    Ok(PromiseRow {
        id: r.try_get(0)?,
        entry_public_id: r.try_get(1)?,
        entry_reference: r.try_get(2)?,
        text: r.try_get(3)?,
        due_at: r.try_get(4)?,
        settled: r.try_get(5)?,
        settled_at: r.try_get(6)?,
        made_by: r.try_get(7)?,
        created_at: r.try_get(8)?,
        event_id: r.try_get(9)?,
        made_by_id: r.try_get(10)?,
        site_id: r.try_get(11)?,
    })
}

fn detail(r: &Row) -> Result<EntryDetail, StoreError> {
    Ok(EntryDetail {
        id: r.try_get(0)?,
        public_id: r.try_get(1)?,
        reference: r.try_get(2)?,
        status_token: r.try_get(3)?,
        kind: r.try_get(4)?,
        status: r.try_get(5)?,
        severity: r.try_get(6)?,
        message: r.try_get(7)?,
        expected: r.try_get(8)?,
        actual: r.try_get(9)?,
        email: r.try_get(10)?,
        name: r.try_get(11)?,
        page_url: r.try_get(12)?,
        page_title: r.try_get(13)?,
        page_referrer: r.try_get(14)?,
        user_agent: r.try_get(15)?,
        language: r.try_get(16)?,
        timezone: r.try_get(17)?,
        viewport: r.try_get(18)?,
        spam_reason: r.try_get(19)?,
        created_at: r.try_get(20)?,
        first_response_at: r.try_get(21)?,
        site_name: r.try_get(22)?,
        first_response_target_ms: r.try_get::<_, i64>(23)?.saturating_mul(60_000),
        assignee_id: r.try_get(24)?,
        host_context: r
            .try_get::<_, Option<String>>(25)?
            .and_then(|json| {
                serde_json::from_str::<std::collections::BTreeMap<String, String>>(&json).ok()
            })
            .map(|map| map.into_iter().collect())
            .unwrap_or_default(),
        followup_at: r.try_get(26)?,
        assignee: r.try_get(27)?,
        receipt: r
            .try_get::<_, Option<String>>(28)?
            .as_deref()
            .and_then(Receipt::from_state),
        closing_emailed: r.try_get(29)?,
        site_key: r.try_get(30)?,
        attachments: Vec::new(),
        events: Vec::new(),
        promises: Vec::new(),
    })
}

pub(super) async fn attachments(
    client: &Client,
    entry_id: i64,
) -> Result<Vec<AttachmentMeta>, StoreError> {
    let stmt = client
        .prepare_cached(
            "SELECT public_id, content_type, size, created_at, width, height FROM attachments
             WHERE entry_id = $1 ORDER BY id",
        )
        .await?;
    let rows = client.query(&stmt, &[&entry_id]).await?;
    read_rows(&rows, |r| {
        let (width, height): (Option<i64>, Option<i64>) = (r.try_get(4)?, r.try_get(5)?);
        let side = |v: Option<i64>| v.and_then(|v| u32::try_from(v).ok());
        Ok(AttachmentMeta {
            public_id: r.try_get(0)?,
            content_type: r.try_get(1)?,
            size: r.try_get(2)?,
            created_at: r.try_get(3)?,
            dimensions: side(width)
                .zip(side(height))
                .map(|(width, height)| earshot_protocol::Dimensions { width, height }),
        })
    })
}

impl Postgres {
    /// The public id of the entry with this reference.
    pub async fn entry_by_reference(
        &self,
        reference: String,
    ) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT public_id FROM entries WHERE reference = $1",
                &[&reference],
            )
            .await?;
        read_opt(row, |r| Ok(r.try_get(0)?))
    }

    pub async fn entry_detail(&self, public_id: String) -> Result<Option<EntryDetail>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("{DETAIL_SELECT} WHERE e.public_id = $1"))
            .await?;
        let Some(row) = client.query_opt(&stmt, &[&public_id]).await? else {
            return Ok(None);
        };
        let mut entry = detail(&row)?;
        entry.attachments = attachments(&client, entry.id).await?;
        let stmt = client
            .prepare_cached(&format!(
                "{EVENTS_SELECT} WHERE ev.entry_id = $1 ORDER BY ev.id"
            ))
            .await?;
        let rows = client.query(&stmt, &[&entry.id]).await?;
        entry.events = read_rows(&rows, |r| {
            let kind: String = r.try_get(1)?;
            // The CHECK constraint admits only known kinds; skip others.
            let Some(kind) = EventKind::parse(&kind) else {
                return Ok(None);
            };
            Ok(Some(Event {
                id: r.try_get(0)?,
                kind,
                actor: r.try_get(2)?,
                body: r.try_get(3)?,
                old_value: r.try_get(4)?,
                new_value: r.try_get(5)?,
                created_at: r.try_get(6)?,
                customer_mail: r
                    .try_get::<_, Option<String>>(7)?
                    .as_deref()
                    .and_then(Receipt::from_state),
                actor_id: r.try_get(8)?,
                old_user: r.try_get(9)?,
                new_user: r.try_get(10)?,
            }))
        })?
        .into_iter()
        .flatten()
        .collect();
        let stmt = client
            .prepare_cached(&format!(
                "{PROMISE_SELECT} WHERE p.entry_id = $1 ORDER BY p.id"
            ))
            .await?;
        entry.promises = client
            .query(&stmt, &[&entry.id])
            .await?
            .iter()
            .map(promise)
            .collect::<Result<_, _>>()?;
        Ok(Some(entry))
    }
}
