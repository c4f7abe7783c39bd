//! Telnet: option negotiation (every option refused, which every server accepts), prompt
//! detection, and a login that proves success by running `echo` with shell arithmetic, so an
//! echoed command line is never mistaken for its output.

use std::time::{Duration, Instant};

use crate::conn::Conn;
use crate::log::Exchange;

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;

/// Strips telnet commands from `data`, returning the text and the replies to send (refusals).
pub fn strip_iac(data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut text = Vec::new();
    let mut reply = Vec::new();
    let mut i = 0;
    while i < data.len() {
        if data[i] != IAC {
            text.push(data[i]);
            i += 1;
            continue;
        }
        match data.get(i + 1) {
            Some(&IAC) => {
                text.push(IAC);
                i += 2;
            }
            Some(&c @ (DO | DONT | WILL | WONT)) => {
                if let Some(&opt) = data.get(i + 2) {
                    match c {
                        DO => reply.extend_from_slice(&[IAC, WONT, opt]),
                        WILL => reply.extend_from_slice(&[IAC, DONT, opt]),
                        _ => {}
                    }
                }
                i += 3;
            }
            Some(&SB) => {
                // Skip to IAC SE.
                let mut j = i + 2;
                while j + 1 < data.len() && !(data[j] == IAC && data[j + 1] == SE) {
                    j += 1;
                }
                i = j + 2;
            }
            Some(_) => i += 2,
            None => i += 1,
        }
    }
    (text, reply)
}

/// What the last line of text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Login,
    Password,
    Shell,
    None,
}

pub fn prompt_of(text: &str) -> Prompt {
    let last = text
        .trim_end_matches(['\r', '\n', '\0'])
        .rsplit(['\n', '\r'])
        .next()
        .unwrap_or("")
        .trim_end()
        .to_ascii_lowercase();
    if last.is_empty() {
        return Prompt::None;
    }
    if last.ends_with("password:") || last.ends_with("passwd:") || last.ends_with("password :") {
        return Prompt::Password;
    }
    if last.ends_with("login:")
        || last.ends_with("username:")
        || last.ends_with("user name:")
        || last.ends_with("user:")
        || last.ends_with("login :")
    {
        return Prompt::Login;
    }
    if last.ends_with('#') || last.ends_with('$') || last.ends_with('>') || last.ends_with('%') {
        return Prompt::Shell;
    }
    Prompt::None
}

/// Words that say a login was refused, or that the service stopped accepting attempts.
pub fn rejected(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "incorrect",
        "invalid",
        "failed",
        "denied",
        "bad password",
        "wrong",
        "authentication failure",
    ]
    .iter()
    .any(|w| t.contains(w))
}

pub fn locked_out(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "locked",
        "too many",
        "try again later",
        "blocked",
        "temporarily",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// A telnet session: negotiation answered as data arrives, text accumulated.
pub struct Session {
    pub conn: Conn,
    pub text: String,
    /// The text the last read returned (a refusal and the next prompt often come together).
    pub last: String,
}

impl Session {
    pub fn new(conn: Conn) -> Session {
        Session {
            conn,
            text: String::new(),
            last: String::new(),
        }
    }

    /// The next prompt after a refusal: already read with it, or read now.
    pub fn next_prompt(&mut self, ex: &mut Exchange<'_>, timeout: Duration) -> String {
        let last = std::mem::take(&mut self.last);
        if matches!(prompt_of(&last), Prompt::Login | Prompt::Password) {
            return last;
        }
        self.read_prompt(ex, timeout)
    }

    /// Reads until the text so far ends in a prompt, the peer closes, or `timeout`. Returns the new text.
    pub fn read_prompt(&mut self, ex: &mut Exchange<'_>, timeout: Duration) -> String {
        self.read_while(ex, timeout, |t| prompt_of(t) == Prompt::None)
    }

    /// Reads until `more(new text)` is false, the peer closes, or `timeout`.
    pub fn read_while(
        &mut self,
        ex: &mut Exchange<'_>,
        timeout: Duration,
        more: impl Fn(&str) -> bool,
    ) -> String {
        let end = Instant::now() + timeout;
        let mut new = String::new();
        // A prompt is followed by silence: after one seems complete, wait a moment for more.
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || self.conn.eof {
                break;
            }
            let wait = if more(&new) {
                left
            } else {
                left.min(Duration::from_millis(80))
            };
            let chunk = match self.conn.read_chunk(wait) {
                Ok(c) => c,
                Err(_) => break,
            };
            if chunk.is_empty() {
                if !more(&new) || self.conn.eof {
                    break;
                }
                continue;
            }
            let (txt, reply) = strip_iac(&chunk);
            if !reply.is_empty() {
                let _ = self.conn.send_as(
                    ex,
                    &reply,
                    &format!("telnet option refusals ({} bytes)", reply.len()),
                );
            }
            ex.received(&chunk);
            let s = String::from_utf8_lossy(&txt).to_string();
            new.push_str(&s);
            self.text.push_str(&s);
            if new.len() > 64 << 10 {
                break;
            }
        }
        self.last = new.clone();
        new
    }

    pub fn line(&mut self, ex: &mut Exchange<'_>, s: &str) -> bool {
        let mut b = s.as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.conn.send(ex, &b).is_ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// A shell answered (the proof: the output of a command).
    Accepted {
        proof: String,
    },
    Rejected,
    /// The service said the account is locked or attempts are limited.
    LockedOut,
    /// No login prompt: either an open shell (see `Open`) or not a login service.
    NoPrompt,
    /// A shell without any login.
    Open {
        proof: String,
    },
    /// Connection dropped or timed out mid-login.
    Broken(String),
}

/// The command that proves a shell: its output differs from its echo.
pub const PROOF_CMD: &str = "echo IOTA$((40+2))SURE";
pub const PROOF_OUT: &str = "IOTA42SURE";

/// For shells without arithmetic expansion (BusyBox 1.00's msh answers `syntax error`): the
/// quotes still make the output differ from the echo.
pub const PROOF_CMD_QUOTED: &str = "echo IOTA'42'SURE";

/// Proves a shell: sends `PROOF_CMD`, looks for `PROOF_OUT`; when the shell answered but
/// could not run it, once more with `PROOF_CMD_QUOTED`.
pub fn prove_shell(s: &mut Session, ex: &mut Exchange<'_>, timeout: Duration) -> Option<String> {
    s.line(ex, PROOF_CMD);
    let out = s.read_while(ex, timeout, |t| !t.contains(PROOF_OUT));
    if out.contains(PROOF_OUT) {
        return Some(PROOF_OUT.to_string());
    }
    if s.conn.eof || !out.to_ascii_lowercase().contains("syntax error") {
        return None;
    }
    s.line(ex, PROOF_CMD_QUOTED);
    let out = s.read_while(ex, timeout, |t| !t.contains(PROOF_OUT));
    out.contains(PROOF_OUT).then(|| PROOF_OUT.to_string())
}

/// One login attempt on an open session positioned at a login (or password) prompt. `first`
/// is the text already read. Leaves the session after the attempt for more attempts.
pub fn attempt(
    s: &mut Session,
    ex: &mut Exchange<'_>,
    first: &str,
    user: &str,
    pass: &str,
    timeout: Duration,
) -> Login {
    let mut at = prompt_of(first);
    if at == Prompt::Login {
        s.line(ex, user);
        let t = s.read_prompt(ex, timeout);
        at = prompt_of(&t);
        if at == Prompt::Shell {
            // Logged in without a password.
            return match prove_shell(s, ex, timeout) {
                Some(proof) => Login::Accepted { proof },
                None => Login::Broken(
                    "a prompt after the user name, but the proof command gave nothing".into(),
                ),
            };
        }
        if at != Prompt::Password {
            if locked_out(&t) {
                return Login::LockedOut;
            }
            if rejected(&t) || prompt_of(&t) == Prompt::Login {
                return Login::Rejected;
            }
            return Login::Broken(if s.conn.eof {
                "closed after the user name".into()
            } else {
                "no password prompt".into()
            });
        }
    }
    if at != Prompt::Password {
        return Login::NoPrompt;
    }
    s.line(ex, pass);
    let t = s.read_while(ex, timeout, |t| {
        prompt_of(t) == Prompt::None && !rejected(t)
    });
    if locked_out(&t) {
        return Login::LockedOut;
    }
    match prompt_of(&t) {
        Prompt::Shell if !rejected(&t) => match prove_shell(s, ex, timeout) {
            Some(proof) => Login::Accepted { proof },
            None => Login::Broken(
                "a prompt after the password, but the proof command gave nothing".into(),
            ),
        },
        Prompt::Login | Prompt::Password => Login::Rejected,
        _ if rejected(&t) => {
            // The next prompt usually follows "Login incorrect" (after a delay on busybox).
            Login::Rejected
        }
        _ if s.conn.eof => Login::Broken("closed after the password".into()),
        _ => Login::Broken("no reply to the password".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_and_prompts() {
        let (t, r) = strip_iac(&[
            IAC, DO, 1, b'h', IAC, WILL, 3, b'i', IAC, SB, 24, 1, IAC, SE, b'!',
        ]);
        assert_eq!(t, b"hi!");
        assert_eq!(r, vec![IAC, WONT, 1, IAC, DONT, 3]);
        assert_eq!(prompt_of("Debian\r\nhost login: "), Prompt::Login);
        assert_eq!(prompt_of("Password: "), Prompt::Password);
        assert_eq!(prompt_of("~ # "), Prompt::Shell);
        assert_eq!(prompt_of("Login incorrect\n"), Prompt::None);
        assert!(rejected("Login incorrect"));
    }
}
