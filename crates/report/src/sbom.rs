//! What the two SBOM renderings (CycloneDX and SPDX) share: the product they describe, the
//! components merged so that one package appears once, and package URLs of a real type.

use iotassure_assess::Report;
use iotassure_core::finding::{Component, Evidence, FileDigest};

/// The product an SBOM describes: the maker's names from the conformance statement, or, without
/// one, the image's file name. Never the host path: an SBOM leaves the lab, and where the
/// image lay on the assessor's disk is neither the product's name nor the lab's to publish.
pub struct Product {
    pub name: String,
    pub version: Option<String>,
    pub supplier: Option<String>,
    pub sha256: Option<String>,
}

pub fn product(r: &Report) -> Product {
    let p = &r.subject.product;
    let file_name = r.subject.firmware.as_ref().map(|f| {
        std::path::Path::new(&f.input)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "firmware".into())
    });
    let name = match (p.manufacturer.trim(), p.model.trim()) {
        ("", "") => file_name
            .clone()
            .or_else(|| r.subject.device.clone())
            .unwrap_or_else(|| "unnamed product".into()),
        ("", m) => m.to_string(),
        (mk, "") => format!("{mk} product"),
        (mk, m) => format!("{mk} {m}"),
    };
    let version = Some(p.firmware_version.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let supplier = Some(p.manufacturer.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let sha256 = r
        .subject
        .firmware
        .as_ref()
        .map(|f| f.sha256.clone())
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    Product {
        name,
        version,
        supplier,
        sha256,
    }
}

/// One package as the SBOMs list it, after merging.
pub struct Package {
    pub name: String,
    pub version: String,
    pub purl: String,
    pub cpe: Option<String>,
    /// The identification methods, in order, without repeats.
    pub methods: Vec<String>,
    pub evidence: Vec<Evidence>,
    /// The shorter versions merged into this one (`1.9` for `1.9.20141209`).
    pub merged_versions: Vec<String>,
    /// The ELF files the package was identified in, with their SHA-256: its own binary, or one
    /// it is linked into.
    pub files: Vec<FileDigest>,
}

impl Package {
    /// The one file that is the whole package (`/usr/sbin/dropbear`, `/usr/lib/libz.so.1`),
    /// whose digest can stand for the package's. None when there are several, and none when
    /// the file is named for something else: zlib seen inside `/usr/sbin/sputnik` is linked
    /// into it, and sputnik's digest is not zlib's.
    pub fn sole_file(&self) -> Option<&FileDigest> {
        let [one] = self.files.as_slice() else {
            return None;
        };
        let base = one
            .path
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let name = self.name.to_ascii_lowercase();
        (base.starts_with(&name) || base.starts_with(&format!("lib{name}"))).then_some(one)
    }
}

/// `short` names the same release as `long`, only less precisely: `long` starts with it and
/// continues at a separator (`1.9` → `1.9.20141209`, `1.9-1`), never mid-number (`1.9` is not
/// `1.91`).
fn less_precise(short: &str, long: &str) -> bool {
    long.len() > short.len()
        && long.starts_with(short)
        && matches!(
            long.as_bytes()[short.len()],
            b'.' | b'-' | b'+' | b'_' | b'~'
        )
}

/// The components of a report, one per package. A binary's banner often gives `1.9` where the
/// package database says `1.9.20141209`: both describe one installed package, and listing it
/// twice would count it twice in every licence or vulnerability tally downstream. The more
/// precise version is kept, because it is the one a vulnerability range can be decided on; the
/// evidence of both is kept. Versions that do not extend one another (hostapd `2.4-devel` from
/// the binary and `2014-10-25` from opkg) stay two entries: nothing shows they agree.
pub fn packages(r: &Report) -> Vec<Package> {
    let distro = distro(&r.components);
    let mut comps: Vec<&Component> = r.components.iter().collect();
    // Longest version first, so a shorter one finds the package it refines already listed.
    comps.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(b.version.len().cmp(&a.version.len()))
            .then(a.version.cmp(&b.version))
    });
    let mut out: Vec<Package> = Vec::new();
    for c in comps {
        if let Some(p) = out.iter_mut().find(|p| {
            p.name == c.name && (p.version == c.version || less_precise(&c.version, &p.version))
        }) {
            for m in c.method.split(", ") {
                if !p.methods.iter().any(|x| x == m) {
                    p.methods.push(m.to_string());
                }
            }
            for e in &c.evidence {
                if !p.evidence.contains(e) {
                    p.evidence.push(e.clone());
                }
            }
            for f in &c.files {
                if !p.files.contains(f) {
                    p.files.push(f.clone());
                }
            }
            if p.version != c.version && !p.merged_versions.contains(&c.version) {
                p.merged_versions.push(c.version.clone());
            }
            continue;
        }
        out.push(Package {
            name: c.name.clone(),
            version: c.version.clone(),
            purl: purl(c, distro.as_deref()),
            cpe: c.cpe.clone(),
            methods: c.method.split(", ").map(str::to_string).collect(),
            evidence: c.evidence.clone(),
            merged_versions: Vec::new(),
            files: c.files.clone(),
        });
    }
    out
}

/// The distribution a dpkg database belongs to, from the release file's component.
fn distro(comps: &[Component]) -> Option<String> {
    comps
        .iter()
        .find(|c| matches!(c.name.as_str(), "debian" | "ubuntu"))
        .map(|c| c.name.clone())
}

/// A purl of a real type where the purl-spec has one for where the package came from: `deb`
/// for a dpkg database, `apk` for Alpine's. Everything else (opkg,
/// which has no registered type, banners, library names) keeps the `pkg:generic` the inspection
/// gave it.
fn purl(c: &Component, distro: Option<&str>) -> String {
    let ns = |default: &str| distro.unwrap_or(default).to_string();
    let methods: Vec<&str> = c.method.split(", ").collect();
    let kind = if methods.contains(&"dpkg-status") {
        Some(("deb", ns("debian")))
    } else if methods.contains(&"apk-installed") {
        Some(("apk", "alpine".to_string()))
    } else {
        None
    };
    match kind {
        Some((t, ns)) => format!(
            "pkg:{t}/{ns}/{}@{}",
            escape(&c.name.to_ascii_lowercase()),
            escape(&c.version)
        ),
        None => c
            .purl
            .clone()
            .unwrap_or_else(|| format!("pkg:generic/{}@{}", escape(&c.name), escape(&c.version))),
    }
}

fn escape(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(name: &str, version: &str, method: &str) -> Component {
        Component {
            name: name.into(),
            version: version.into(),
            purl: Some(format!("pkg:generic/{name}@{version}")),
            cpe: None,
            method: method.into(),
            evidence: Vec::new(),
            files: Vec::new(),
        }
    }

    #[test]
    fn purls_take_the_type_of_the_package_database() {
        assert_eq!(
            purl(&comp("libssl3", "3.0.11-1", "dpkg-status"), Some("ubuntu")),
            "pkg:deb/ubuntu/libssl3@3.0.11-1"
        );
        assert_eq!(
            purl(&comp("zlib", "1.2.13-r0", "apk-installed"), None),
            "pkg:apk/alpine/zlib@1.2.13-r0"
        );
        // opkg has no registered purl type: the inspection's generic purl stays.
        assert_eq!(
            purl(&comp("dnsmasq", "2.72", "opkg-status, binary-banner"), None),
            "pkg:generic/dnsmasq@2.72"
        );
        assert_eq!(
            purl(&comp("busybox", "1.36.1+x", "dpkg-status"), None),
            "pkg:deb/debian/busybox@1.36.1%2Bx"
        );
    }

    #[test]
    fn a_version_is_less_precise_only_at_a_separator() {
        assert!(less_precise("1.9", "1.9.20141209"));
        assert!(less_precise("2014.65", "2014.65-1"));
        assert!(!less_precise("1.9", "1.91"));
        assert!(!less_precise("1.9", "1.9"));
        assert!(!less_precise("2.4-devel", "2014-10-25"));
    }
}
