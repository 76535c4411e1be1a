//! What the commands ask of a person at a terminal: a confirmation, and a
//! new password, not shown as it is typed (it would stay in the
//! scrollback, and be read over a shoulder) and typed twice, since a typo
//! nobody saw would lock its owner out. Questions go to standard error, so
//! that they are seen while the output goes to a file.

use std::io::{BufRead, IsTerminal, Write};

use super::CliError;
use crate::auth::Password;

/// Asks at the terminal for `word` to be typed; scripts pass `--yes`
/// instead.
pub(super) fn confirmed(prompt: &str, word: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::NeedsYes);
    }
    ask(&format!("{prompt} Type \"{word}\" to go on: "))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(CliError::Stdin)?;
    Ok(answer.trim() == word)
}

/// Chances to type an acceptable password alike twice (as `passwd`
/// gives).
pub(super) const TRIES: usize = 3;

/// Asks for the new password of `email` until one meets the policy and is
/// typed alike twice, at most [`TRIES`] times.
pub(super) fn new_password(email: &str) -> Result<Password, CliError> {
    for left in (0..TRIES).rev() {
        let end = if left > 0 { "; try again." } else { "." };
        let first = hidden_line(&format!("New password for {email}: "))?;
        let password = match Password::parse(&first) {
            Ok(password) => password,
            Err(refusal) => {
                say(&format!("{refusal}{end}"))?;
                continue;
            }
        };
        if hidden_line("The same again: ")? == first {
            return Ok(password);
        }
        say(&format!("The two were not the same{end}"))?;
    }
    Err(CliError::NoPasswordAgreed)
}

fn say(line: &str) -> Result<(), CliError> {
    writeln!(std::io::stderr(), "{line}").map_err(CliError::Stdin)
}

/// A prompt, the answer typed on the same line.
fn ask(prompt: &str) -> Result<(), CliError> {
    let mut err = std::io::stderr();
    err.write_all(prompt.as_bytes())
        .and_then(|()| err.flush())
        .map_err(CliError::Stdin)
}

/// One line typed at the terminal on standard input, without echo.
///
/// The terminal reads key by key here (not a line at a time) so that
/// Ctrl-C reaches this code instead of killing the process: killed while
/// echo is off, it would leave the person's shell not showing what they
/// type. Backspace and Ctrl-U edit as they do in a line; Ctrl-D on an
/// empty line ends, as at a shell.
#[cfg(unix)]
fn hidden_line(prompt: &str) -> Result<String, CliError> {
    use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, tcgetattr, tcsetattr};

    let stdin = std::io::stdin();
    let shown = tcgetattr(&stdin).map_err(|e| CliError::Stdin(e.into()))?;
    let mut hidden = shown.clone();
    hidden
        .local_modes
        .remove(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG);
    // Every key as it is pressed, however long the pause before it.
    hidden.special_codes[SpecialCodeIndex::VMIN] = 1;
    hidden.special_codes[SpecialCodeIndex::VTIME] = 0;
    tcsetattr(&stdin, OptionalActions::Now, &hidden).map_err(|e| CliError::Stdin(e.into()))?;
    let typed = prompt_and_read(prompt);
    // Shown again however the reading ended.
    tcsetattr(&stdin, OptionalActions::Now, &shown).map_err(|e| CliError::Stdin(e.into()))?;
    // What the person's Enter would have shown.
    say("")?;
    typed
}

#[cfg(unix)]
fn prompt_and_read(prompt: &str) -> Result<String, CliError> {
    use std::io::Read;

    ask(prompt)?;
    let mut typed = Vec::new();
    let mut key = [0u8; 1];
    let mut stdin = std::io::stdin().lock();
    loop {
        if stdin.read(&mut key).map_err(CliError::Stdin)? == 0 {
            return Err(CliError::NoPasswordTyped);
        }
        match key[0] {
            b'\r' | b'\n' => break,
            // Ctrl-C
            0x03 => return Err(CliError::Cancelled),
            // Ctrl-D
            0x04 if typed.is_empty() => return Err(CliError::NoPasswordTyped),
            0x04 => {}
            // Backspace (DEL or ^H): the last character, all of its bytes.
            0x7f | 0x08 => while typed.pop().is_some_and(|b| b & 0xc0 == 0x80) {},
            // Ctrl-U
            0x15 => typed.clear(),
            byte => typed.push(byte),
        }
    }
    String::from_utf8(typed).map_err(|_| CliError::NotUtf8)
}

/// Without termios, the line as the terminal shows it.
#[cfg(not(unix))]
fn hidden_line(prompt: &str) -> Result<String, CliError> {
    ask(prompt)?;
    let mut line = String::new();
    if std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(CliError::Stdin)?
        == 0
    {
        return Err(CliError::NoPasswordTyped);
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
