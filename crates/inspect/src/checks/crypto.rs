//! Crypto configuration (5.5-1, 5.5-5, 5.5-7): dropbear, sshd, uhttpd, lighttpd, nginx,
//! mosquitto and openssl.cnf settings. Flags weak algorithms (DES, 3DES, RC4, MD5, SSLv3,
//! TLS 1.0/1.1, short generated keys) and management over plaintext protocols (a web UI
//! with no TLS).

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};

use super::Check;
use crate::text::{excerpt, strip_comment};
use crate::{Ctx, Root};

pub const CHECK: Check = Check {
    id: "5.5-1-fw-crypto-config",
    provisions: &["5.5-1", "5.5-5", "5.5-7"],
    run,
};

const WEAK: &[&str] = &[
    "sslv2",
    "sslv3",
    "tlsv1 ",
    "tlsv1.0",
    "tlsv1.1",
    "tlsv1;",
    "rc4",
    "arcfour",
    "3des",
    "des-cbc",
    "des-cbc3",
    "md5",
    "null",
    "export",
    "blowfish-cbc",
    "diffie-hellman-group1-sha1",
];

fn weak_in(value: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    // Tokens written as "!RC4" or "-3DES" disable an algorithm.
    for t in value
        .split([':', ',', ' ', ';', '\t'])
        .filter(|t| !t.is_empty())
    {
        if t.starts_with('!') || t.starts_with('-') {
            continue;
        }
        let t = format!("{} ", t.trim_start_matches('+').to_ascii_lowercase());
        for w in WEAK {
            if t.contains(w) && !out.contains(w) {
                out.push(*w);
            }
        }
    }
    out
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        for f in &root.files {
            if !f.is_text() || f.data.len() > 1 << 20 {
                continue;
            }
            let base = f.base();
            let keys: &[&str] = match base {
                "sshd_config" => &["Ciphers", "MACs", "KexAlgorithms", "Protocol"],
                "lighttpd.conf" => &[
                    "ssl.cipher-list",
                    "ssl.use-sslv3",
                    "ssl.use-sslv2",
                    "ssl.openssl.ssl-conf-cmd",
                ],
                "openssl.cnf" => &["MinProtocol", "CipherString"],
                "nginx.conf" => &["ssl_protocols", "ssl_ciphers"],
                "mosquitto.conf" => &["tls_version", "ciphers"],
                _ => continue,
            };
            examined += 1;
            let text = String::from_utf8_lossy(&f.data);
            for (i, line) in text.lines().enumerate() {
                let c = strip_comment(line).trim();
                let Some(k) = keys.iter().find(|k| c.starts_with(**k)) else {
                    continue;
                };
                let value = c[k.len()..]
                    .trim_start_matches([' ', '=', '\t', '"'])
                    .trim_end_matches('"');
                let mut weak = weak_in(value);
                if *k == "Protocol" && value.contains('1') {
                    weak = vec!["SSH protocol 1"];
                }
                if (*k == "ssl.use-sslv3" || *k == "ssl.use-sslv2") && value.contains("enable") {
                    weak = vec!["SSLv3/SSLv2 enabled"];
                }
                if *k == "MinProtocol" && !(value.contains("TLSv1.2") || value.contains("TLSv1.3"))
                {
                    weak = vec!["minimum protocol below TLS 1.2"];
                }
                if !weak.is_empty() {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.5-1"], Outcome::Fail, Severity::Medium, Source::Firmware, format!("{} allows weak cryptography: {}", f.path, weak.join(", ")))
                            .detail("Best-practice cryptography excludes SSLv3, TLS 1.0/1.1, RC4, DES/3DES and MD5-based constructions.")
                            .evidence(root.location(&f.path, Some(i as u32 + 1), None), excerpt(line)),
                    );
                }
            }
        }
        dropbear(root, obs);
        uhttpd(root, obs);
        mosquitto(root, obs);
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

/// dropbear's algorithms are compiled in: the names in the binary are what it offers.
fn dropbear(root: &Root<'_>, obs: &mut Observations) {
    for f in root
        .files
        .iter()
        .filter(|f| f.elf.is_some() && (f.base() == "dropbear" || f.base() == "dropbearmulti"))
    {
        let weak: Vec<&str> = [
            "3des-cbc",
            "arcfour",
            "blowfish-cbc",
            "hmac-md5",
            "diffie-hellman-group1-sha1",
        ]
        .into_iter()
        .filter(|w| {
            f.data
                .windows(w.len() + 1)
                .any(|x| &x[..w.len()] == w.as_bytes() && x[w.len()] == 0)
        })
        .collect();
        if !weak.is_empty() {
            let p = memchr::memmem::find(&f.data, weak[0].as_bytes()).unwrap_or(0);
            obs.findings.push(
                Finding::new(CHECK.id, &["5.5-1"], Outcome::Fail, Severity::Low, Source::Firmware, format!("{} is built with weak SSH algorithms: {}", f.path, weak.join(", ")))
                    .detail("dropbear offers every algorithm compiled in; these are deprecated (RFC 8758, RFC 9142).")
                    .evidence(root.location(&f.path, None, Some(p as u64)), weak.join(" ")),
            );
        }
    }
}

/// OpenWrt uhttpd: HTTPS needs the TLS plugin and a certificate (or px5g to make one).
fn uhttpd(root: &Root<'_>, obs: &mut Observations) {
    let Some((f, text)) = root.text("/etc/config/uhttpd") else {
        return;
    };
    if !root.exists("/usr/sbin/uhttpd") {
        return;
    }
    let mut http = None;
    let mut https = false;
    let mut bits = None;
    for (i, line) in text.lines().enumerate() {
        let c = strip_comment(line).replace(['\'', '"'], "");
        let w: Vec<&str> = c.split_whitespace().collect();
        match w.as_slice() {
            ["list", "listen_http", a] if http.is_none() => {
                http = Some((i as u32 + 1, a.to_string()))
            }
            ["list", "listen_https", _] => https = true,
            ["option", "bits", b] => bits = b.parse::<u32>().ok().map(|b| (i as u32 + 1, b)),
            _ => {}
        }
    }
    let tls_plugin = root.files.iter().any(|x| {
        x.base().starts_with("uhttpd_tls")
            || x.base().starts_with("libustream-") && !x.base().contains("none")
    });
    let keygen = root.exists("/usr/sbin/px5g") || root.exists("/etc/uhttpd.crt");
    if let Some((n, addr)) = http {
        if !(https && tls_plugin && keygen) {
            obs.findings.push(
                Finding::new(CHECK.id, &["5.5-7", "5.5-1"], Outcome::Fail, Severity::High, Source::Firmware, format!("web management (uhttpd/LuCI) is served over plain HTTP only ({addr})"))
                    .detail(format!("{}; the admin password crosses the network in clear text.", if https { "listen_https is configured, but the TLS plugin or the certificate tool (px5g) is not in the image" } else { "no HTTPS listener is configured" }))
                    .evidence(root.location(&f.path, Some(n), None), format!("list listen_http {addr}")),
            );
        }
    }
    if let Some((n, b)) = bits.filter(|(_, b)| *b < 2048) {
        obs.findings.push(
            Finding::new(
                CHECK.id,
                &["5.5-1"],
                Outcome::Fail,
                Severity::Medium,
                Source::Firmware,
                format!("the HTTPS key generated at first boot is RSA-{b}"),
            )
            .detail("RSA keys under 2048 bits are below best practice.")
            .evidence(
                root.location(&f.path, Some(n), None),
                format!("option bits {b}"),
            ),
        );
    }
}

fn mosquitto(root: &Root<'_>, obs: &mut Observations) {
    let Some((f, text)) = root.text("/etc/mosquitto/mosquitto.conf") else {
        return;
    };
    let tls = text
        .lines()
        .any(|l| strip_comment(l).trim().starts_with("certfile"));
    let anon = text
        .lines()
        .enumerate()
        .find(|(_, l)| strip_comment(l).trim().replace(' ', "") == "allow_anonymoustrue");
    if !tls {
        obs.findings.push(
            Finding::new(CHECK.id, &["5.5-1", "5.5-7"], Outcome::Fail, Severity::Medium, Source::Firmware, "MQTT broker listens without TLS")
                .detail("mosquitto.conf sets no certfile: MQTT credentials and messages travel in clear text.")
                .evidence(root.location(&f.path, None, None), "no certfile"),
        );
    }
    if let Some((i, l)) = anon {
        obs.findings.push(
            Finding::new(
                CHECK.id,
                &["5.5-5", "5.1-1"],
                Outcome::Fail,
                Severity::High,
                Source::Firmware,
                "MQTT broker accepts anonymous clients",
            )
            .evidence(root.location(&f.path, Some(i as u32 + 1), None), excerpt(l)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::weak_in;

    #[test]
    fn weak_algorithms() {
        assert_eq!(weak_in("HIGH:!aNULL:!MD5:!RC4"), Vec::<&str>::new());
        assert!(weak_in("aes128-ctr,3des-cbc").contains(&"3des"));
        assert!(weak_in("SSLv3 TLSv1.2").contains(&"sslv3"));
        assert!(weak_in("TLSv1.2 TLSv1.3").is_empty());
    }
}
