//! CVE JSON 5 records (the CVE Program's format; cvelistV5 keeps one per file under
//! `cves/YEAR/NNxxx/`). Products come from the CNA container's `affected[]` and from ADP
//! containers (CISA's adds CPEs): each entry's `cpes` become CPE targets, its `vendor`/`product`
//! words a named target, and its `versions[]` the bounds (`version` … `lessThan` /
//! `lessThanOrEqual`, or one version). Free-text versions ("Fixed in OpenSSL 3.0.2 (Affected
//! 3.0.0,3.0.1)") and git commit ranges cannot be compared with a firmware's version string and
//! are listed as not used. A `REJECTED` record is withdrawn.

use serde::Deserialize;

use super::{norm_date, one_line, split_cpe, AffectedRow, Bounds, FeedRecord, FeedSource, Target};
use crate::version::{Scheme, Version};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    cve_metadata: Meta,
    #[serde(default)]
    containers: Containers,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    cve_id: String,
    state: String,
    #[serde(default)]
    date_updated: Option<String>,
    #[serde(default)]
    date_published: Option<String>,
}

#[derive(Deserialize, Default)]
struct Containers {
    #[serde(default)]
    cna: Option<Container>,
    #[serde(default)]
    adp: Vec<Container>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default)]
    descriptions: Vec<Desc>,
    #[serde(default)]
    affected: Vec<Affected>,
    #[serde(default)]
    metrics: Vec<serde_json::Value>,
    #[serde(default)]
    provider_metadata: Option<Provider>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    #[serde(default)]
    short_name: Option<String>,
}

#[derive(Deserialize)]
struct Desc {
    lang: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Affected {
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    cpes: Vec<String>,
    #[serde(default)]
    versions: Vec<Ver>,
    #[serde(default)]
    default_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ver {
    version: String,
    status: String,
    #[serde(default)]
    less_than: Option<String>,
    #[serde(default)]
    less_than_or_equal: Option<String>,
    #[serde(default)]
    version_type: Option<String>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<FeedRecord, String> {
    let r: Record = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not a CVE JSON 5 record (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    let id = r.cve_metadata.cve_id.clone();
    let date = r
        .cve_metadata
        .date_updated
        .as_deref()
        .or(r.cve_metadata.date_published.as_deref())
        .ok_or_else(|| format!("{id}: neither dateUpdated nor datePublished"))?;
    let modified = norm_date(date).ok_or_else(|| format!("{id}: `{date}` is not a date"))?;
    let withdrawn = r.cve_metadata.state != "PUBLISHED";
    let cna = r.containers.cna.unwrap_or_default();
    let summary = cna
        .descriptions
        .iter()
        .find(|d| d.lang.starts_with("en"))
        .or(cna.descriptions.first())
        .map(|d| one_line(&d.value))
        .unwrap_or_default();
    let mut cvss = None;
    for c in std::iter::once(&cna).chain(&r.containers.adp) {
        for m in &c.metrics {
            for key in ["cvssV3_1", "cvssV3_0", "cvssV4_0"] {
                if cvss.is_none() {
                    cvss = m
                        .get(key)
                        .and_then(|x| x.get("baseScore"))
                        .and_then(serde_json::Value::as_f64)
                        .map(|s| s as f32);
                }
            }
        }
    }
    let mut affected = Vec::new();
    let mut notes = Vec::new();
    let containers = std::iter::once(("cna".to_string(), &cna)).chain(
        r.containers.adp.iter().enumerate().map(|(i, c)| {
            let who = c
                .provider_metadata
                .as_ref()
                .and_then(|p| p.short_name.clone())
                .unwrap_or_else(|| format!("adp[{i}]"));
            (who, c)
        }),
    );
    for (who, c) in containers {
        for (ai, a) in c.affected.iter().enumerate() {
            let at = format!("{who}.affected[{ai}]");
            let bounds = versions(a, &at, &mut notes);
            if bounds.is_empty() {
                continue;
            }
            let mut targets = Vec::new();
            for cpe in &a.cpes {
                match split_cpe(cpe) {
                    Some((part, vendor, product, _, _)) => targets.push((
                        Target::Cpe {
                            part,
                            vendor,
                            product,
                        },
                        format!("{at} cpe {cpe}"),
                    )),
                    None => notes.push(format!("{at}: `{cpe}` is not a CPE 2.3 name")),
                }
            }
            let word = |s: &Option<String>| {
                s.as_deref()
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty() && s != "n/a")
            };
            if let (Some(vendor), Some(product)) = (word(&a.vendor), word(&a.product)) {
                targets.push((
                    Target::Named {
                        vendor: vendor.clone(),
                        product: product.clone(),
                    },
                    format!("{at} vendor `{vendor}` product `{product}`"),
                ));
            } else if a.cpes.is_empty() {
                notes.push(format!("{at}: names no vendor and product (n/a)"));
            }
            for (t, place) in targets {
                for (b, why) in &bounds {
                    affected.push(AffectedRow {
                        target: t.clone(),
                        bounds: b.clone(),
                        place: format!("{place}, {why}"),
                    });
                }
            }
        }
    }
    Ok(FeedRecord {
        source: FeedSource::Cve5,
        url: format!("https://www.cve.org/CVERecord?id={id}"),
        id,
        modified,
        published: r.cve_metadata.date_published.as_deref().and_then(norm_date),
        withdrawn,
        aliases: Vec::new(),
        summary,
        cvss,
        severity: None,
        affected,
        notes,
    })
}

/// The affected bounds of one `affected[]` entry, each with where it came from.
fn versions(a: &Affected, at: &str, notes: &mut Vec<String>) -> Vec<(Bounds, String)> {
    let mut out = Vec::new();
    // A version string is usable when some scheme can compare it (kernel or dotted).
    let usable = |v: &str| {
        Version::parse(v, Scheme::Dotted).is_ok() || Version::parse(v, Scheme::Kernel).is_ok()
    };
    for (vi, v) in a.versions.iter().enumerate() {
        if v.status != "affected" {
            continue;
        }
        let place = format!("versions[{vi}]");
        if v.version_type.as_deref() == Some("git") {
            notes.push(format!("{at}.{place}: a git commit range was ignored"));
            continue;
        }
        let start = (v.version != "0" && v.version != "*").then(|| v.version.clone());
        if start.as_deref().is_some_and(|s| !usable(s)) {
            notes.push(format!(
                "{at}.{place}: version `{}` cannot be compared and was ignored",
                v.version
            ));
            continue;
        }
        let end = match (&v.less_than, &v.less_than_or_equal) {
            (Some(e), _) if e != "*" => Some((e.clone(), false)),
            (None, Some(e)) if e != "*" => Some((e.clone(), true)),
            (Some(_), _) | (None, Some(_)) => Some((String::new(), false)),
            (None, None) => None,
        };
        let b = match end {
            None => match start {
                Some(s) => Bounds {
                    exact: Some(s),
                    ..Default::default()
                },
                None => {
                    notes.push(format!("{at}.{place}: `0` with no upper bound was ignored"));
                    continue;
                }
            },
            Some((e, incl)) => {
                if !e.is_empty() && !usable(&e) {
                    notes.push(format!(
                        "{at}.{place}: bound `{e}` cannot be compared and was ignored"
                    ));
                    continue;
                }
                Bounds {
                    exact: None,
                    start,
                    start_incl: true,
                    end: (!e.is_empty()).then_some(e),
                    end_incl: incl,
                }
            }
        };
        out.push((b, place));
    }
    if out.is_empty() && a.versions.is_empty() && a.default_status.as_deref() == Some("affected") {
        out.push((Bounds::default(), "defaultStatus affected".into()));
    }
    out
}
