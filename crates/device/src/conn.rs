//! A TCP (optionally TLS) connection to the target whose every byte goes through an `Exchange`,
//! with a timeout on every read. Probes speak their protocol over this and never touch sockets.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

use crate::log::Exchange;

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

pub struct Conn {
    stream: Stream,
    /// Set once the peer closed or reset the connection.
    pub eof: bool,
    /// Largest total a single read_until may gather (replies are trimmed, not trusted).
    pub max_reply: usize,
}

impl Conn {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        Ok(Conn {
            stream: Stream::Plain(tcp_connect(addr, timeout)?),
            eof: false,
            max_reply: 256 << 10,
        })
    }

    /// Connects and completes a TLS handshake (TLS 1.2/1.3, any certificate accepted: the
    /// certificate is judged by the TLS probe, not trusted here).
    pub fn connect_tls(addr: SocketAddr, host: &str, timeout: Duration) -> io::Result<Conn> {
        let mut tcp = tcp_connect(addr, timeout)?;
        tcp.set_read_timeout(Some(timeout))?;
        tcp.set_write_timeout(Some(timeout))?;
        let name = server_name(host, addr);
        let mut conn = ClientConnection::new(tls_config(), name).map_err(io::Error::other)?;
        let started = Instant::now();
        while conn.is_handshaking() {
            if started.elapsed() > timeout * 2 {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ));
            }
            conn.complete_io(&mut tcp)?;
        }
        Ok(Conn {
            stream: Stream::Tls(Box::new(StreamOwned::new(conn, tcp))),
            eof: false,
            max_reply: 256 << 10,
        })
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// The peer's certificate chain (DER), for TLS connections.
    pub fn peer_certificates(&self) -> Vec<Vec<u8>> {
        match &self.stream {
            Stream::Tls(s) => s
                .conn
                .peer_certificates()
                .map(|c| c.iter().map(|d| d.to_vec()).collect())
                .unwrap_or_default(),
            Stream::Plain(_) => Vec::new(),
        }
    }

    /// Negotiated TLS version name, for TLS connections.
    pub fn tls_version(&self) -> Option<String> {
        match &self.stream {
            Stream::Tls(s) => s.conn.protocol_version().map(|v| format!("{v:?}")),
            Stream::Plain(_) => None,
        }
    }

    fn tcp(&self) -> &TcpStream {
        match &self.stream {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        }
    }

    pub fn send(&mut self, ex: &mut Exchange<'_>, bytes: &[u8]) -> io::Result<()> {
        ex.sent(bytes);
        self.write_raw(bytes)
    }

    /// Sends, showing `summary` instead of the bytes in the trimmed evidence (the log has all).
    pub fn send_as(
        &mut self,
        ex: &mut Exchange<'_>,
        bytes: &[u8],
        summary: &str,
    ) -> io::Result<()> {
        ex.sent_as(bytes, summary);
        self.write_raw(bytes)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.tcp().set_write_timeout(Some(Duration::from_secs(5)))?;
        match &mut self.stream {
            Stream::Plain(s) => s.write_all(bytes),
            Stream::Tls(s) => {
                s.write_all(bytes)?;
                s.flush()
            }
        }
    }

    /// One read, waiting at most `timeout`. Empty on timeout or end of stream (see `eof`).
    pub fn read_chunk(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        if self.eof {
            return Ok(Vec::new());
        }
        let t = timeout.max(Duration::from_millis(1));
        self.tcp().set_read_timeout(Some(t))?;
        let mut buf = vec![0u8; 16 << 10];
        let r = match &mut self.stream {
            Stream::Plain(s) => s.read(&mut buf),
            Stream::Tls(s) => s.read(&mut buf),
        };
        match r {
            Ok(0) => {
                self.eof = true;
                Ok(Vec::new())
            }
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(Vec::new())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::BrokenPipe
                ) =>
            {
                self.eof = true;
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Reads until `done(all bytes so far)` holds, the peer closes, `max_reply` bytes arrive, or
    /// `timeout` passes. Every chunk is recorded as received.
    pub fn read_until(
        &mut self,
        ex: &mut Exchange<'_>,
        timeout: Duration,
        done: impl Fn(&[u8]) -> bool,
    ) -> Vec<u8> {
        let (all, error) = self.collect(timeout, done, |c| ex.received(c));
        if let Some(e) = error {
            ex.note(format!("read error: {e}"));
        }
        all
    }

    /// Like `read_until`, but records the reply with a summary instead of its bytes in evidence.
    pub fn read_until_quiet(
        &mut self,
        ex: &mut Exchange<'_>,
        timeout: Duration,
        done: impl Fn(&[u8]) -> bool,
    ) -> Vec<u8> {
        let (all, _) = self.collect(timeout, done, |_| {});
        if !all.is_empty() {
            ex.received_as(&all, format!("{} bytes", all.len()));
        }
        all
    }

    /// The read loop of `read_until*`: each chunk goes to `chunk` as it arrives; a read error
    /// ends the connection and is returned beside the bytes.
    fn collect(
        &mut self,
        timeout: Duration,
        done: impl Fn(&[u8]) -> bool,
        mut chunk: impl FnMut(&[u8]),
    ) -> (Vec<u8>, Option<io::Error>) {
        let end = Instant::now() + timeout;
        let mut all = Vec::new();
        let mut error = None;
        while !self.eof && all.len() < self.max_reply {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.read_chunk(left) {
                Ok(c) if c.is_empty() => {
                    if !self.eof {
                        break; // timed out
                    }
                }
                Ok(c) => {
                    chunk(&c);
                    all.extend_from_slice(&c);
                    if done(&all) {
                        break;
                    }
                }
                Err(e) => {
                    error = Some(e);
                    self.eof = true;
                }
            }
        }
        (all, error)
    }

    pub fn close(mut self) {
        if let Stream::Tls(s) = &mut self.stream {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

fn tcp_connect(addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, timeout)?;
    // A loopback connect to an ephemeral port can meet itself (TCP simultaneous open).
    if s.local_addr()? == s.peer_addr()? {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            "self-connection",
        ));
    }
    s.set_nodelay(true).ok();
    Ok(s)
}

fn server_name(host: &str, addr: SocketAddr) -> ServerName<'static> {
    ServerName::try_from(host.to_string())
        .unwrap_or_else(|_| ServerName::IpAddress(addr.ip().into()))
}

fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut cfg = ClientConfig::builder_with_provider(provider.clone())
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .expect("ring supports TLS 1.2 and 1.3")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                .with_no_client_auth();
            // Every probe stands alone: no session resumed from another port or probe.
            cfg.resumption = rustls::client::Resumption::disabled();
            Arc::new(cfg)
        })
        .clone()
}

/// Accepts any certificate: the probe inspects certificates, it does not rely on them.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
