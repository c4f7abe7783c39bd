//! The maker's SBOM (CycloneDX or SPDX JSON) held against the components the firmware shows.
//!
//! The CRA (Annex I, Part II (1)) asks for an SBOM of the product; EN 303 645 5.2-3 asks the
//! maker to monitor its components for vulnerabilities, which it can only do for components it
//! knows. A component the firmware contains but the SBOM leaves out, or lists at another
//! version, is therefore a finding. A component the SBOM lists and the firmware does not show
//! is only noted: static analysis does not see every component.
//!
//! The models below read only what is compared (name, version, purl), so any valid document of
//! either format loads; unknown members are ignored by design.

use iotassure_core::finding::{
    Component, Finding, Location, Observations, Outcome, Severity, Source,
};
use serde::Deserialize;

pub const ID: &str = "5.2-3-sbom-accuracy";
const MAX_BYTES: usize = 64 << 20;
const MAX_COMPONENTS: usize = 200_000;

/// One component as the maker's SBOM lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub version: String,
    pub purl: Option<String>,
}

#[derive(Deserialize)]
struct CdxDoc {
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct CdxComponent {
    name: String,
    #[serde(default)]
    version: String,
    purl: Option<String>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct SpdxDoc {
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<String>,
    #[serde(default)]
    packages: Vec<SpdxPackage>,
}

#[derive(Deserialize)]
struct SpdxPackage {
    name: String,
    #[serde(rename = "versionInfo", default)]
    version: String,
    #[serde(rename = "externalRefs", default)]
    refs: Vec<SpdxRef>,
}

#[derive(Deserialize)]
struct SpdxRef {
    #[serde(rename = "referenceType")]
    kind: String,
    #[serde(rename = "referenceLocator")]
    locator: String,
}

/// Reads a CycloneDX (`bomFormat: CycloneDX`) or SPDX (`spdxVersion`) JSON document.
pub fn parse(bytes: &[u8], origin: &str) -> Result<Vec<Listed>, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "{origin}: larger than {} MiB, not read",
            MAX_BYTES >> 20
        ));
    }
    let err = |e: serde_json::Error| {
        format!(
            "{origin}: not a CycloneDX or SPDX JSON SBOM (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    };
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(err)?;
    let mut out = Vec::new();
    if v.get("bomFormat").is_some() {
        let d: CdxDoc = serde_json::from_value(v).map_err(err)?;
        if d.bom_format.as_deref() != Some("CycloneDX") {
            return Err(format!("{origin}: bomFormat is not CycloneDX"));
        }
        // Nested components (assemblies) count too; walked without recursion.
        let mut stack: Vec<CdxComponent> = d.components;
        while let Some(c) = stack.pop() {
            stack.extend(c.components);
            out.push(Listed {
                name: c.name,
                version: c.version,
                purl: c.purl,
            });
            if out.len() > MAX_COMPONENTS {
                return Err(format!("{origin}: more than {MAX_COMPONENTS} components"));
            }
        }
    } else if v.get("spdxVersion").is_some() {
        let d: SpdxDoc = serde_json::from_value(v).map_err(err)?;
        if !d
            .spdx_version
            .as_deref()
            .is_some_and(|s| s.starts_with("SPDX-2."))
        {
            return Err(format!("{origin}: only SPDX 2.x JSON is read"));
        }
        for p in d.packages.into_iter().take(MAX_COMPONENTS + 1) {
            let purl = p
                .refs
                .iter()
                .find(|r| r.kind == "purl")
                .map(|r| r.locator.clone());
            out.push(Listed {
                name: p.name,
                version: p.version,
                purl,
            });
        }
        if out.len() > MAX_COMPONENTS {
            return Err(format!("{origin}: more than {MAX_COMPONENTS} packages"));
        }
    } else {
        return Err(format!(
            "{origin}: neither CycloneDX (bomFormat) nor SPDX (spdxVersion)"
        ));
    }
    Ok(out)
}

/// The package name a purl names (`pkg:deb/debian/openssl@3.0` → `openssl`).
fn purl_name(p: &str) -> Option<String> {
    let rest = p.strip_prefix("pkg:")?;
    let path = rest.split(['@', '?', '#']).next()?;
    Some(path.rsplit('/').next()?.to_ascii_lowercase())
}

fn key(name: &str, purl: Option<&str>) -> String {
    purl.and_then(purl_name)
        .unwrap_or_else(|| name.trim().to_ascii_lowercase())
}

/// Versions agree when equal or when one extends the other at a separator (a firmware banner
/// says `1.9`, the package `1.9.20141209`).
fn same_version(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    !short.is_empty()
        && long.starts_with(short)
        && long[short.len()..].starts_with(['.', '-', '_', '+', '~'])
}

/// Compares the SBOM with the components found.
pub fn judge(listed: &[Listed], found: &[Component], origin: &str) -> Observations {
    let mut obs = Observations::default();
    let prov = &["5.2-3"];
    obs.ran(ID, Source::Documents, prov, found.len() as u64);
    let by_key: std::collections::HashMap<String, Vec<&Listed>> =
        listed.iter().fold(Default::default(), |mut m, l| {
            m.entry(key(&l.name, l.purl.as_deref()))
                .or_default()
                .push(l);
            m
        });
    let doc = Location::Document {
        source: origin.to_string(),
        line: None,
    };
    for c in found {
        let k = key(&c.name, c.purl.as_deref());
        let k2 = c.name.trim().to_ascii_lowercase();
        let entries: Vec<&&Listed> = by_key
            .get(&k)
            .or_else(|| by_key.get(&k2))
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        // A banner or a string in a binary can misname a component; a package database cannot.
        let from_metadata = matches!(
            c.method.as_str(),
            "opkg-status" | "dpkg-status" | "apk-installed"
        );
        let at = c
            .evidence
            .first()
            .map(|e| e.location.clone())
            .unwrap_or_else(|| doc.clone());
        let mut f = if entries.is_empty() {
            Finding::new(
                ID,
                prov,
                Outcome::Fail,
                Severity::Medium,
                Source::Documents,
                format!("{} {} is in the firmware but not in the maker's SBOM", c.name, c.version),
            )
            .detail(format!(
                "Identified by {} in the firmware; {origin} lists no component of that name. An SBOM that leaves out a component cannot support monitoring it for vulnerabilities (EN 303 645 5.2-3) and is not the accurate SBOM the CRA (Annex I, Part II (1)) asks for.",
                c.method
            ))
        } else if !entries.iter().any(|l| same_version(&l.version, &c.version)) {
            let listed: Vec<&str> = entries.iter().map(|l| l.version.as_str()).collect();
            Finding::new(
                ID,
                prov,
                Outcome::Fail,
                Severity::Medium,
                Source::Documents,
                format!(
                    "{} is {} in the firmware but {} in the maker's SBOM",
                    c.name,
                    c.version,
                    listed.join(", ")
                ),
            )
            .detail(format!(
                "Identified by {} in the firmware. A version that disagrees sends vulnerability monitoring to the wrong advisories (EN 303 645 5.2-3; CRA Annex I, Part II (1)).",
                c.method
            ))
        } else {
            continue;
        };
        f = f.evidence(at, format!("{} {}", c.name, c.version));
        if !from_metadata {
            f = f.heuristic();
        }
        obs.findings.push(f);
    }
    let seen: std::collections::HashSet<String> = found
        .iter()
        .flat_map(|c| {
            [
                key(&c.name, c.purl.as_deref()),
                c.name.trim().to_ascii_lowercase(),
            ]
        })
        .collect();
    let unseen = listed
        .iter()
        .filter(|l| {
            !seen.contains(&key(&l.name, l.purl.as_deref()))
                && !seen.contains(&l.name.trim().to_ascii_lowercase())
        })
        .count();
    obs.findings.push(
        Finding::new(
            ID,
            prov,
            Outcome::Info,
            Severity::Info,
            Source::Documents,
            format!(
                "The maker's SBOM lists {} component(s); the firmware shows {}, of which {} are missing or differ",
                listed.len(),
                found.len(),
                obs.findings.len()
            ),
        )
        .detail(format!(
            "{unseen} listed component(s) were not identified in the firmware: static analysis does not see every component, so these are not findings."
        ))
        .evidence(doc, origin.to_string()),
    );
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(name: &str, version: &str, method: &str) -> Component {
        Component {
            name: name.into(),
            version: version.into(),
            purl: None,
            cpe: None,
            method: method.into(),
            evidence: vec![],
            files: vec![],
        }
    }

    #[test]
    fn missing_and_disagreeing_components_are_findings() {
        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[
            {"name":"busybox","version":"1.36.1","purl":"pkg:generic/busybox@1.36.1"},
            {"name":"miniupnpd","version":"1.9.20141209"},
            {"name":"openssl","version":"1.1.1w","components":[{"name":"libcrypto","version":"1.1.1w"}]}]}"#;
        let listed = parse(cdx, "sbom.json").unwrap();
        assert_eq!(listed.len(), 4);
        let found = [
            comp("busybox", "1.36.1", "binary-banner"),
            comp("miniupnpd", "1.9", "binary-banner"),
            comp("openssl", "1.0.2k", "opkg-status"),
            comp("dropbear", "2022.83", "opkg-status"),
        ];
        let obs = judge(&listed, &found, "sbom.json");
        let fails: Vec<&Finding> = obs
            .findings
            .iter()
            .filter(|f| f.outcome == Outcome::Fail)
            .collect();
        assert_eq!(
            fails.len(),
            2,
            "{:?}",
            obs.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
        );
        assert!(fails.iter().any(|f| f.title
            == "openssl is 1.0.2k in the firmware but 1.1.1w in the maker's SBOM"
            && !f.heuristic));
        assert!(fails.iter().any(|f| f
            .title
            .starts_with("dropbear 2022.83 is in the firmware but not")));
    }

    #[test]
    fn spdx_reads_and_garbage_is_named() {
        let spdx = br#"{"spdxVersion":"SPDX-2.3","packages":[{"name":"zlib","versionInfo":"1.2.13",
            "externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/zlib1g@1.2.13"}]}]}"#;
        let l = parse(spdx, "s.spdx.json").unwrap();
        assert_eq!(l[0].purl.as_deref(), Some("pkg:deb/debian/zlib1g@1.2.13"));
        assert!(parse(b"{}", "x.json")
            .unwrap_err()
            .contains("neither CycloneDX"));
        assert!(parse(b"[", "x.json")
            .unwrap_err()
            .starts_with("x.json: not a CycloneDX"));
        assert!(same_version("1.9", "1.9.20141209") && !same_version("1.9", "1.10"));
    }
}
