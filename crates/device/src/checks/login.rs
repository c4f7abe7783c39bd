//! One login attempt at a time, per protocol, keeping a session open between attempts where the
//! protocol allows (as an attacker would). The brute-force test drives these.

use std::time::Duration;

use iotassure_core::finding::Location;

use super::ids;
use super::unauth::Protected;
use crate::ctx::Ctx;
use crate::log::Exchange;
use crate::services::{http, mqtt, telnet, Proto, Service};
use crate::ssh::{self, AuthResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Try {
    Accepted,
    Rejected,
    /// The service said the account is locked or we are throttled.
    Locked(String),
    /// The connection was refused or cut before an answer.
    Refused(String),
    Error(String),
}

pub struct Attempter<'c, 'a> {
    ctx: &'c Ctx<'a>,
    svc: Service,
    ex: Exchange<'c>,
    telnet: Option<(telnet::Session, String)>,
    ssh: Option<ssh::Session>,
    ssh_kbd: bool,
    http: Option<Protected>,
}

impl<'c, 'a> Attempter<'c, 'a> {
    pub fn new(ctx: &'c Ctx<'a>, svc: &Service, http: Option<Protected>) -> Attempter<'c, 'a> {
        Attempter {
            ctx,
            svc: svc.clone(),
            ex: ctx.exchange(ids::BRUTEFORCE, svc.port, svc.name()),
            telnet: None,
            ssh: None,
            ssh_kbd: false,
            http,
        }
    }

    pub fn location(&self) -> Location {
        self.ex.location()
    }

    pub fn note(&mut self, s: impl Into<String>) {
        self.ex.note(s);
    }

    fn timeout(&self) -> Duration {
        super::creds::login_timeout(self.ctx)
    }

    pub fn attempt(&mut self, user: &str, pass: &str) -> Try {
        match self.svc.proto {
            Proto::Telnet => self.telnet(user, pass),
            Proto::Ssh => self.ssh(user, pass),
            Proto::Mqtt => self.mqtt(user, pass),
            Proto::Http => self.http(user, pass),
            Proto::Ftp => self.ftp(user, pass),
            _ => Try::Error("not a login protocol this test drives".into()),
        }
    }

    fn telnet(&mut self, user: &str, pass: &str) -> Try {
        let t = self.timeout();
        if self.telnet.is_none() {
            let c = match self.ctx.connect(&mut self.ex, self.svc.port) {
                Ok(c) => c,
                Err(e) => return Try::Refused(e.to_string()),
            };
            let mut s = telnet::Session::new(c);
            let text = s.read_prompt(&mut self.ex, t);
            if telnet::locked_out(&text) {
                return Try::Locked(crate::text::line(text.as_bytes(), 100));
            }
            match telnet::prompt_of(&text) {
                telnet::Prompt::Login | telnet::Prompt::Password => self.telnet = Some((s, text)),
                _ => {
                    return Try::Refused(if s.conn.eof {
                        "closed before a prompt".into()
                    } else {
                        "no login prompt".into()
                    })
                }
            }
        }
        let (s, text) = self.telnet.as_mut().expect("set");
        let r = telnet::attempt(s, &mut self.ex, text, user, pass, t);
        match r {
            telnet::Login::Accepted { .. } => {
                s.line(&mut self.ex, "exit");
                self.telnet = None;
                Try::Accepted
            }
            telnet::Login::Rejected => {
                let next = s.next_prompt(&mut self.ex, t);
                if telnet::locked_out(&next) {
                    self.telnet = None;
                    return Try::Locked(crate::text::line(next.as_bytes(), 100));
                }
                match telnet::prompt_of(&next) {
                    telnet::Prompt::Login | telnet::Prompt::Password => *text = next,
                    _ => self.telnet = None,
                }
                Try::Rejected
            }
            telnet::Login::LockedOut => {
                self.telnet = None;
                Try::Locked("the service said the account is locked".into())
            }
            other => {
                self.telnet = None;
                Try::Error(format!("{other:?}"))
            }
        }
    }

    fn ssh(&mut self, user: &str, pass: &str) -> Try {
        for _ in 0..2 {
            if self.ssh.is_none() {
                let c = match self.ctx.connect(&mut self.ex, self.svc.port) {
                    Ok(c) => c,
                    Err(e) => return Try::Refused(e.to_string()),
                };
                match ssh::Session::establish(c, &mut self.ex, self.ctx.opts.io_timeout) {
                    Ok(mut s) => {
                        if let Ok(AuthResult::Failure(m)) = s.auth_none(&mut self.ex, user) {
                            self.ssh_kbd = !m.iter().any(|x| x == "password")
                                && m.iter().any(|x| x == "keyboard-interactive");
                        }
                        self.ssh = Some(s);
                    }
                    Err(ssh::SshError::Disconnected(why)) => return Try::Refused(why),
                    Err(e) => return Try::Error(e.to_string()),
                }
            }
            let s = self.ssh.as_mut().expect("set");
            let r = if self.ssh_kbd {
                s.auth_keyboard(&mut self.ex, user, pass)
            } else {
                s.auth_password(&mut self.ex, user, pass)
            };
            match r {
                Ok(AuthResult::Success) => {
                    if let Some(s) = self.ssh.take() {
                        s.close();
                    }
                    return Try::Accepted;
                }
                Ok(AuthResult::Failure(_)) => return Try::Rejected,
                Err(_) => {
                    // Dropped after too many tries on one connection: a fresh one, once.
                    if let Some(s) = self.ssh.take() {
                        s.close();
                    }
                }
            }
        }
        Try::Refused("the server dropped the session twice".into())
    }

    fn mqtt(&mut self, user: &str, pass: &str) -> Try {
        let mut c = match self.ctx.open(&mut self.ex, self.svc.port, self.svc.tls) {
            Ok(c) => c,
            Err(e) => return Try::Refused(e.to_string()),
        };
        let _ = c.send_as(
            &mut self.ex,
            &mqtt::connect("iotassure-bf", Some((user, pass))),
            &format!("MQTT CONNECT user={user} password={pass}"),
        );
        let ack = c.read_until_quiet(&mut self.ex, self.ctx.opts.io_timeout, |b| b.len() >= 4);
        let r = match mqtt::connack(&ack) {
            Some(0) => {
                let _ = c.send_as(&mut self.ex, &mqtt::DISCONNECT, "MQTT DISCONNECT");
                Try::Accepted
            }
            Some(4) | Some(5) => Try::Rejected,
            Some(3) => Try::Locked("CONNACK 3: server unavailable".into()),
            Some(rc) => Try::Error(format!("CONNACK {rc}")),
            None => Try::Refused("no CONNACK".into()),
        };
        c.close();
        r
    }

    fn http(&mut self, user: &str, pass: &str) -> Try {
        let Some(p) = self.http.clone() else {
            return Try::Error("no protected path".into());
        };
        let auth = if p.scheme.eq_ignore_ascii_case("digest") {
            let ch = http::fetch(
                self.ctx,
                &mut self.ex,
                self.svc.port,
                self.svc.tls,
                &http::Request::get(&p.path),
            )
            .and_then(|r| r.header("www-authenticate").map(str::to_string))
            .unwrap_or(p.challenge.clone());
            match http::digest_auth(&ch, "GET", &p.path, user, pass, &crate::text::marker()) {
                Some(v) => v,
                None => return Try::Error("no nonce".into()),
            }
        } else {
            format!(
                "Basic {}",
                crate::text::base64(format!("{user}:{pass}").as_bytes())
            )
        };
        match http::fetch(
            self.ctx,
            &mut self.ex,
            self.svc.port,
            self.svc.tls,
            &http::Request::get(&p.path).header("Authorization", auth),
        )
        .map(|r| r.status)
        {
            Some(401) => Try::Rejected,
            Some(s @ (403 | 429 | 503)) => Try::Locked(format!("HTTP {s}")),
            Some(s) if s < 500 => Try::Accepted,
            Some(s) => Try::Error(format!("HTTP {s}")),
            None => Try::Refused("no reply".into()),
        }
    }

    fn ftp(&mut self, user: &str, pass: &str) -> Try {
        let t = self.timeout();
        let mut c = match self.ctx.connect(&mut self.ex, self.svc.port) {
            Ok(c) => c,
            Err(e) => return Try::Refused(e.to_string()),
        };
        let done = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .any(|l| l.len() >= 4 && l.as_bytes()[3] == b' ')
        };
        let code = |b: &[u8]| -> u16 {
            String::from_utf8_lossy(b)
                .lines()
                .rev()
                .find_map(|l| l.get(..3).and_then(|c| c.parse().ok()))
                .unwrap_or(0)
        };
        let g = c.read_until(&mut self.ex, t, done);
        if code(&g) != 220 {
            c.close();
            return if code(&g) == 421 {
                Try::Locked(crate::text::line(&g, 80))
            } else {
                Try::Refused("no greeting".into())
            };
        }
        let _ = c.send(&mut self.ex, format!("USER {user}\r\n").as_bytes());
        let r1 = c.read_until(&mut self.ex, t, done);
        let r = match code(&r1) {
            230 => Try::Accepted,
            331 | 332 => {
                let _ = c.send(&mut self.ex, format!("PASS {pass}\r\n").as_bytes());
                let r2 = c.read_until(&mut self.ex, t, done);
                match code(&r2) {
                    230 => Try::Accepted,
                    421 => Try::Locked(crate::text::line(&r2, 80)),
                    530 => Try::Rejected,
                    other => Try::Error(format!("reply {other}")),
                }
            }
            421 => Try::Locked(crate::text::line(&r1, 80)),
            other => Try::Error(format!("reply {other}")),
        };
        let _ = c.send(&mut self.ex, b"QUIT\r\n");
        c.close();
        r
    }
}
