//! OSV records (<https://ossf.github.io/osv-schema/>): one record, or an array of them. Each
//! `affected[]` package becomes a purl target (from `package.purl`, else from the ecosystem), so
//! a distribution's record (`pkg:deb/ubuntu/busybox`, fixed in `1:1.30.1-4ubuntu6.5`) is matched
//! only against that distribution's package, never against an upstream BusyBox whose version
//! numbers mean something else. `ECOSYSTEM`/`SEMVER` ranges and `versions` are used; `GIT`
//! ranges are listed as not used.

use serde::Deserialize;

use super::{
    norm_date, one_line, severity_word, AffectedRow, Bounds, FeedRecord, FeedSource, Target,
};

#[derive(Deserialize)]
#[serde(untagged)]
enum Doc {
    Many(Vec<Record>),
    One(Box<Record>),
}

#[derive(Deserialize)]
struct Record {
    id: String,
    modified: String,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<Sev>,
    #[serde(default)]
    affected: Vec<Affected>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Sev {
    score: String,
}

#[derive(Deserialize)]
struct Reference {
    url: String,
}

#[derive(Deserialize)]
struct Affected {
    #[serde(default)]
    package: Option<Package>,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct Package {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<std::collections::BTreeMap<String, String>>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Vec<FeedRecord>, String> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not an OSV record or array of records (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    let recs = match doc {
        Doc::Many(v) => v,
        Doc::One(r) => vec![*r],
    };
    recs.into_iter().map(convert).collect()
}

fn convert(r: Record) -> Result<FeedRecord, String> {
    let modified = norm_date(&r.modified)
        .ok_or_else(|| format!("{}: modified `{}` is not a date", r.id, r.modified))?;
    let summary = r
        .summary
        .as_deref()
        .or(r.details.as_deref())
        .map(one_line)
        .unwrap_or_default();
    let cvss = crate::cvss::record_score(r.severity.iter().map(|s| s.score.as_str()));
    let severity = r
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(serde_json::Value::as_str)
        .and_then(severity_word);
    let mut affected = Vec::new();
    let mut notes = Vec::new();
    for (ai, a) in r.affected.iter().enumerate() {
        let at = format!("affected[{ai}]");
        let Some(p) = &a.package else {
            notes.push(format!("{at}: no package"));
            continue;
        };
        let Some(target) = target(p) else {
            notes.push(format!(
                "{at}: package names neither a purl nor an ecosystem and name"
            ));
            continue;
        };
        for (ri, range) in a.ranges.iter().enumerate() {
            if !matches!(range.kind.as_str(), "ECOSYSTEM" | "SEMVER") {
                notes.push(format!(
                    "{at}.ranges[{ri}]: a {} range was ignored",
                    range.kind
                ));
                continue;
            }
            let mut open: Option<String> = None;
            let mut opened = false;
            for ev in &range.events {
                for (k, v) in ev {
                    match k.as_str() {
                        "introduced" => {
                            open = (v != "0").then(|| v.clone());
                            opened = true;
                        }
                        "fixed" | "last_affected" if opened => {
                            affected.push(AffectedRow {
                                target: target.clone(),
                                bounds: Bounds {
                                    exact: None,
                                    start: open.take(),
                                    start_incl: true,
                                    end: Some(v.clone()),
                                    end_incl: k == "last_affected",
                                },
                                place: format!("{at}.ranges[{ri}] ({})", p.ecosystem),
                            });
                            opened = false;
                        }
                        other => {
                            notes.push(format!("{at}.ranges[{ri}]: event `{other}` was ignored"))
                        }
                    }
                }
            }
            if opened {
                affected.push(AffectedRow {
                    target: target.clone(),
                    bounds: Bounds {
                        start: open.take(),
                        start_incl: true,
                        ..Default::default()
                    },
                    place: format!("{at}.ranges[{ri}] ({}, not fixed)", p.ecosystem),
                });
            }
        }
        for v in &a.versions {
            affected.push(AffectedRow {
                target: target.clone(),
                bounds: Bounds {
                    exact: Some(v.clone()),
                    ..Default::default()
                },
                place: format!("{at}.versions ({})", p.ecosystem),
            });
        }
    }
    let url = r
        .references
        .iter()
        .map(|x| x.url.as_str())
        .find(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", r.id));
    let mut aliases = r.aliases;
    // Ubuntu and others name the CVE under `related` (OSV 1.6): an alias for our purposes.
    aliases.extend(r.related.into_iter().filter(|x| x.starts_with("CVE-")));
    Ok(FeedRecord {
        source: FeedSource::Osv,
        id: r.id,
        modified,
        published: r.published.as_deref().and_then(norm_date),
        withdrawn: r.withdrawn.is_some(),
        aliases,
        summary,
        cvss,
        severity,
        url,
        affected,
        notes,
    })
}

/// The package as a purl target: its `purl` when given, else the ecosystem's purl type.
fn target(p: &Package) -> Option<Target> {
    let eco = p.ecosystem.clone();
    if let Some(purl) = p.purl.as_deref() {
        if let Some((ptype, namespace, name)) = split_purl(purl) {
            let distro = purl_distro(purl).unwrap_or_default();
            return Some(Target::Purl {
                ptype,
                namespace,
                name,
                distro,
                ecosystem: eco,
            });
        }
    }
    if p.name.is_empty() || eco.is_empty() {
        return None;
    }
    let base = eco.split(':').next().unwrap_or("").to_ascii_lowercase();
    let (ptype, ns) = match base.as_str() {
        "debian" => ("deb", "debian"),
        "ubuntu" => ("deb", "ubuntu"),
        "alpine" => ("apk", "alpine"),
        "openwrt" => ("opkg", "openwrt"),
        "pypi" => ("pypi", ""),
        "npm" => ("npm", ""),
        "crates.io" => ("cargo", ""),
        "go" => ("golang", ""),
        other => (other, ""),
    };
    Some(Target::Purl {
        ptype: ptype.to_string(),
        namespace: ns.to_string(),
        name: p.name.to_ascii_lowercase(),
        distro: String::new(),
        ecosystem: eco,
    })
}

/// `pkg:deb/ubuntu/busybox?arch=src` → (`deb`, `ubuntu`, `busybox`); the version, qualifiers and
/// subpath are dropped.
pub(crate) fn split_purl(purl: &str) -> Option<(String, String, String)> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split(['?', '#']).next()?;
    let rest = rest.split('@').next()?;
    let mut parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() < 2 {
        return None;
    }
    let ptype = parts.remove(0).to_ascii_lowercase();
    let name = parts.pop()?.to_ascii_lowercase();
    Some((ptype, parts.join("/").to_ascii_lowercase(), name))
}

/// The `distro` qualifier of a purl (Ubuntu writes `?arch=src?distro=focal`, so every `?` or `&`
/// starts a qualifier here).
pub(crate) fn purl_distro(purl: &str) -> Option<String> {
    let (_, q) = purl.split_once('?')?;
    q.split(['?', '&', '#'])
        .find_map(|kv| kv.strip_prefix("distro="))
        .map(|d| d.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
}
