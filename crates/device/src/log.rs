//! The probe log: every byte sent and received, in order, so the report can say exactly what was
//! sent. Findings carry a trimmed copy of their own exchange (`Location::Network.transcript`); the
//! full log is written beside the report (`probe-log.jsonl`).

use std::sync::Mutex;
use std::time::Instant;

use iotassure_core::finding::{Location, TranscriptLine};
use serde::Serialize;

/// One line of `probe-log.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Milliseconds since the run started.
    pub t_ms: u64,
    /// The probe (check id or step) that sent or received it.
    pub probe: String,
    pub host: String,
    pub port: u16,
    /// `tcp`, `udp`, or the application protocol (`http`, `tls`, `ssh`...).
    pub proto: String,
    /// `sent`, `received` or `note`.
    pub dir: &'static str,
    pub len: usize,
    /// The bytes, as text with `\xNN` escapes for anything not printable (lossless).
    pub data: String,
}

#[derive(Debug)]
pub struct ProbeLog {
    started: Instant,
    entries: Mutex<Vec<LogEntry>>,
}

impl Default for ProbeLog {
    fn default() -> Self {
        ProbeLog {
            started: Instant::now(),
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl ProbeLog {
    pub fn push(&self, mut e: LogEntry) {
        e.t_ms = self.started.elapsed().as_millis() as u64;
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    pub fn note(&self, probe: &str, host: &str, port: u16, proto: &str, text: impl Into<String>) {
        let data: String = text.into();
        self.push(LogEntry {
            t_ms: 0,
            probe: probe.into(),
            host: host.into(),
            port,
            proto: proto.into(),
            dir: "note",
            len: data.len(),
            data,
        });
    }

    pub fn take(&self) -> Vec<LogEntry> {
        let mut v = std::mem::take(&mut *self.entries.lock().unwrap_or_else(|p| p.into_inner()));
        v.sort_by_key(|e| e.t_ms);
        v
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|v| v.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Escapes bytes as text: printable ASCII as is, `\r` `\n` `\t` as such, others `\xNN`.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

/// Longest transcript line kept in a finding; longer data is cut with a note of how much.
const LINE_MAX: usize = 200;
/// Most lines kept in a finding's transcript (first ones and the last ones).
const LINES_MAX: usize = 14;

/// One exchange with one service: recorded in full in the log, and kept trimmed for evidence.
pub struct Exchange<'a> {
    log: &'a ProbeLog,
    pub probe: String,
    pub host: String,
    pub port: u16,
    pub proto: String,
    lines: Vec<TranscriptLine>,
}

impl<'a> Exchange<'a> {
    pub fn new(log: &'a ProbeLog, probe: &str, host: &str, port: u16, proto: &str) -> Exchange<'a> {
        Exchange {
            log,
            probe: probe.into(),
            host: host.into(),
            port,
            proto: proto.into(),
            lines: Vec::new(),
        }
    }

    fn record(&mut self, dir: &'static str, bytes: &[u8], shown: Option<String>) {
        let data = escape(bytes);
        self.log.push(LogEntry {
            t_ms: 0,
            probe: self.probe.clone(),
            host: self.host.clone(),
            port: self.port,
            proto: self.proto.clone(),
            dir,
            len: bytes.len(),
            data: data.clone(),
        });
        self.lines.push(TranscriptLine {
            dir: dir.into(),
            data: trim(&shown.unwrap_or(data), bytes.len()),
        });
    }

    pub fn sent(&mut self, bytes: &[u8]) {
        self.record("sent", bytes, None);
    }

    /// Records bytes sent, but shows a summary in the evidence (binary handshakes).
    pub fn sent_as(&mut self, bytes: &[u8], summary: impl Into<String>) {
        self.record("sent", bytes, Some(summary.into()));
    }

    pub fn received(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.record("received", bytes, None);
        }
    }

    pub fn received_as(&mut self, bytes: &[u8], summary: impl Into<String>) {
        self.record("received", bytes, Some(summary.into()));
    }

    pub fn note(&mut self, text: impl Into<String>) {
        let t: String = text.into();
        self.log
            .note(&self.probe, &self.host, self.port, &self.proto, t.clone());
        self.lines.push(TranscriptLine {
            dir: "note".into(),
            data: t,
        });
    }

    pub fn lines(&self) -> &[TranscriptLine] {
        &self.lines
    }

    /// The evidence location, with the transcript trimmed to the first and last lines.
    pub fn location(&self) -> Location {
        let mut t = self.lines.clone();
        if t.len() > LINES_MAX {
            let tail = t.split_off(t.len() - 4);
            let omitted = t.len() - (LINES_MAX - 5);
            t.truncate(LINES_MAX - 5);
            t.push(TranscriptLine {
                dir: "note".into(),
                data: format!("… {omitted} lines omitted (full exchange in probe-log.jsonl)"),
            });
            t.extend(tail);
        }
        Location::Network {
            host: self.host.clone(),
            port: self.port,
            protocol: self.proto.clone(),
            transcript: t,
        }
    }

    /// A location with only the lines whose data matches `keep` (plus notes), for findings about
    /// one step of a long exchange.
    pub fn location_where(&self, keep: impl Fn(&TranscriptLine) -> bool) -> Location {
        let t: Vec<TranscriptLine> = self
            .lines
            .iter()
            .filter(|l| l.dir == "note" || keep(l))
            .cloned()
            .collect();
        Location::Network {
            host: self.host.clone(),
            port: self.port,
            protocol: self.proto.clone(),
            transcript: t,
        }
    }
}

fn trim(s: &str, total: usize) -> String {
    if s.len() <= LINE_MAX {
        return s.to_string();
    }
    let mut cut = LINE_MAX;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({total} bytes)", &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_trims() {
        assert_eq!(escape(b"a\r\n\x00\xff\\"), "a\\r\\n\\x00\\xff\\\\");
        let log = ProbeLog::default();
        let mut ex = Exchange::new(&log, "t", "127.0.0.1", 1, "tcp");
        ex.sent(&[b'x'; 1000]);
        for i in 0..30 {
            ex.received(format!("line {i}").as_bytes());
        }
        let Location::Network { transcript, .. } = ex.location() else {
            panic!()
        };
        assert!(transcript[0].data.ends_with("(1000 bytes)"));
        assert_eq!(transcript.len(), LINES_MAX);
        assert_eq!(transcript.last().unwrap().data, "line 29");
        let all = log.take();
        assert_eq!(all.len(), 31);
        assert_eq!(all[0].data.len(), 1000, "the log keeps everything");
    }
}
