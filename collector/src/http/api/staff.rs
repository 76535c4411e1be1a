//! `GET /api/v1/staff`: the colleagues whose ids the API names
//! (`assignee_id`, `by_id`, `made_by_id`, …) and to whom an entry can be
//! assigned. Disabled accounts are listed too, marked, as their ids stay on
//! past events; roles are administrators' business.

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
    let accounts = state.store.accounts().await?;
    let staff: Vec<Value> = accounts
        .iter()
        .map(|account| {
            let user = &account.user;
            let mut value = json!({
                "id": user.id,
                "name": user.name,
                "email": user.email,
                "active": account.disabled_at.is_none(),
            });
            if caller.is_admin() {
                value["role"] = json!(user.role.as_str());
            }
            value
        })
        .collect();
    Ok(Json(json!({ "staff": staff })))
}
