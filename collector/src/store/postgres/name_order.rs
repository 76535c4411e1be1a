//! Names stored without their sort key get it (see `store::name_order`).

use deadpool_postgres::GenericClient;

use crate::name::name_key;
use crate::store::StoreError;
use crate::store::name_order::NAMED;

/// Gives every name whose key is missing or stale its key; returns how
/// many it changed. One statement a table: thousands of sites are keyed
/// in one round trip. A name renamed meanwhile by another collector keeps
/// the key that collector wrote with it.
pub(super) async fn refresh(client: &impl GenericClient) -> Result<u64, StoreError> {
    let mut changed = 0;
    for table in NAMED {
        let (mut ids, mut names, mut keys) = (Vec::new(), Vec::new(), Vec::new());
        for row in client
            .query(&format!("SELECT id, name, name_key FROM {table}"), &[])
            .await?
        {
            let name: String = row.try_get(1)?;
            let wanted = name_key(&name);
            if wanted != row.try_get::<_, String>(2)? {
                ids.push(row.try_get::<_, i64>(0)?);
                names.push(name);
                keys.push(wanted);
            }
        }
        if ids.is_empty() {
            continue;
        }
        changed += client
            .execute(
                &format!(
                    "UPDATE {table} t SET name_key = v.key
                     FROM unnest($1::bigint[], $2::text[], $3::text[]) AS v (id, name, key)
                     WHERE t.id = v.id AND t.name = v.name"
                ),
                &[&ids, &names, &keys],
            )
            .await?;
    }
    if changed > 0 {
        tracing::info!(changed, "keyed names written without their sort key");
    }
    Ok(changed)
}
