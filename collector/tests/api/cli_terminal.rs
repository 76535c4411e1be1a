//! The commands that ask a person at a terminal (a new password, a
//! confirmation), run on a pseudo-terminal as a person would run them.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use earshot_collector::auth::password;
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{LocalModes, tcgetattr};

use crate::cli_integrations::add_colleague;
use crate::helpers::{BIN, added_site, earshot};

/// A command whose standard input and error are a terminal, as when a
/// person runs it: what the terminal shows is collected, keys are typed.
struct AtTerminal {
    child: Child,
    keyboard: File,
    shown: Arc<Mutex<Vec<u8>>>,
    screen: JoinHandle<()>,
    /// The command's side, kept to read its settings after the command.
    terminal: File,
}

impl AtTerminal {
    fn run(args: &[&str], db: &Path) -> AtTerminal {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let terminal = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
            .open(name.to_str().unwrap())
            .unwrap();
        let child = Command::new(BIN)
            .args(args)
            .arg("--db")
            .arg(db)
            .stdin(terminal.try_clone().unwrap())
            .stderr(terminal.try_clone().unwrap())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let keyboard = File::from(master);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let mut screen = keyboard.try_clone().unwrap();
        let collected = Arc::clone(&shown);
        // Ends when the last handle on the command's side closes.
        let screen = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = screen.read(&mut buf) {
                collected.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        AtTerminal {
            child,
            keyboard,
            shown,
            screen,
            terminal,
        }
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal has shown `text` `times` times in all.
    fn wait_for(&self, text: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.shown().matches(text).count() < times {
            assert!(
                Instant::now() < deadline,
                "waited for {text:?} ×{times}; the terminal shows {:?}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_keys(&mut self, keys: &[u8]) {
        self.keyboard.write_all(keys).unwrap();
    }

    /// The command's exit, its standard output, all the terminal showed,
    /// and whether the command left it echoing lines again.
    fn finish(mut self) -> (bool, String, String, bool) {
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let ok = self.child.wait().unwrap().success();
        let modes = tcgetattr(&self.terminal).unwrap().local_modes;
        let echoes = modes.contains(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG);
        // With the last handle on the command's side closed, the screen
        // has read all there was.
        drop(self.terminal);
        self.screen.join().unwrap();
        let shown = String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned();
        (ok, stdout, shown, echoes)
    }
}

fn stored_hash(db: &Path, email: &str) -> Option<String> {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT password_hash FROM users WHERE email = ?1",
            [email],
            |r| r.get(0),
        )
        .ok()
}

#[test]
fn user_add_at_a_terminal_asks_twice_and_never_shows_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    add_colleague(&db, "ada@example.com");
    let mut at = AtTerminal::run(&["user", "add", "--email", "bo@example.com"], &db);

    at.wait_for("New password for bo@example.com: ", 1);
    at.type_keys(b"too short\r");
    at.wait_for("at least 10 characters; try again.", 1);
    at.wait_for("New password for bo@example.com: ", 2);
    at.type_keys(b"a long p\xc3\xa4ssphrase\r");
    at.wait_for("The same again: ", 1);
    at.type_keys(b"a long passphrase\r");
    at.wait_for("The two were not the same; try again.", 1);
    at.wait_for("New password for bo@example.com: ", 3);
    // Corrected as typed: a two-byte letter rubbed out by one backspace, a
    // whole line by Ctrl-U.
    at.type_keys(b"a long p\xc3\xa4ssphrasx\x7fe\r");
    at.wait_for("The same again: ", 2);
    at.type_keys(b"nonsense\x15a long p\xc3\xa4ssphrase\r");
    let (ok, stdout, shown, echoes) = at.finish();

    assert!(ok, "{shown}");
    assert!(
        stdout.contains("Added agent bo <bo@example.com>"),
        "{stdout}"
    );
    assert!(
        !shown.contains("ssphras") && !shown.contains("short"),
        "{shown}"
    );
    let stored = stored_hash(&db, "bo@example.com").unwrap();
    assert!(password::verify("a long pässphrase", &stored));
    assert!(echoes, "the terminal is left as it was");
}

#[test]
fn ctrl_c_ctrl_d_or_three_failed_tries_at_a_password_prompt_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    add_colleague(&db, "ada@example.com");
    let before = stored_hash(&db, "ada@example.com").unwrap();
    let mut at = AtTerminal::run(&["user", "password", "--email", "ada@example.com"], &db);
    at.wait_for("New password for ada@example.com: ", 1);
    at.type_keys(b"a new passphr");
    at.type_keys(b"\x03");
    let (ok, _, shown, echoes) = at.finish();

    assert!(!ok);
    assert!(
        shown.contains("error: cancelled; nothing was changed"),
        "{shown}"
    );
    assert!(!shown.contains("passphr"), "{shown}");
    assert_eq!(stored_hash(&db, "ada@example.com").unwrap(), before);
    assert!(echoes, "the terminal shows typing again");

    // Ctrl-D on an empty line, as at a shell: no account.
    let mut at = AtTerminal::run(&["user", "add", "--email", "cy@example.com"], &db);
    at.wait_for("New password for cy@example.com: ", 1);
    at.type_keys(b"\x04");
    let (ok, _, shown, echoes) = at.finish();
    assert!(!ok);
    assert!(shown.contains("error: no password was typed"), "{shown}");
    assert_eq!(stored_hash(&db, "cy@example.com"), None);
    assert!(echoes);

    // Three tries, as `passwd` gives, and then no account either.
    let mut at = AtTerminal::run(&["user", "add", "--email", "cy@example.com"], &db);
    for tried in 1..=3 {
        at.wait_for("New password for cy@example.com: ", tried);
        at.type_keys(b"too short\r");
    }
    let (ok, _, shown, echoes) = at.finish();
    assert!(!ok);
    assert_eq!(shown.matches("try again.").count(), 2, "{shown}");
    assert!(
        shown.contains("at least 10 characters.\r\nerror: no password after 3 tries"),
        "{shown}"
    );
    assert_eq!(stored_hash(&db, "cy@example.com"), None);
    assert!(echoes);
}

#[test]
fn a_confirmation_is_asked_on_the_terminal_while_the_output_goes_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("earshot.db");
    added_site(&db, "Shop", "https://shop.example");
    let old = added_site(&db, "Old shop", "https://old.example");

    // Output to a file (here a pipe), the question still on the terminal.
    let mut at = AtTerminal::run(&["site", "remove", &old], &db);
    at.wait_for("Type \"remove\" to go on: ", 1);
    at.type_keys(b"no\r");
    let (ok, stdout, shown, _) = at.finish();
    assert!(ok, "{shown}");
    assert_eq!(stdout, "Nothing was removed.\n");
    assert!(
        shown.contains(&format!("This removes site {old} with ")),
        "{shown}"
    );
    let (_, sites, _) = earshot(&["site", "list"], &db);
    assert!(sites.contains(&old), "{sites}");

    let mut at = AtTerminal::run(&["site", "remove", &old], &db);
    at.wait_for("Type \"remove\" to go on: ", 1);
    at.type_keys(b"remove\r");
    let (ok, stdout, shown, _) = at.finish();
    assert!(ok, "{shown}");
    assert!(
        stdout.starts_with(&format!("Removed site {old}")),
        "{stdout}"
    );
    let (_, sites, _) = earshot(&["site", "list"], &db);
    assert!(!sites.contains(&old), "{sites}");
}
