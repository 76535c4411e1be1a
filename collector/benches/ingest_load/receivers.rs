//! What the collector reaches out to during the bench: a webhook receiver
//! and an SMTP sink on loopback, and how late the webhooks came.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::Sent;

/// Webhook requests received: (submission number, when).
pub(crate) type Received = Arc<Mutex<Vec<(u64, Instant)>>>;

/// A webhook receiver that answers 200 at once and notes which bench
/// submission each message was about.
pub(crate) async fn webhook_receiver(received: Received) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let received = received.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let received = received.clone();
                        async move {
                            let body = request.into_body().collect().await.map(|b| b.to_bytes());
                            let text = body
                                .as_deref()
                                .map(String::from_utf8_lossy)
                                .unwrap_or_default();
                            let n = text
                                .split("Bench submission ")
                                .nth(1)
                                .and_then(|rest| rest.split(':').next())
                                .and_then(|n| n.parse::<u64>().ok());
                            if let Some(n) = n {
                                received.lock().unwrap().push((n, Instant::now()));
                            }
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::new(),
                            )))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    url
}

/// An SMTP server that takes every message and counts them.
pub(crate) async fn smtp_sink(count: Arc<AtomicU64>) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("smtp://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = tokio::io::BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink\r\n").await;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let answer: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        count.fetch_add(1, Ordering::Relaxed);
                        b"250 queued\r\n"
                    } else {
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "DATA" => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => break,
                            _ => b"250 ok\r\n",
                        }
                    };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    url
}

/// Milliseconds from sending each submission to each webhook receipt of it,
/// sorted.
pub(crate) fn webhook_latencies(sent: &Sent, received: &[(u64, Instant)]) -> Vec<f64> {
    let sent = sent.lock().unwrap();
    let mut ms: Vec<f64> = received
        .iter()
        .filter_map(|(n, at)| {
            sent.get(n)
                .map(|s| at.duration_since(*s).as_secs_f64() * 1000.0)
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}
