//! A body the answer left unread is still read, a bounded amount for a
//! bounded time, once the answer has gone ("lingering close", as nginx does
//! for its own clients).
//!
//! Many refusals come before the body is read: too large by its declared
//! length, rate limited, unknown credentials, headers too large. hyper
//! then reads what has already arrived and closes the connection; the
//! rest of the body arrives at a closed socket, and the kernel resets the
//! connection. A client still sending (a proxy that buffered the request
//! and writes it on, a browser uploading a screenshot) gets a broken pipe
//! instead of the answer: nginx turns it into a 502 "Bad Gateway" page, and
//! the widget and the console lose the reason (and a 502 invites a retry
//! that will be refused again).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;

/// The most read past an answer: above every body a route takes (a
/// screenshot is at most 2 MiB) and what nginx lets through to it (3 MiB).
/// A client declaring more is not waited for.
const MAX_BYTES: u64 = 4 << 20;
/// The longest a connection is kept for it.
const MAX_TIME: Duration = Duration::from_secs(10);

/// The request's body, shared: the handler reads through it, and what it
/// leaves is still here once it has answered.
struct Shared(Arc<Mutex<Body>>);

impl Shared {
    fn body(&self) -> MutexGuard<'_, Body> {
        // Polling a body cannot leave it half-changed: a poisoned lock's
        // body is as good as any.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl HttpBody for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut *self.body()).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body().is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body().size_hint()
    }
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Whether the client waits for leave before sending its body: refused,
/// it never sends it, and reading would ask for it.
fn waits_to_send(headers: &HeaderMap) -> bool {
    headers.contains_key(header::EXPECT)
}

/// Middleware: runs the request, then reads what is left of its body in
/// the background (unless the request timed out: a client too slow to
/// send in time is not waited for again).
pub async fn linger(request: Request, next: Next) -> Response {
    let headers = request.headers();
    if request.body().is_end_stream()
        || waits_to_send(headers)
        || declared_length(headers).is_some_and(|n| n > MAX_BYTES)
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let shared = Arc::new(Mutex::new(body));
    let body = Body::new(Shared(Arc::clone(&shared)));
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() != StatusCode::REQUEST_TIMEOUT
        && let Ok(left) = Arc::try_unwrap(shared)
    {
        let left = left.into_inner().unwrap_or_else(PoisonError::into_inner);
        if !left.is_end_stream() {
            tokio::spawn(discard(left));
        }
    }
    response
}

/// Reads `body` to its end, [`MAX_BYTES`] and [`MAX_TIME`] at most.
async fn discard(mut body: Body) {
    let mut left = MAX_BYTES;
    let _ = tokio::time::timeout(MAX_TIME, async {
        while let Some(Ok(frame)) = body.frame().await {
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let Some(rest) = left.checked_sub(data.len() as u64) else {
                return;
            };
            left = rest;
        }
    })
    .await;
}
