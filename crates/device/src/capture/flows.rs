//! Conversations of the device, built from decoded packets: TCP connections (who opened them,
//! whether they were answered, the first bytes each way, reassembled in sequence order) and UDP
//! exchanges. Everything is bounded: conversations, stored bytes per direction, segments.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use super::decode::{Packet, L4};

/// Most conversations tracked; later ones are counted, not kept.
pub const MAX_FLOWS: usize = 200_000;
/// Bytes kept per direction (enough for a ClientHello, a server's first flight, request lines).
pub const CLIENT_KEEP: u32 = 16 * 1024;
pub const SERVER_KEEP: u32 = 32 * 1024;
/// Out-of-order segments kept per direction.
const MAX_SEGMENTS: usize = 256;
/// Payload bytes kept over all conversations (later bytes are counted, not kept).
pub const MAX_STORED: usize = 256 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

/// One direction's bytes, by offset from the first sequence number.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    isn: Option<u32>,
    segments: BTreeMap<u32, Vec<u8>>,
    pub bytes: u64,
    pub packets: u64,
}

impl Stream {
    fn add(&mut self, seq: u32, payload: &[u8], keep: u32, budget: &mut usize) {
        self.packets += 1;
        if payload.is_empty() {
            return;
        }
        self.bytes += payload.len() as u64;
        let isn = *self.isn.get_or_insert(seq.wrapping_sub(1));
        let off = seq.wrapping_sub(isn).wrapping_sub(1);
        if off >= keep || self.segments.len() >= MAX_SEGMENTS {
            return;
        }
        let take = payload.len().min((keep - off) as usize);
        let e = self.segments.entry(off).or_default();
        if e.len() < take && *budget >= take - e.len() {
            *budget -= take - e.len();
            *e = payload[..take].to_vec();
        }
    }

    /// The contiguous bytes from the start (stops at the first gap).
    pub fn data(&self) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for (&off, seg) in &self.segments {
            let off = off as usize;
            if off > out.len() {
                break;
            }
            let skip = out.len() - off;
            if skip < seg.len() {
                out.extend_from_slice(&seg[skip..]);
            }
        }
        out
    }
}

/// A conversation: `client` sent the first packet (the SYN for TCP).
#[derive(Debug, Clone)]
pub struct Flow {
    pub transport: Transport,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub first_ts: f64,
    pub last_ts: f64,
    pub first_frame: u64,
    pub last_frame: u64,
    /// SYNs the client sent (1 + retransmissions).
    pub syns: u32,
    pub syn_ack: bool,
    /// The server refused (RST before any data) or the connection was reset.
    pub reset_by_server: bool,
    pub reset_by_client: bool,
    pub fin_client: bool,
    pub fin_server: bool,
    /// The capture began after the connection opened: who is the client is a guess.
    pub mid_stream: bool,
    pub up: Stream,
    pub down: Stream,
    /// UDP: each datagram's payload (bounded), in order, with its direction (true: client→server).
    pub datagrams: Vec<(bool, Vec<u8>)>,
}

impl Flow {
    pub fn answered(&self) -> bool {
        match self.transport {
            Transport::Tcp => self.syn_ack || self.down.packets > 0 && !self.reset_by_server,
            Transport::Udp => self.down.packets > 0,
        }
    }

    /// A TCP attempt that never got a SYN-ACK (silently dropped or refused).
    pub fn failed_attempt(&self) -> bool {
        self.transport == Transport::Tcp && !self.mid_stream && !self.syn_ack
    }

    pub fn frames(&self) -> String {
        if self.first_frame == self.last_frame {
            format!("frame {}", self.first_frame)
        } else {
            format!("frames {}–{}", self.first_frame, self.last_frame)
        }
    }
}

type Key = (Transport, IpAddr, u16, IpAddr, u16);

#[derive(Debug)]
pub struct Tracker {
    pub flows: Vec<Flow>,
    index: HashMap<Key, usize>,
    /// Conversations not kept (over MAX_FLOWS).
    pub dropped: u64,
    /// Payload bytes that may still be kept.
    budget: usize,
}

impl Default for Tracker {
    fn default() -> Tracker {
        Tracker {
            flows: Vec::new(),
            index: HashMap::new(),
            dropped: 0,
            budget: MAX_STORED,
        }
    }
}

/// Well-known server ports, to guess the client of a conversation seen mid-stream.
fn server_like(p: u16) -> bool {
    p < 1024
        || matches!(
            p,
            1883 | 8883
                | 8080
                | 8443
                | 5683
                | 5684
                | 3478
                | 5222
                | 5223
                | 8000
                | 8008
                | 8888
                | 9000
        )
}

impl Tracker {
    /// The payload bound was reached: later conversations are judged from fewer bytes.
    pub fn exhausted(&self) -> bool {
        self.budget < 64 * 1024
    }

    pub fn add(&mut self, frame: u64, ts: f64, p: &Packet<'_>) {
        let (transport, sport, dport, syn_only) = match p.l4 {
            L4::Tcp {
                sport,
                dport,
                flags,
                ..
            } => (Transport::Tcp, sport, dport, flags.syn && !flags.ack),
            L4::Udp { sport, dport, .. } => (Transport::Udp, sport, dport, false),
            L4::Other(_) => return,
        };
        let fwd: Key = (transport, p.src, sport, p.dst, dport);
        let rev: Key = (transport, p.dst, dport, p.src, sport);
        // A new SYN on a key whose flow already ended is a new attempt (port reuse).
        let existing = if let Some(&i) = self.index.get(&fwd) {
            let f = &self.flows[i];
            let reused = syn_only && (f.syn_ack || f.reset_by_server) && f.up.bytes > 0
                || syn_only && ts - f.last_ts > 30.0;
            (!reused).then_some((i, true))
        } else {
            self.index.get(&rev).map(|&i| (i, false))
        };
        let (i, from_client) = match existing {
            Some(x) => x,
            None => {
                if self.flows.len() >= MAX_FLOWS {
                    self.dropped += 1;
                    return;
                }
                let mid = transport == Transport::Tcp && !syn_only;
                // Mid-stream: the side on a server-like port is the server.
                let (client, server, from_client) =
                    if mid && server_like(sport) && !server_like(dport) {
                        ((p.dst, dport), (p.src, sport), false)
                    } else {
                        ((p.src, sport), (p.dst, dport), true)
                    };
                self.flows.push(Flow {
                    transport,
                    client,
                    server,
                    first_ts: ts,
                    last_ts: ts,
                    first_frame: frame,
                    last_frame: frame,
                    syns: 0,
                    syn_ack: false,
                    reset_by_server: false,
                    reset_by_client: false,
                    fin_client: false,
                    fin_server: false,
                    mid_stream: mid,
                    up: Stream::default(),
                    down: Stream::default(),
                    datagrams: Vec::new(),
                });
                let i = self.flows.len() - 1;
                let key: Key = (transport, client.0, client.1, server.0, server.1);
                self.index.insert(key, i);
                (i, from_client)
            }
        };
        let budget = &mut self.budget;
        let f = &mut self.flows[i];
        f.last_ts = f.last_ts.max(ts);
        f.last_frame = frame;
        match p.l4 {
            L4::Tcp {
                flags,
                seq,
                payload,
                ..
            } => {
                if from_client {
                    if flags.syn && !flags.ack {
                        f.syns += 1;
                        f.up.isn = Some(seq);
                    } else {
                        f.up.add(seq, payload, CLIENT_KEEP, budget);
                    }
                    f.reset_by_client |= flags.rst;
                    f.fin_client |= flags.fin;
                } else {
                    if flags.syn && flags.ack {
                        f.syn_ack = true;
                        f.down.isn = Some(seq);
                    } else {
                        f.down.add(seq, payload, SERVER_KEEP, budget);
                    }
                    f.reset_by_server |= flags.rst;
                    f.fin_server |= flags.fin;
                }
            }
            L4::Udp { payload, .. } => {
                let s = if from_client { &mut f.up } else { &mut f.down };
                s.packets += 1;
                s.bytes += payload.len() as u64;
                let n = payload.len().min(2048);
                if f.datagrams.len() < 64 && *budget >= n {
                    *budget -= n;
                    f.datagrams.push((from_client, payload[..n].to_vec()));
                }
            }
            L4::Other(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_reassembles_out_of_order_and_retransmitted() {
        let mut s = Stream {
            isn: Some(999),
            ..Default::default()
        };
        let mut b = usize::MAX;
        s.add(1006, b"world", 100, &mut b);
        s.add(1000, b"hello ", 100, &mut b);
        s.add(1000, b"hello ", 100, &mut b);
        assert_eq!(s.data(), b"hello world");
        // A gap stops the contiguous data.
        s.add(1020, b"later", 100, &mut b);
        assert_eq!(s.data(), b"hello world");
        // Sequence numbers wrap.
        let mut w = Stream {
            isn: Some(u32::MAX - 2),
            ..Default::default()
        };
        w.add(u32::MAX - 1, b"ab", 100, &mut b);
        w.add(0, b"cd", 100, &mut b);
        assert_eq!(w.data(), b"abcd");
        // The budget bounds what is kept, not what is counted.
        let mut small = 3;
        let mut t = Stream::default();
        t.add(1, b"abcdef", 100, &mut small);
        assert_eq!(t.bytes, 6);
        assert!(t.data().is_empty());
    }
}
