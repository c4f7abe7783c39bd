//! Software components (SBOM; 5.2-3, 5.3-8): package databases (opkg/ipkg status, dpkg status,
//! apk installed), a table of binary version classifiers (one aho-corasick pass over every
//! binary and blob), the Linux kernel (banner, module vermagic, /lib/modules), library file
//! names, and the ESP-IDF application descriptor of MCU images. Each component carries a purl,
//! a CPE where one is known, the method and the evidence. Names, purls and CPEs come from the
//! component table of `iotassure-advisories`; whether a version is end of life or has known
//! vulnerabilities is decided there too, once for every evidence source (the CLI runs that pass
//! after all evidence is gathered).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use iotassure_advisories::ComponentInfo;
use iotassure_core::finding::{
    Component, Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};
use iotassure_core::tree::{BlobKind, EntryKind};

use super::Check;
use crate::{Ctx, Root};

pub const CHECK: Check = Check {
    id: "5.3-fw-components",
    provisions: &["5.2-3", "5.3-8"],
    run,
};

/// How the version follows the anchor.
#[derive(Clone, Copy)]
enum Extract {
    /// A version token right after the anchor.
    After,
    /// `OpenSSL 1.0.2n  7 Dec 2017`: a version, spaces, then a day number.
    Dated,
    /// zlib: ` inflate 1.2.11 Copyright`.
    ThenCopyright,
    /// A program's title line: `OpenVPN 2.4.7 mips-openwrt-linux-gnu [SSL (OpenSSL)] …`, a
    /// version then the build target; a bare `OpenVPN 2.1` in help text is not a version.
    Title,
}

struct Classifier {
    name: &'static str,
    anchor: &'static str,
    extract: Extract,
}

/// `name` is the component's canonical name in the advisories component table.
const fn c(name: &'static str, anchor: &'static str) -> Classifier {
    Classifier {
        name,
        anchor,
        extract: Extract::After,
    }
}

/// Binary version classifiers. A version token is `[0-9][0-9A-Za-z._+-]*`.
static CLASSIFIERS: &[Classifier] = &[
    c("busybox", "BusyBox v"),
    c("dropbear", "dropbear_"),
    Classifier {
        name: "openssl",
        anchor: "OpenSSL ",
        extract: Extract::Dated,
    },
    c("mbedtls", "mbed TLS "),
    c("mbedtls", "Mbed TLS "),
    c("polarssl", "PolarSSL "),
    c("wolfssl", "wolfSSL v"),
    c("matrixssl", "MatrixSSL "),
    c("glibc", "stable release version "),
    c("glibc", "GNU C Library (GNU libc) release version "),
    Classifier {
        name: "linux",
        anchor: "Linux version ",
        extract: Extract::After,
    },
    c("dnsmasq", "dnsmasq-"),
    c("miniupnpd", "MiniUPnPd/"),
    // miniupnpd 1.x: `OS/version UPnP/1.0 miniupnpd/1.0`.
    c("miniupnpd", "UPnP/1.0 miniupnpd/"),
    c("lighttpd", "lighttpd/"),
    c("hostapd", "hostapd v"),
    c("wpa_supplicant", "wpa_supplicant v"),
    Classifier {
        name: "openvpn",
        anchor: "OpenVPN ",
        extract: Extract::Title,
    },
    c("curl", "libcurl/"),
    c("sqlite", "SQLite version "),
    Classifier {
        name: "zlib",
        anchor: " inflate ",
        extract: Extract::ThenCopyright,
    },
    c("openssh", "OpenSSH_"),
    c("pppd", "pppd version "),
    c("mosquitto", "mosquitto version "),
    c("libupnp", "Portable SDK for UPnP devices/"),
    c("u-boot", "U-Boot "),
    c("lua", "Lua 5."),
    c("hostapd", "hostapd "),
];

/// The component table entry for a name (classifier name, package name or alias).
fn known(name: &str) -> Option<&'static ComponentInfo> {
    iotassure_advisories::builtin().component(name)
}

static AC: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::new(CLASSIFIERS.iter().map(|c| c.anchor)).expect("classifier anchors")
});

fn version_token(data: &[u8]) -> Option<String> {
    let end = data
        .iter()
        .take(48)
        .position(|b| !(b.is_ascii_alphanumeric() || b"._+-~".contains(b)))
        .unwrap_or(data.len().min(48));
    let tok = std::str::from_utf8(&data[..end]).ok()?;
    let tok = tok.trim_end_matches(['.', '-', '_', '+']);
    if !tok.starts_with(|c: char| c.is_ascii_digit()) || !tok.contains('.') || tok.len() > 40 {
        return None;
    }
    Some(tok.to_string())
}

fn extract(cl: &Classifier, after: &[u8]) -> Option<String> {
    let v = version_token(after)?;
    match cl.extract {
        Extract::After => {}
        Extract::Dated => {
            let rest = &after[v.len()..];
            let spaces = rest.iter().take_while(|b| **b == b' ').count();
            if !(1..=2).contains(&spaces) || !rest.get(spaces).is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
        Extract::ThenCopyright => {
            if !after[v.len()..].starts_with(b" Copyright") {
                return None;
            }
        }
        Extract::Title => {
            let rest = &after[v.len()..];
            let line = &rest[..rest
                .iter()
                .position(|b| *b == 0 || *b == b'\n')
                .unwrap_or(rest.len())
                .min(160)];
            let target = line
                .strip_prefix(b" ")
                .and_then(|t| t.split(|b| *b == b' ').next())
                .is_some_and(|t| t.contains(&b'-') && t.iter().all(|b| b.is_ascii_graphic()));
            let parts = v.split(['.', '_']).count();
            if !target || memchr::memmem::find(line, b" [").is_none() || parts < 3 {
                return None;
            }
        }
    }
    match cl.name {
        // A kernel banner is `Linux version 3.18.9 (builder@host)`: the number comes first.
        "linux" if !after[v.len()..].starts_with(b" (") => return None,
        "lua" => return Some(format!("5.{v}")),
        "u-boot" if !(v.len() >= 7 && v.as_bytes()[4] == b'.' && v[..4].parse::<u32>().is_ok()) => {
            return None
        }
        "openvpn" | "hostapd" | "glibc" | "sqlite"
            if v.split('.').next().is_none_or(|m| m.len() > 2) =>
        {
            return None
        }
        _ => {}
    }
    Some(v)
}

/// The purl of a component: the table's for a known one, `pkg:generic/…` otherwise.
pub fn purl(name: &str, version: &str) -> String {
    match known(name) {
        Some(c) => c.purl(version),
        None => format!("pkg:generic/{}@{}", purl_escape(name), purl_escape(version)),
    }
}

fn purl_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Collects components, merging the same name and version found several ways.
#[derive(Default)]
struct Found {
    map: BTreeMap<(String, String), Component>,
}

impl Found {
    fn add(&mut self, name: &str, version: &str, method: &str, ev: Evidence) {
        let key = (name.to_string(), version.to_string());
        let c = self.map.entry(key).or_insert_with(|| Component {
            name: name.to_string(),
            version: version.to_string(),
            purl: Some(purl(name, version)),
            cpe: known(name).and_then(|k| k.cpe(version)),
            method: method.to_string(),
            evidence: Vec::new(),
            files: Vec::new(),
        });
        if !c.method.split(", ").any(|m| m == method) {
            c.method = format!("{}, {method}", c.method);
        }
        if c.evidence.len() < 3 && !c.evidence.iter().any(|e| e.location == ev.location) {
            c.evidence.push(ev);
        }
    }
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut found = Found::default();
    let mut examined = 0u64;
    for root in &ctx.roots {
        examined += package_dbs(root, &mut found);
        examined += binaries(root, &mut found);
        kernel_in_rootfs(root, &mut found);
        library_names(root, &mut found);
        release_files(root, &mut found);
    }
    for b in &ctx.blobs {
        examined += 1;
        if b.is_kernel || b.blob.kind != BlobKind::McuFirmware {
            scan_bytes(&b.data, &mut found, "binary-banner", |off| {
                Location::Image {
                    offset: off as u64,
                    length: None,
                    provenance: b.blob.provenance.clone(),
                }
            });
        }
        if b.is_kernel {
            kernel_release_fallback(b, &mut found);
        }
        if b.blob.kind == BlobKind::McuFirmware || b.data.first() == Some(&0xE9) {
            esp_app_desc(&b.data, &b.blob.provenance, &mut found);
        }
        if b.blob.kind == BlobKind::McuFirmware {
            for (name, version, ev) in crate::mcu_sdk::components(&b.data, &b.blob.provenance) {
                found.add(name, &version, "sdk-strings", ev);
            }
            for (name, version, ev) in super::mcu_components::scan(&b.data, &b.blob.provenance) {
                found.add(name, &version, "mcu-strings", ev);
            }
        }
    }
    if let Some((name, data)) = &ctx.image {
        if ctx.roots.is_empty() && ctx.blobs.is_empty() {
            esp_app_desc(data, name, &mut found);
        }
    }
    let comps: Vec<Component> = found.map.into_values().collect();
    let summary = format!("{} components identified", comps.len());
    obs.findings.push(
        Finding::new(
            CHECK.id,
            &["5.2-3"],
            Outcome::Info,
            Severity::Info,
            Source::Firmware,
            summary,
        )
        .detail(
            comps
                .iter()
                .map(|c| format!("{} {} ({})", c.name, c.version, c.method))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    );
    obs.components.extend(comps);
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

/// opkg/ipkg status, dpkg status, apk installed.
fn package_dbs(root: &Root<'_>, found: &mut Found) -> u64 {
    let mut n = 0;
    for (path, manager) in [
        ("/usr/lib/opkg/status", "opkg-status"),
        ("/usr/lib/ipkg/status", "ipkg-status"),
        ("/var/lib/opkg/status", "opkg-status"),
        ("/var/lib/dpkg/status", "dpkg-status"),
        ("/lib/apk/db/installed", "apk-installed"),
    ] {
        let Some((f, text)) = root.text(path) else {
            continue;
        };
        n += 1;
        let apk = manager == "apk-installed";
        let (pkg_key, ver_key) = if apk {
            ("P:", "V:")
        } else {
            ("Package:", "Version:")
        };
        let mut name: Option<(String, u32)> = None;
        let mut version: Option<String> = None;
        let mut installed = true;
        let flush = |name: &mut Option<(String, u32)>,
                     version: &mut Option<String>,
                     installed: &mut bool,
                     found: &mut Found| {
            if let (Some((n, line)), Some(v)) = (name.take(), version.take()) {
                if *installed {
                    let ev = Evidence {
                        location: root.location(&f.path, Some(line), None),
                        excerpt: format!("Package: {n} Version: {v}"),
                    };
                    match known(&n) {
                        // A known component: its canonical name and upstream version (the
                        // package release suffix `-1` dropped), as advisories use them.
                        Some(k) => {
                            let canonical = k.name.as_str();
                            let upstream = if canonical == "linux" {
                                v.split('-').next().unwrap_or(&v)
                            } else {
                                v.rsplit_once('-').map(|(a, _)| a).unwrap_or(&v)
                            };
                            found.add(canonical, upstream, manager, ev);
                        }
                        None => found.add(&n, &v, manager, ev),
                    }
                }
            }
            *installed = true;
        };
        for (i, line) in text.lines().enumerate() {
            let l = line.trim_end();
            if l.is_empty() {
                flush(&mut name, &mut version, &mut installed, found);
            } else if let Some(v) = l.strip_prefix(pkg_key) {
                flush(&mut name, &mut version, &mut installed, found);
                name = Some((v.trim().to_string(), i as u32 + 1));
            } else if let Some(v) = l.strip_prefix(ver_key) {
                version = Some(v.trim().to_string());
            } else if let Some(s) = l.strip_prefix("Status:") {
                installed = s.contains("installed") && !s.contains("not-installed");
            }
        }
        flush(&mut name, &mut version, &mut installed, found);
    }
    n
}

fn scan_bytes(data: &[u8], found: &mut Found, method: &str, loc: impl Fn(usize) -> Location) {
    for m in AC.find_overlapping_iter(data) {
        let cl = &CLASSIFIERS[m.pattern().as_usize()];
        let Some(v) = extract(cl, &data[m.end()..]) else {
            continue;
        };
        let end = (m.end() + v.len() + 24).min(data.len());
        let excerpt: String = String::from_utf8_lossy(&data[m.start()..end])
            .chars()
            .take_while(|c| *c != '\0' && *c != '\n')
            .collect();
        found.add(
            cl.name,
            &v,
            method,
            Evidence {
                location: loc(m.start()),
                excerpt: excerpt.trim().to_string(),
            },
        );
    }
}

fn binaries(root: &Root<'_>, found: &mut Found) -> u64 {
    let mut n = 0;
    for f in &root.files {
        // Text files (docs, scripts) mention versions of other things; binaries state their own.
        if f.elf.is_none() && f.is_text() {
            continue;
        }
        n += 1;
        scan_bytes(&f.data, found, "binary-banner", |off| {
            root.location(&f.path, None, Some(off as u64))
        });
        // musl states its version as a bare string beside "musl libc".
        if f.elf.is_some() && memchr::memmem::find(&f.data, b"musl libc (").is_some() {
            if let Some((off, v)) = nul_strings(&f.data).find(|(_, s)| bare_version(s, "1")) {
                found.add(
                    "musl",
                    v,
                    "binary-string",
                    Evidence {
                        location: root.location(&f.path, None, Some(off as u64)),
                        excerpt: format!("musl libc … {v}"),
                    },
                );
            }
        }
        // iptables prints `%s v%s` with its version kept as a bare string (DIR-300: "1.2.9").
        if f.elf.is_some()
            && is_iptables(&f.path)
            && memchr::memmem::find(&f.data, b"%s v%s").is_some()
        {
            if let Some((off, v)) = nul_strings(&f.data).find(|(_, s)| bare_version(s, "1")) {
                found.add(
                    "iptables",
                    v,
                    "binary-string",
                    Evidence {
                        location: root.location(&f.path, None, Some(off as u64)),
                        excerpt: format!("iptables … {v}"),
                    },
                );
            }
        }
        if f.elf.is_some() {
            for (name, v, off, ex) in super::banners::scan(&f.data) {
                found.add(
                    name,
                    &v,
                    "binary-format-banner",
                    Evidence {
                        location: root.location(&f.path, None, Some(off as u64)),
                        excerpt: ex,
                    },
                );
            }
        }
        // Kernel modules: `vermagic=2.6.36 mod_unload MIPS32_R2`.
        if f.path.ends_with(".ko") {
            if let Some(p) = memchr::memmem::find(&f.data, b"vermagic=") {
                if let Some(v) = version_token(&f.data[p + 9..]) {
                    found.add(
                        "linux",
                        &v,
                        "module-vermagic",
                        Evidence {
                            location: root.location(&f.path, None, Some(p as u64)),
                            excerpt: String::from_utf8_lossy(
                                &f.data[p..(p + 48).min(f.data.len())],
                            )
                            .split('\0')
                            .next()
                            .unwrap_or("")
                            .to_string(),
                        },
                    );
                }
            }
        }
    }
    n
}

fn is_iptables(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("");
    matches!(
        base,
        "iptables" | "iptables-multi" | "xtables-multi" | "xtables-legacy-multi" | "ip6tables"
    ) || base.starts_with("libxtables.so")
        || base.starts_with("libiptc.so")
}

/// `1.2.9`-like: three numeric parts, the first one `major`.
fn bare_version(s: &str, major: &str) -> bool {
    let p: Vec<&str> = s.split('.').collect();
    p.len() == 3
        && p[0] == major
        && p.iter()
            .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
}

/// NUL-terminated printable strings of 3..64 bytes, with their offsets.
fn nul_strings(data: &[u8]) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0usize;
    data.split(|b| *b == 0).filter_map(move |s| {
        let off = start;
        start += s.len() + 1;
        if (3..64).contains(&s.len()) && s.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            std::str::from_utf8(s).ok().map(|t| (off, t))
        } else {
            None
        }
    })
}

fn kernel_in_rootfs(root: &Root<'_>, found: &mut Found) {
    for (path, e) in root.view.entries() {
        if e.kind != EntryKind::Dir {
            continue;
        }
        if let Some(v) = path.strip_prefix("/lib/modules/") {
            if !v.contains('/') && v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.') {
                found.add(
                    "linux",
                    v,
                    "modules-dir",
                    Evidence {
                        location: root.location(&path, None, None),
                        excerpt: format!("kernel modules directory {path}"),
                    },
                );
            }
        }
    }
}

/// A kernel whose banner is formatted at run time (`%s version %s (…)`) still holds its
/// release string (UTS_RELEASE) as a bare string.
fn kernel_release_fallback(b: &crate::BlobRec<'_>, found: &mut Found) {
    if found.map.keys().any(|(n, _)| n == "linux") {
        return;
    }
    if memchr::memmem::find(&b.data, b"%s version %s (").is_none() {
        return;
    }
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (off, s) in nul_strings(&b.data) {
        let p: Vec<&str> = s.split('.').collect();
        let ok = (3..=4).contains(&p.len())
            && ["2", "3", "4", "5", "6"].contains(&p[0])
            && p[1].bytes().all(|c| c.is_ascii_digit())
            && p[2].starts_with(|c: char| c.is_ascii_digit())
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b".-+_".contains(&c));
        if ok {
            counts.entry(s).or_insert((0, off)).0 += 1;
        }
    }
    if let Some((v, (_, off))) = counts.into_iter().max_by_key(|(_, (n, _))| *n) {
        found.add(
            "linux",
            v,
            "kernel-release-string",
            Evidence {
                location: Location::Image {
                    offset: off as u64,
                    length: Some(v.len() as u64),
                    provenance: b.blob.provenance.clone(),
                },
                excerpt: format!(
                    "UTS release \"{v}\" beside the banner format \"%s version %s (…)\""
                ),
            },
        );
    }
}

fn library_names(root: &Root<'_>, found: &mut Found) {
    for f in &root.files {
        let base = f.base();
        let (name, v) = if let Some(v) = base
            .strip_prefix("libuClibc-")
            .or_else(|| base.strip_prefix("ld-uClibc-"))
            .and_then(|r| r.strip_suffix(".so"))
        {
            ("uclibc", v)
        } else if let Some(v) = base
            .strip_prefix("libc-")
            .and_then(|r| r.strip_suffix(".so"))
            .filter(|v| v.starts_with("2."))
        {
            ("glibc", v)
        } else {
            continue;
        };
        found.add(
            name,
            v,
            "library-file-name",
            Evidence {
                location: root.location(&f.path, None, None),
                excerpt: base.to_string(),
            },
        );
    }
}

/// /etc/openwrt_release, /etc/os-release: the distribution itself.
fn release_files(root: &Root<'_>, found: &mut Found) {
    for (path, name_key, ver_key) in [
        ("/etc/openwrt_release", "DISTRIB_ID", "DISTRIB_REVISION"),
        ("/etc/os-release", "ID", "VERSION_ID"),
    ] {
        let Some((f, text)) = root.text(path) else {
            continue;
        };
        let get = |k: &str| {
            text.lines().enumerate().find_map(|(i, l)| {
                l.strip_prefix(k)
                    .and_then(|r| r.strip_prefix('='))
                    .map(|v| (i as u32 + 1, v.trim_matches(['"', '\'']).to_string()))
            })
        };
        if let (Some((_, n)), Some((line, v))) = (get(name_key), get(ver_key)) {
            if n.is_empty() || v.is_empty() {
                continue;
            }
            found.add(
                &n.to_ascii_lowercase(),
                &v,
                "release-file",
                Evidence {
                    location: root.location(&f.path, Some(line), None),
                    excerpt: format!("{ver_key}={v}"),
                },
            );
        }
    }
}

/// ESP-IDF `esp_app_desc_t` (magic 0xABCD5432): project, app version and IDF version.
fn esp_app_desc(data: &[u8], provenance: &str, found: &mut Found) {
    let Some(p) = memchr::memmem::find(data, &0xABCD_5432u32.to_le_bytes()) else {
        return;
    };
    let field = |off: usize, len: usize| -> Option<String> {
        let s = data.get(p + off..p + off + len)?;
        let s = &s[..s.iter().position(|b| *b == 0).unwrap_or(len)];
        std::str::from_utf8(s).ok().map(str::to_string)
    };
    // Layout: magic, secure_version, reserv1[2], version[32], project_name[32], time[16],
    // date[16], idf_ver[32].
    let (Some(idf), Some(project), Some(app)) = (field(112, 32), field(48, 32), field(16, 32))
    else {
        return;
    };
    if !idf.starts_with('v') {
        return;
    }
    let ver = idf.trim_start_matches('v').to_string();
    let loc = Location::Image {
        offset: p as u64,
        length: Some(256),
        provenance: provenance.to_string(),
    };
    found.add(
        "esp-idf",
        &ver,
        "esp-app-desc",
        Evidence {
            location: loc.clone(),
            excerpt: format!("esp_app_desc: project {project}, version {app}, IDF {idf}"),
        },
    );
    if !project.is_empty() && !app.is_empty() {
        found.add(
            &project,
            &app,
            "esp-app-desc",
            Evidence {
                location: loc,
                excerpt: format!("application {project} {app}"),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &[u8]) -> Vec<(String, String)> {
        let mut f = Found::default();
        scan_bytes(s, &mut f, "t", |o| Location::Image {
            offset: o as u64,
            length: None,
            provenance: "t".into(),
        });
        f.map.into_keys().collect()
    }

    #[test]
    fn classifiers() {
        let cases: &[(&[u8], &str, &str)] = &[
            (
                b"\0BusyBox v1.22.1 (2015-03-26 14:01:19 UTC)\0",
                "busybox",
                "1.22.1",
            ),
            (b"SSH-2.0-dropbear_2014.65\r\n", "dropbear", "2014.65"),
            (b"OpenSSL 1.0.2n  7 Dec 2017\0", "openssl", "1.0.2n"),
            (b"OpenSSL 0.9.8zh 3 Dec 2015\0", "openssl", "0.9.8zh"),
            (
                b"Linux version 3.18.9 (root@debian) (gcc",
                "linux",
                "3.18.9",
            ),
            (b"dnsmasq-2.72\0", "dnsmasq", "2.72"),
            (
                b" inflate 1.2.8 Copyright 1995-2013 Mark Adler ",
                "zlib",
                "1.2.8",
            ),
            (b"OpenWrt UPnP/1.1 MiniUPnPd/1.9\0", "miniupnpd", "1.9"),
            (b"hostapd v2.6\0", "hostapd", "2.6"),
            (b"mbed TLS 2.16.3\0", "mbedtls", "2.16.3"),
        ];
        for (data, n, v) in cases {
            let got = scan(data);
            assert!(
                got.contains(&(n.to_string(), v.to_string())),
                "{}: {got:?}",
                String::from_utf8_lossy(data)
            );
        }
        // Near misses: a banner without a date, a non-numeric kernel "version".
        for data in [
            &b"OpenSSL 1.0.0 compatible"[..],
            b"Linux version master-2015-03-09",
            b"Linux version %s",
        ] {
            assert!(scan(data).is_empty(), "{}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(purl("busybox", "1.22.1"), "pkg:generic/busybox@1.22.1");
        assert_eq!(
            purl("luci", "git-15.079+x"),
            "pkg:generic/luci@git-15.079%2Bx"
        );
        assert_eq!(
            known("linux").and_then(|k| k.cpe("3.18.9")).as_deref(),
            Some("cpe:2.3:o:linux:linux_kernel:3.18.9:*:*:*:*:*:*:*")
        );
        assert_eq!(
            known("libopenssl").map(|k| k.name.as_str()),
            Some("openssl")
        );
        assert_eq!(
            known("libopenssl").and_then(|k| k.cpe("1.0.2n")).as_deref(),
            Some("cpe:2.3:a:openssl:openssl:1.0.2n:*:*:*:*:*:*:*")
        );
    }
}
