//! What every probe shares: the options, the log, the rate cap and the time budget.

use std::io;
use std::net::SocketAddr;

use iotassure_core::progress::Progress;

use crate::conn::Conn;
use crate::log::{Exchange, ProbeLog};
use crate::options::Options;
use crate::pace::{Deadline, Pacer};

pub struct Ctx<'a> {
    pub opts: &'a Options,
    pub log: ProbeLog,
    pub pacer: Pacer,
    pub deadline: Deadline,
    pub progress: &'a dyn Progress,
}

impl<'a> Ctx<'a> {
    pub fn new(opts: &'a Options, progress: &'a dyn Progress) -> Ctx<'a> {
        Ctx {
            opts,
            log: ProbeLog::default(),
            pacer: Pacer::new(opts.rate),
            deadline: Deadline::after(opts.max_time),
            progress,
        }
    }

    pub fn host(&self) -> &str {
        &self.opts.host
    }

    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.opts.ip, port)
    }

    pub fn exchange(&self, probe: &str, port: u16, proto: &str) -> Exchange<'_> {
        Exchange::new(&self.log, probe, &self.opts.ip.to_string(), port, proto)
    }

    /// A TCP connection to the target (paced, timed out, recorded in the log).
    pub fn connect(&self, ex: &mut Exchange<'_>, port: u16) -> io::Result<Conn> {
        if self.deadline.expired() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the run's time budget is spent",
            ));
        }
        self.pacer.acquire();
        self.log.note(&ex.probe, &ex.host, port, "tcp", "connect");
        Conn::connect(self.addr(port), self.opts.io_timeout)
            .inspect_err(|e| ex.note(format!("connect failed: {e}")))
    }

    /// A TLS connection (1.2/1.3 through rustls); the handshake is noted in the transcript.
    pub fn connect_tls(&self, ex: &mut Exchange<'_>, port: u16) -> io::Result<Conn> {
        if self.deadline.expired() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the run's time budget is spent",
            ));
        }
        self.pacer.acquire();
        match Conn::connect_tls(self.addr(port), self.host(), self.opts.io_timeout) {
            Ok(c) => {
                ex.note(format!(
                    "TLS handshake ({})",
                    c.tls_version().unwrap_or_default()
                ));
                Ok(c)
            }
            Err(e) => {
                ex.note(format!("TLS connect failed: {e}"));
                Err(e)
            }
        }
    }

    /// Plain or TLS, as the service needs.
    pub fn open(&self, ex: &mut Exchange<'_>, port: u16, tls: bool) -> io::Result<Conn> {
        if tls {
            self.connect_tls(ex, port)
        } else {
            self.connect(ex, port)
        }
    }
}
