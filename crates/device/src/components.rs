//! Software the device's services name (SSH identification, `Server` headers, FTP greetings,
//! `$SYS/broker/version`, SSDP `SERVER`, SNMP `sysDescr`) as SBOM components with a purl and,
//! for known products, a CPE 2.3 name, so the central known-vulnerability pass sees them. The
//! evidence is the network exchange that disclosed each one.

use iotassure_core::finding::{Component, Evidence, Location};

use crate::services::{Proto, Service};

/// (token as it appears before `/` or `_`, lower-case; component name; CPE vendor:product; os)
const PRODUCTS: &[(&str, &str, &str, bool)] = &[
    (
        "dropbear",
        "dropbear",
        "dropbear_ssh_project:dropbear_ssh",
        false,
    ),
    ("openssh", "openssh", "openbsd:openssh", false),
    ("lighttpd", "lighttpd", "lighttpd:lighttpd", false),
    ("nginx", "nginx", "f5:nginx", false),
    ("apache", "apache-httpd", "apache:http_server", false),
    ("boa", "boa", "boa:boa", false),
    ("goahead-webs", "goahead", "embedthis:goahead", false),
    ("goahead", "goahead", "embedthis:goahead", false),
    ("mini_httpd", "mini_httpd", "acme:mini_httpd", false),
    ("thttpd", "thttpd", "acme:thttpd", false),
    ("uhttpd", "uhttpd", "openwrt:uhttpd", false),
    ("micro_httpd", "micro_httpd", "acme:micro_httpd", false),
    ("jetty", "jetty", "eclipse:jetty", false),
    (
        "microsoft-iis",
        "iis",
        "microsoft:internet_information_services",
        false,
    ),
    (
        "miniupnpd",
        "miniupnpd",
        "miniupnp_project:miniupnpd",
        false,
    ),
    ("mosquitto", "mosquitto", "eclipse:mosquitto", false),
    ("vsftpd", "vsftpd", "vsftpd_project:vsftpd", false),
    ("proftpd", "proftpd", "proftpd:proftpd", false),
    ("pure-ftpd", "pure-ftpd", "pureftpd:pure-ftpd", false),
    ("busybox", "busybox", "busybox:busybox", false),
    ("dnsmasq", "dnsmasq", "thekelleys:dnsmasq", false),
    ("openssl", "openssl", "openssl:openssl", false),
    ("php", "php", "php:php", false),
    ("linux", "linux", "linux:linux_kernel", true),
    (
        "portable sdk for upnp devices",
        "libupnp",
        "libupnp_project:libupnp",
        false,
    ),
    ("libupnp", "libupnp", "libupnp_project:libupnp", false),
    ("rompager", "rompager", "allegrosoft:rompager", false),
    (
        "allegro-software-rompager",
        "rompager",
        "allegrosoft:rompager",
        false,
    ),
    (
        "hikvision-webs",
        "hikvision-webs",
        "hikvision:hikvision-webs",
        false,
    ),
    ("cherokee", "cherokee", "cherokee-project:cherokee", false),
    ("live555", "live555", "live555:streaming_media", false),
];

fn version_token(s: &str) -> Option<String> {
    let t: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "._+~-".contains(*c))
        .collect();
    let t = t.trim_end_matches(['.', '-', '_', '+']).to_string();
    (t.starts_with(|c: char| c.is_ascii_digit()) && t.len() <= 40).then_some(t)
}

/// `Product/1.2.3` tokens, `dropbear_2022.83`, `OpenSSH_9.2p1`, `(vsFTPd 3.0.3)`,
/// `mosquitto version 2.0.11`, `Linux/5.10`. Returns (name, version, cpe).
pub fn parse(text: &str) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut push = |name: &str, ver: String, cpe: Option<String>| {
        if !out.iter().any(|(n, v, _)| n == name && *v == ver) {
            out.push((name.to_string(), ver, cpe));
        }
    };
    for &(token, name, vp, os) in PRODUCTS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(token) {
            let at = from + i;
            from = at + token.len();
            // A token must start a word (no `xlinux`).
            if at > 0 && lower.as_bytes()[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let rest = &text[at + token.len()..];
            let rest = rest
                .strip_prefix('/')
                .or_else(|| rest.strip_prefix('_'))
                .or_else(|| rest.strip_prefix(" version "))
                .or_else(|| rest.strip_prefix(' '))
                .or_else(|| {
                    rest.strip_prefix('-')
                        .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
                })
                .or_else(|| rest.strip_prefix('('));
            if let Some(v) = rest.and_then(version_token) {
                if v.contains('.') || v.chars().all(|c| c.is_ascii_digit()) && v.len() <= 4 {
                    let cpe = cpe(vp, os, &v);
                    push(name, v, Some(cpe));
                }
            }
        }
    }
    out
}

pub fn purl(name: &str, version: &str) -> String {
    let esc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"._-~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!("pkg:generic/{}@{}", esc(name), esc(version))
}

pub fn cpe(vendor_product: &str, os: bool, version: &str) -> String {
    let v: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect();
    format!(
        "cpe:2.3:{}:{vendor_product}:{v}:*:*:*:*:*:*:*",
        if os { "o" } else { "a" }
    )
}

fn method(svc: &Service, field: &str) -> String {
    let f = field.to_ascii_lowercase();
    if f.contains("ssh") {
        "ssh-version".into()
    } else if f.contains("server header") || f.contains("x-powered-by") || f.contains("upnp http") {
        "http-server".into()
    } else if f.contains("$sys") {
        "mqtt-sys".into()
    } else if f.contains("ssdp") {
        "ssdp-server".into()
    } else if f.contains("snmp") {
        "snmp-sysdescr".into()
    } else if f.contains("upnp") {
        "upnp-description".into()
    } else {
        format!("banner ({})", svc.name())
    }
}

/// Components named by what each service disclosed (and its banner), merged by name+version.
pub fn from_services(host: &str, services: &[Service]) -> Vec<Component> {
    let mut out: Vec<Component> = Vec::new();
    for s in services {
        let mut texts: Vec<(String, String, Option<Location>)> = s
            .disclosed
            .iter()
            .map(|d| (d.field.clone(), d.value.clone(), d.location.clone()))
            .collect();
        if let Some(b) = &s.banner {
            if !texts.iter().any(|(_, v, _)| v == b) && s.proto != Proto::Mdns {
                texts.push(("banner".into(), b.clone(), None));
            }
        }
        for (field, value, loc) in texts {
            for (name, version, cpe) in parse(&value) {
                let location = loc
                    .clone()
                    .or_else(|| s.evidence.clone())
                    .unwrap_or_else(|| Location::Network {
                        host: host.to_string(),
                        port: s.port,
                        protocol: s.name().to_string(),
                        transcript: Vec::new(),
                    });
                let ev = Evidence {
                    location,
                    excerpt: format!("{}: {field}: {value}", s.label()),
                };
                let m = method(s, &field);
                match out
                    .iter_mut()
                    .find(|c| c.name == name && c.version == version)
                {
                    Some(c) => {
                        if !c.method.split(", ").any(|x| x == m) {
                            c.method = format!("{}, {m}", c.method);
                        }
                        if c.evidence.len() < 3 {
                            c.evidence.push(ev);
                        }
                    }
                    None => out.push(Component {
                        purl: Some(purl(&name, &version)),
                        cpe,
                        name,
                        version,
                        method: m,
                        evidence: vec![ev],
                        files: Vec::new(),
                    }),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_versions() {
        let p = |s: &str| {
            parse(s)
                .into_iter()
                .map(|(n, v, _)| format!("{n} {v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(p("SSH-2.0-dropbear_2022.83"), ["dropbear 2022.83"]);
        assert_eq!(
            p("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"),
            ["openssh 9.2p1"]
        );
        assert_eq!(p("lighttpd/1.4.69"), ["lighttpd 1.4.69"]);
        assert_eq!(p("Debian/12 UPnP/1.1 MiniUPnPd/2.3.1"), ["miniupnpd 2.3.1"]);
        assert_eq!(
            p("Linux/5.10.0 UPnP/1.0 MiniUPnPd/1.9"),
            ["miniupnpd 1.9", "linux 5.10.0"]
        );
        assert_eq!(p("220 (vsFTPd 3.0.3)"), ["vsftpd 3.0.3"]);
        assert_eq!(p("mosquitto version 2.0.11"), ["mosquitto 2.0.11"]);
        assert_eq!(
            p("Apache/2.4.57 (Debian) OpenSSL/3.0.11"),
            ["apache-httpd 2.4.57", "openssl 3.0.11"]
        );
        assert!(p("lighttpd").is_empty());
        assert!(p("xlinux/1.0").is_empty());
        let (_, _, cpe) = &parse("MiniUPnPd/2.3.1")[0];
        assert_eq!(
            cpe.as_deref(),
            Some("cpe:2.3:a:miniupnp_project:miniupnpd:2.3.1:*:*:*:*:*:*:*")
        );
        assert_eq!(purl("openssh", "9.2p1"), "pkg:generic/openssh@9.2p1");
    }
}
