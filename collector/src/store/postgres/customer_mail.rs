//! What an email to a customer is written from, on PostgreSQL: the same
//! queries as on SQLite (`store::customer_mail`).

use tokio_postgres::Row;

use super::{Postgres, read_opt};
use crate::store::customer_mail::{
    CUSTOMER_COLUMNS, REPLY_SQL, REPLY_TELLS_MS, closed_sql, kept_sql, receipt_sql,
};
use crate::store::{ClosedParts, CustomerParts, KeptParts, ReceiptParts, ReplyParts, StoreError};

impl Postgres {
    /// What a reply email says, if the customer left an address.
    pub async fn reply_parts(&self, event_id: i64) -> Result<Option<ReplyParts>, StoreError> {
        let client = self.client().await?;
        let row = client.query_opt(REPLY_SQL, &[&event_id]).await?;
        read_opt(row, |r| {
            let c = CUSTOMER_COLUMNS;
            let promise = match (r.try_get::<_, Option<String>>(c + 1)?, r.try_get(c + 2)?) {
                (Some(text), Some(due)) => Some((text, due)),
                _ => None,
            };
            Ok(ReplyParts {
                customer: customer_parts(r)?,
                body: r.try_get::<_, Option<String>>(c)?.unwrap_or_default(),
                promise,
            })
        })
    }

    /// What a receipt email for entry `entry_id` says, if it should go,
    /// with how many receipts its address was sent since `since`.
    pub async fn receipt_parts(
        &self,
        entry_id: i64,
        since: i64,
    ) -> Result<Option<ReceiptParts>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&receipt_sql(), &[&entry_id, &since])
            .await?;
        read_opt(row, |r| {
            Ok(ReceiptParts {
                customer: customer_parts(r)?,
                response_promise: r.try_get(CUSTOMER_COLUMNS)?,
                sent_lately: r.try_get(CUSTOMER_COLUMNS + 1)?,
            })
        })
    }

    /// What the email telling a customer their feedback was closed (by
    /// status event `event_id`) says, if it should still go, with how many
    /// closing emails its address was sent since `since`.
    pub async fn closed_parts(
        &self,
        event_id: i64,
        since: i64,
    ) -> Result<Option<ClosedParts>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&closed_sql(), &[&event_id, &since, &REPLY_TELLS_MS])
            .await?;
        read_opt(row, |r| {
            Ok(ClosedParts {
                customer: customer_parts(r)?,
                resolved: r.try_get(CUSTOMER_COLUMNS)?,
                sent_lately: r.try_get(CUSTOMER_COLUMNS + 1)?,
            })
        })
    }

    /// What the email telling a customer the promise made by reply event
    /// `event_id` was kept says, if it should still go, with how many such
    /// emails its address was sent since `since`.
    pub async fn kept_parts(
        &self,
        event_id: i64,
        since: i64,
    ) -> Result<Option<KeptParts>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(&kept_sql(), &[&event_id, &since, &REPLY_TELLS_MS])
            .await?;
        read_opt(row, |r| {
            Ok(KeptParts {
                customer: customer_parts(r)?,
                promise: r.try_get(CUSTOMER_COLUMNS)?,
                sent_lately: r.try_get(CUSTOMER_COLUMNS + 1)?,
            })
        })
    }
}

/// The [`CustomerParts`] every customer email's query reads first.
fn customer_parts(r: &Row) -> Result<CustomerParts, StoreError> {
    Ok(CustomerParts {
        to: r.try_get(0)?,
        site_name: r.try_get(1)?,
        reference: r.try_get(2)?,
        public_id: r.try_get(3)?,
        status_token: r.try_get(4)?,
        language: r.try_get(5)?,
    })
}
