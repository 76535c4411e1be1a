//! The `earshot` binary itself.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_earshot");

#[test]
fn site_add_prints_a_snippet_and_site_list_shows_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    let out = Command::new(BIN)
        .args([
            "site",
            "add",
            "--name",
            "Fern & Fig",
            "--origin",
            "https://shop.example",
        ])
        .args([
            "--origin",
            "https://*.shop.example",
            "--public-url",
            "https://feedback.example/",
        ])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout
        .split("with key ")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap()
        .to_owned();
    assert!(stdout.contains(&format!(
        r#"<script src="https://feedback.example/widget.js" data-site="{key}" defer></script>"#
    )));

    let list = Command::new(BIN)
        .args(["site", "list", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(list.contains(&key));
    assert!(list.contains("https://shop.example https://*.shop.example"));
}

#[test]
fn site_add_rejects_a_malformed_origin_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "site",
            "add",
            "--name",
            "x",
            "--origin",
            "shop.example",
            "--db",
        ])
        .arg(dir.path().join("earshot.db"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("invalid --origin \"shop.example\""),
        "{stderr}"
    );
}

#[test]
fn serve_prints_the_snippet_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("earshot.db"))
        .env("EARSHOT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    // Wait until the database exists and has its default site.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dir.path().join("earshot.db").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let stdout = reader.join().unwrap();
    assert!(
        stdout.contains("/widget.js\" data-site=\"site_"),
        "{stdout}"
    );
    assert!(stdout.contains("(created now)"));
}
