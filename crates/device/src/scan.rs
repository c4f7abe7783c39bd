//! Discovery: a TCP connect scan with non-blocking connects (epoll through mio), a bounded number
//! in flight, a per-connect timeout and the global rate cap. No raw sockets, so it needs no
//! privileges and behaves like `nmap -sT`.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::pace::{Deadline, Pacer};

#[derive(Debug, Clone, Default)]
pub struct TcpScan {
    pub ports_total: usize,
    pub open: Vec<u16>,
    pub closed: u32,
    /// No answer within the timeout (dropped by a filter, or a slow host).
    pub filtered: Vec<u16>,
    /// Host or network unreachable.
    pub unreachable: u32,
    /// Loopback connections that met themselves (local address = peer address): not services.
    pub self_connects: u32,
    /// Ports not scanned because the run's time budget ran out.
    pub not_scanned: Vec<u16>,
    pub elapsed: Duration,
}

pub struct ScanParams<'a> {
    pub concurrency: usize,
    pub timeout: Duration,
    pub pacer: &'a Pacer,
    pub deadline: Deadline,
    /// Told how many ports of the first pass have an answer (or timed out).
    pub progress: Option<&'a ScanProgress<'a>>,
}

/// The first pass's count, shared by its threads.
pub struct ScanProgress<'a> {
    pub sink: &'a dyn iotassure_core::progress::Progress,
    pub done: std::sync::atomic::AtomicU64,
    pub total: u64,
}

impl ScanProgress<'_> {
    fn add(&self, n: usize) {
        use std::sync::atomic::Ordering;
        let done = self.done.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        self.sink.count(done, Some(self.total));
    }
}

struct Slot {
    stream: TcpStream,
    port: u16,
    gen: u64,
}

enum Result_ {
    Open,
    Closed,
    SelfConnect,
    Unreachable,
    Pending,
}

pub fn tcp_scan(ip: IpAddr, ports: &[u16], p: &ScanParams<'_>) -> io::Result<TcpScan> {
    let started = Instant::now();
    let mut out = TcpScan {
        ports_total: ports.len(),
        ..Default::default()
    };
    let first = parallel_pass(ip, ports, p, &mut out)?;
    // One retry for ports that timed out, as nmap retransmits: a lost SYN is not a filter. A host
    // that drops everything gets no retry storm.
    if !first.is_empty() && first.len() <= 256 && !p.deadline.expired() {
        let retry = ScanParams {
            progress: None,
            ..*p
        };
        let again = scan_pass(ip, &first, &retry, p.timeout * 2, &mut out)?;
        out.filtered = again;
    } else {
        out.filtered = first;
    }
    out.open.sort_unstable();
    out.open.dedup();
    out.elapsed = started.elapsed();
    Ok(out)
}

/// The first pass, split over a few threads (each with its own epoll set and a share of the
/// window) when there are many ports: connect() and close() are syscalls, and two cores do them
/// twice as fast. The rate cap is shared.
fn parallel_pass(
    ip: IpAddr,
    ports: &[u16],
    p: &ScanParams<'_>,
    out: &mut TcpScan,
) -> io::Result<Vec<u16>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    if threads < 2 || ports.len() < 4096 {
        return scan_pass(ip, ports, p, p.timeout, out);
    }
    let share = ScanParams {
        concurrency: (p.concurrency / threads).max(1),
        timeout: p.timeout,
        pacer: p.pacer,
        deadline: p.deadline,
        progress: p.progress,
    };
    // Interleaved shares, so each thread meets the same mix of ports.
    let parts: Vec<Vec<u16>> = (0..threads)
        .map(|t| ports.iter().copied().skip(t).step_by(threads).collect())
        .collect();
    let results: Vec<io::Result<(TcpScan, Vec<u16>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| {
                let share = &share;
                s.spawn(move || {
                    let mut o = TcpScan::default();
                    let t = scan_pass(ip, part, share, share.timeout, &mut o)?;
                    Ok((o, t))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("scan thread panicked")))
            })
            .collect()
    });
    let mut timed_out = Vec::new();
    for r in results {
        let (o, t) = r?;
        out.open.extend(o.open);
        out.closed += o.closed;
        out.unreachable += o.unreachable;
        out.self_connects += o.self_connects;
        out.not_scanned.extend(o.not_scanned);
        timed_out.extend(t);
    }
    Ok(timed_out)
}

/// One pass over `ports`; returns the ports that timed out.
fn scan_pass(
    ip: IpAddr,
    ports: &[u16],
    p: &ScanParams<'_>,
    timeout: Duration,
    out: &mut TcpScan,
) -> io::Result<Vec<u16>> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut slots: Vec<Option<Slot>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut expiry: VecDeque<(Instant, usize, u64)> = VecDeque::new();
    let mut queue: VecDeque<u16> = ports.iter().copied().collect();
    let mut in_flight = 0usize;
    let mut gen = 0u64;
    let mut timed_out = Vec::new();
    let mut fd_limit = p.concurrency.max(1);
    // Self-connections (local address = peer address) can only happen on loopback.
    let loopback = ip.is_loopback();
    let mut reported = 0usize;

    loop {
        if let Some(pr) = p.progress {
            let finished = ports.len() - queue.len() - in_flight;
            if finished > reported {
                pr.add(finished - reported);
                reported = finished;
            }
        }
        if p.deadline.expired() {
            out.not_scanned.extend(queue.drain(..));
            for s in slots.iter_mut().filter_map(|s| s.take()) {
                out.not_scanned.push(s.port);
            }
            break;
        }
        // Fill the window.
        while in_flight < fd_limit {
            let Some(port) = queue.pop_front() else { break };
            p.pacer.acquire();
            let addr = SocketAddr::new(ip, port);
            match TcpStream::connect(addr) {
                Ok(mut stream) => {
                    let idx = free.pop().unwrap_or_else(|| {
                        slots.push(None);
                        slots.len() - 1
                    });
                    gen += 1;
                    poll.registry()
                        .register(&mut stream, Token(idx), Interest::WRITABLE)?;
                    slots[idx] = Some(Slot { stream, port, gen });
                    expiry.push_back((Instant::now() + timeout, idx, gen));
                    in_flight += 1;
                }
                Err(e)
                    if e.raw_os_error() == Some(24)
                        || e.kind() == io::ErrorKind::AddrNotAvailable =>
                {
                    // Out of descriptors or local ports: shrink the window and retry the port.
                    queue.push_front(port);
                    if in_flight == 0 {
                        return Err(e);
                    }
                    fd_limit = (in_flight * 3 / 4).max(1);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => out.closed += 1,
                Err(_) => out.unreachable += 1,
            }
        }
        if in_flight == 0 && queue.is_empty() {
            break;
        }
        let next_expiry = expiry
            .front()
            .map(|e| e.0.saturating_duration_since(Instant::now()));
        let wait = next_expiry
            .unwrap_or(Duration::from_millis(50))
            .min(p.deadline.remaining())
            .min(Duration::from_millis(200));
        poll.poll(&mut events, Some(wait))?;
        for ev in events.iter() {
            let idx = ev.token().0;
            let Some(slot) = slots.get_mut(idx).and_then(|s| s.as_mut()) else {
                continue;
            };
            // A reset (the usual closed port) shows as error + hang-up: no need to ask the
            // socket why. Anything else is checked with SO_ERROR and getpeername.
            let r = if ev.is_error() && ev.is_write_closed() && !ev.is_writable() {
                Result_::Closed
            } else {
                match slot.stream.take_error() {
                    Ok(Some(e)) | Err(e) => classify_error(&e),
                    Ok(None) => match slot.stream.peer_addr() {
                        Ok(peer) => {
                            if loopback && slot.stream.local_addr().ok() == Some(peer) {
                                Result_::SelfConnect
                            } else {
                                Result_::Open
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                            if ev.is_error() || ev.is_write_closed() {
                                Result_::Closed
                            } else {
                                Result_::Pending
                            }
                        }
                        Err(e) => classify_error(&e),
                    },
                }
            };
            let port = slot.port;
            match r {
                Result_::Pending => continue,
                Result_::Open => out.open.push(port),
                Result_::Closed => out.closed += 1,
                Result_::SelfConnect => {
                    out.self_connects += 1;
                    out.closed += 1;
                }
                Result_::Unreachable => out.unreachable += 1,
            }
            // Dropping the stream closes its socket, which also takes it out of the epoll set
            // (one syscall fewer per port than deregistering first).
            slots[idx] = None;
            free.push(idx);
            in_flight -= 1;
        }
        // Expire connects that got no answer.
        let now = Instant::now();
        while let Some(&(when, idx, g)) = expiry.front() {
            if when > now {
                break;
            }
            expiry.pop_front();
            if slots[idx].as_ref().is_some_and(|s| s.gen == g) {
                let s = slots[idx].take().expect("checked");
                timed_out.push(s.port);
                free.push(idx);
                in_flight -= 1;
            }
        }
        // Drop stale expiry entries of finished slots once in a while (bounded memory).
        if expiry.len() > 4 * fd_limit + 1024 {
            expiry.retain(|&(_, idx, g)| slots[idx].as_ref().is_some_and(|s| s.gen == g));
        }
    }
    Ok(timed_out)
}

fn classify_error(e: &io::Error) -> Result_ {
    match e.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => Result_::Closed,
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => Result_::Unreachable,
        _ => Result_::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn finds_listeners_and_not_closed_ports() {
        let l1 = TcpListener::bind("127.0.0.1:0").unwrap();
        let l2 = TcpListener::bind("127.0.0.1:0").unwrap();
        let (a, b) = (
            l1.local_addr().unwrap().port(),
            l2.local_addr().unwrap().port(),
        );
        // A port that was free a moment ago is almost surely still closed.
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let pacer = Pacer::new(100_000);
        let p = ScanParams {
            concurrency: 64,
            timeout: Duration::from_millis(500),
            pacer: &pacer,
            deadline: Deadline::after(Duration::from_secs(20)),
            progress: None,
        };
        let r = tcp_scan("127.0.0.1".parse().unwrap(), &[a, b, closed], &p).unwrap();
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(r.open, want);
        assert_eq!(r.closed, 1);
        assert!(r.filtered.is_empty());
    }
}
