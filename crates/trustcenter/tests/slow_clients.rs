//! Slow clients cannot hold the service: a request header that never ends and a request body
//! that stops sending are both cut off at their deadlines (here 1 s, 15 s and 30 s by default),
//! and the service goes on answering others. Before the accept loop of `listen.rs`, hyper had no
//! timer and such a connection stayed open for as long as the client liked.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use iotassure_trustcenter::Server;

/// Reads until the server closes the connection, for at most `limit`; the time it took, or
/// `None` when the connection was still open at `limit`.
fn closed_within(s: &mut TcpStream, limit: Duration) -> (Option<Duration>, Vec<u8>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return (Some(start.elapsed()), got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (Some(start.elapsed()), got),
        }
    }
    (None, got)
}

#[test]
fn slow_headers_and_stalled_bodies_are_cut_off() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", data.path().join("tc.db").display());
    let mut config = common::config(data.path(), &db);
    config.header_timeout = Duration::from_secs(1);
    config.body_idle = Duration::from_secs(1);
    let server = rt.block_on(Server::start(config)).unwrap();
    let addr = server.addr;

    // A header sent in part, then nothing: the loris.
    let mut loris = TcpStream::connect(addr).unwrap();
    loris
        .write_all(b"GET /registry HTTP/1.1\r\nHost: tc\r\nX-Slow: ")
        .unwrap();
    let (t, _) = closed_within(&mut loris, Duration::from_secs(10));
    let t = t.expect("a header that never ends is cut off");
    assert!(
        t >= Duration::from_millis(800),
        "{t:?}: not before the deadline"
    );

    // A body announced at 1000 bytes, 10 sent, then nothing.
    let mut stall = TcpStream::connect(addr).unwrap();
    stall
        .write_all(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: tc\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"title\":",
        )
        .unwrap();
    let (t, answer) = closed_within(&mut stall, Duration::from_secs(10));
    let answer = String::from_utf8_lossy(&answer);
    assert!(t.is_some(), "a stalled body is cut off; got {answer:?}");
    // Whatever was answered was a refusal, never a filing.
    assert!(
        !answer.contains(" 201 ") && !answer.contains(" 200 "),
        "{answer}"
    );

    // The service still answers a client that behaves.
    let (status, _) = common::call("GET", &format!("http://{addr}/healthz"), None, None);
    assert_eq!(status, 200);
    drop(server);
}
