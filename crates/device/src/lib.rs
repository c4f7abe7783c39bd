//! Live-device evidence: probes a device over the network and yields `Observations`.
//!
//! The run: discovery (a TCP connect scan, unicast UDP probes of the IoT ports) → service
//! identification → per-service checks (TLS, cleartext management, version disclosure,
//! default credentials, unauthenticated access) → the opt-in checks (brute-force protection,
//! input validation). Every probe touches only the target, is paced by one global rate cap and
//! bounded in count and time, and records every byte in the probe log.

pub mod capture;
pub mod checks;
pub mod components;
pub mod conn;
pub mod creds;
pub mod ctx;
pub mod intercept;
pub mod log;
pub mod options;
pub mod outage;
pub mod pace;
pub mod plan;
pub mod power;
pub mod scan;
pub mod services;
pub mod ssh;
pub mod text;
pub mod tls;

pub use checks::{probe, ProbeOutcome};
pub use creds::Credential;
pub use log::LogEntry;
pub use options::{Declared, DeclaredInterface, Options, OutageOptions, Ports, Stage};
pub use plan::{plan, PlannedProbe};

use std::net::{IpAddr, ToSocketAddrs};

/// Resolves a target given as an address or a host name to one address. Exactly one host is
/// ever probed: the first address the name resolves to.
pub fn resolve(target: &str) -> Result<IpAddr, String> {
    let t = target.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(ip);
    }
    if t.contains('/') {
        return Err(format!(
            "`{target}`: give one host, not a network (a range would touch other hosts)"
        ));
    }
    (t, 0u16)
        .to_socket_addrs()
        .map_err(|e| format!("`{target}`: cannot resolve: {e}"))?
        .map(|a| a.ip())
        .next()
        .ok_or_else(|| format!("`{target}`: no address"))
}
