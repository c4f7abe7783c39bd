//! UDP exchanges: unicast to the target only (never broadcast or multicast), one retry, replies
//! gathered for a bounded time.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::ctx::Ctx;
use crate::log::Exchange;

#[derive(Debug)]
pub enum UdpReply {
    /// Datagrams received (from the target address only).
    Answered(Vec<Vec<u8>>),
    /// ICMP port unreachable: nothing listens.
    Closed,
    /// No answer: closed behind a filter, or open but silent.
    Silent,
}

/// Sends `payload` to the target's `port` (twice if no answer) and gathers replies for `wait`.
pub fn exchange(
    ctx: &Ctx<'_>,
    ex: &mut Exchange<'_>,
    port: u16,
    payload: &[u8],
    summary: Option<&str>,
    wait: Duration,
    max_replies: usize,
) -> io::Result<UdpReply> {
    let target = ctx.addr(port);
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let sock = UdpSocket::bind(bind)?;
    // connect() filters replies to the target and surfaces ICMP port unreachable as an error.
    sock.connect(target)?;
    let mut replies = Vec::new();
    for attempt in 0..2 {
        if ctx.deadline.expired() {
            break;
        }
        ctx.pacer.acquire();
        match summary {
            Some(s) => ex.sent_as(payload, s),
            None => ex.sent(payload),
        }
        sock.send(payload)?;
        let end = Instant::now() + if attempt == 0 { wait } else { wait / 2 };
        let mut buf = vec![0u8; 65536];
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() || replies.len() >= max_replies {
                break;
            }
            sock.set_read_timeout(Some(left))?;
            match sock.recv(&mut buf) {
                Ok(n) => {
                    ex.received(&buf[..n]);
                    replies.push(buf[..n].to_vec());
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    ex.note("ICMP port unreachable");
                    return Ok(UdpReply::Closed);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => return Err(e),
            }
        }
        if !replies.is_empty() {
            return Ok(UdpReply::Answered(replies));
        }
    }
    ex.note("no reply");
    Ok(UdpReply::Silent)
}
