//! Email through a relay that speaks TLS, as the real binary sends it: the
//! relay's certificate is checked against the web's roots and the system's
//! trust store, and a refused certificate is named for what it is.

use std::time::Duration;

use crate::cli_integrations::{add_admin, logged};
use crate::helpers::{Binary, smtps_sink};

/// Starts the binary on `db` with an administrator (who hears about
/// complaints at once) and this relay, then `env`; its warnings go to
/// `log`.
fn start(db: &std::path::Path, relay: &str, env: &[(&str, &str)], log: &std::path::Path) -> Binary {
    add_admin(db, "ops@shop.example");
    let mut env = env.to_vec();
    env.extend([
        ("EARSHOT_SMTP_URL", relay),
        ("EARSHOT_SMTP_FROM", "Earshot <earshot@shop.example>"),
        ("EARSHOT_LOG", "warn"),
    ]);
    Binary::serve_logging(
        &["--db".as_ref(), db.as_os_str()],
        &env,
        std::fs::File::create(log).unwrap(),
    )
}

async fn complain(server: &Binary) {
    let body = serde_json::json!({
        "site": server.site_key,
        "kind": "complaint",
        "message": "The parcel came open",
    });
    let status = reqwest::Client::new()
        .post(format!("{}/api/v1/feedback", server.url))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 201);
}

/// An internal relay often has a certificate from the organisation's own
/// authority: once that authority is in the system's trust store (here
/// named by `SSL_CERT_FILE`, as on any Linux), mail goes out; where it is
/// not, the log and the console say that the authority is not trusted, and
/// a certificate for another host is called that.
#[tokio::test]
async fn a_relay_with_a_certificate_from_an_authority_the_system_trusts_gets_the_mail() {
    let ca = crate::certs::TestCa::new();
    let (cert, key) = ca.issue("relay", "localhost");
    let (relay, mut inbox) = smtps_sink(&cert, &key).await;
    let (misnamed, key_misnamed) = ca.issue("elsewhere", "mail.shop.example");
    let (misnamed_relay, mut misnamed_inbox) = smtps_sink(&misnamed, &key_misnamed).await;
    let ca_file = ca.certificate().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    let trusting = start(
        &at("trusting.db"),
        &relay,
        &[("SSL_CERT_FILE", &ca_file)],
        &at("trusting.log"),
    );
    let stranger = start(&at("stranger.db"), &relay, &[], &at("stranger.log"));
    let misdirected = start(
        &at("misdirected.db"),
        &misnamed_relay,
        &[("SSL_CERT_FILE", &ca_file)],
        &at("misdirected.log"),
    );
    for server in [&trusting, &stranger, &misdirected] {
        complain(server).await;
    }

    let mail = tokio::time::timeout(Duration::from_secs(20), inbox.recv())
        .await
        .expect("the trusting collector's notification arrives")
        .unwrap();
    assert!(mail.contains("The parcel came open"), "{mail}");
    assert!(mail.contains("To: ops@shop.example"), "{mail}");

    let line = logged(&at("stranger.log"), "an email could not be sent").await;
    assert!(
        line.contains("the relay's certificate is from an authority this machine does not trust"),
        "{line}"
    );
    // Said at start already, with what to do.
    let line = logged(&at("stranger.log"), "at start").await;
    assert!(
        line.contains("the relay's certificate is from an authority this machine does not trust")
            && line.contains("update-ca-certificates"),
        "{line}"
    );
    let line = logged(&at("misdirected.log"), "an email could not be sent").await;
    assert!(
        line.contains("the relay's certificate is not for the host in --smtp-url"),
        "{line}"
    );
    assert!(
        inbox.try_recv().is_err() && misnamed_inbox.try_recv().is_err(),
        "only the trusting collector's mail went out"
    );
}
