//! Private keys embedded in the image (5.4-3, 5.4-4): PEM blocks in any file, text or binary.
//! A key in the image is identical in every unit: a hard-coded, shared critical security
//! parameter. Zero-byte key files are placeholders a first boot fills, and are reported as such.

use aho_corasick::AhoCorasick;
use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};
use std::sync::LazyLock;

use super::Check;
use crate::text::line_of;
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.4-3-fw-private-keys",
    provisions: &["5.4-3", "5.4-4"],
    run,
};

const MAX_FILE: u64 = 32 << 20;

static BEGIN: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new([
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----",
        "-----BEGIN DSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
    ])
    .expect("patterns")
});

fn looks_like_key_name(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    base.ends_with(".key")
        || base.ends_with("_key")
        || base.contains("host_key")
        || base.ends_with(".pem")
        || base.contains("private")
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for view in &ctx.roots {
        for (path, entry) in view.files() {
            if entry.size == 0 {
                if looks_like_key_name(&path) {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.4-3"], Outcome::Info, Severity::Info, Source::Firmware, format!("{path} is an empty key placeholder"))
                            .detail("A 0-byte key file is filled at first boot (a per-device key), not a key shipped in the image.")
                            .evidence(view.location(&path, None, None), "0 bytes"),
                    );
                }
                continue;
            }
            if entry.size > MAX_FILE {
                continue;
            }
            let Ok(data) = view.read_entry(entry, MAX_FILE) else {
                continue;
            };
            examined += 1;
            let has_cert = memchr::memmem::find(&data, b"-----BEGIN CERTIFICATE-----").is_some();
            for m in BEGIN.find_iter(&data) {
                let begin = std::str::from_utf8(&data[m.start()..m.end()])
                    .unwrap_or("")
                    .to_string();
                let label = begin
                    .trim_matches('-')
                    .trim_start_matches("BEGIN ")
                    .to_string();
                let end_marker = format!("-----END {label}-----");
                let block_end = memchr::memmem::find(&data[m.end()..], end_marker.as_bytes())
                    .map(|e| m.end() + e + end_marker.len());
                // A real key has a base64 body; a bare marker is a string constant in code that
                // handles PEM (dropbear, openssl), not a key.
                let body_end = block_end
                    .map(|e| e - end_marker.len())
                    .unwrap_or((m.end() + 4096).min(data.len()));
                let body = &data[m.end()..body_end];
                let b64 = body
                    .iter()
                    .filter(|b| {
                        b.is_ascii_alphanumeric() || **b == b'+' || **b == b'/' || **b == b'='
                    })
                    .count();
                if b64 < 64 || body.contains(&0) {
                    continue;
                }
                let encrypted = label.starts_with("ENCRYPTED")
                    || block_end.is_some_and(|e| {
                        memchr::memmem::find(&data[m.start()..e], b"Proc-Type: 4,ENCRYPTED")
                            .is_some()
                    });
                let lines = block_end
                    .map(|e| line_of(&data[m.start()..e], e - m.start()))
                    .unwrap_or(0);
                let line = crate::text::is_text(&data).then(|| line_of(&data, m.start()));
                let mut f = Finding::new(
                    CHECK.id,
                    &["5.4-3", "5.4-4"],
                    Outcome::Fail,
                    Severity::High,
                    Source::Firmware,
                    format!("{}{label} embedded in {path}", if encrypted { "encrypted " } else { "" }),
                )
                .detail(format!(
                    "The key ships in the firmware, so every unit holds the same one: a hard-coded critical security parameter{}. Anyone with the image can impersonate or decrypt for every device.{}",
                    if has_cert { " paired with a certificate in the same file (a TLS identity)" } else { "" },
                    if block_end.is_none() { " (The PEM block has no end marker: truncated.)" } else { "" }
                ))
                .evidence(
                    view.location(&path, line, Some(m.start() as u64)),
                    format!("{begin} … ({lines} lines)"),
                );
                if encrypted {
                    f.severity = Severity::Medium;
                }
                obs.findings.push(f);
            }
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}
