//! `GET /api/v1/sites`: the sites entries come from. Everyone sees names,
//! keys, targets and whether customers get receipts; allowed origins are
//! administrators' business.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::{Caller, NoQuery};
use crate::http::{ApiError, AppState};

pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    _: NoQuery,
) -> Result<Json<Value>, ApiError> {
    let settings = state.store.site_settings().await?;
    let origins = if caller.is_admin() {
        Some(state.store.sites().await?)
    } else {
        None
    };
    let sites: Vec<Value> = settings
        .iter()
        .map(|site| {
            let mut value = json!({
                "id": site.id,
                "key": site.key,
                "name": site.name,
                "first_response_target_minutes": site.first_response_minutes,
                "response_promise": site.response_promise,
                "receipt_email": site.receipt_email,
            });
            if let Some(found) = origins
                .as_ref()
                .and_then(|all| all.iter().find(|s| s.id == site.id))
            {
                value["origins"] = json!(
                    found
                        .origins
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                );
            }
            value
        })
        .collect();
    Ok(Json(json!({ "sites": sites })))
}
