//! NVD CVE API 2.0 JSON: an API response or yearly feed (`{"vulnerabilities": [{"cve": …}]}`) or
//! one bare `cve` object (the one-file-per-CVE mirrors). The products come from
//! `configurations[].nodes[].cpeMatch[]`, each with its `versionStart…`/`versionEnd…` bounds;
//! only `vulnerable: true` entries name affected software (the others are the platform an
//! AND-configuration requires, e.g. the hardware a firmware runs on).

use serde::Deserialize;

use super::{
    norm_date, one_line, severity_word, split_cpe, AffectedRow, Bounds, FeedRecord, FeedSource,
    Target,
};

#[derive(Deserialize)]
#[serde(untagged)]
enum Doc {
    Feed { vulnerabilities: Vec<Wrapped> },
    One(Box<Cve>),
}

#[derive(Deserialize)]
struct Wrapped {
    cve: Cve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve {
    id: String,
    #[serde(default)]
    published: Option<String>,
    last_modified: String,
    #[serde(default)]
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<LangString>,
    #[serde(default)]
    metrics: Metrics,
    #[serde(default)]
    configurations: Vec<Configuration>,
}

#[derive(Deserialize)]
struct LangString {
    lang: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    #[serde(default)]
    cvss_metric_v31: Vec<Metric>,
    #[serde(default)]
    cvss_metric_v30: Vec<Metric>,
    #[serde(default)]
    cvss_metric_v40: Vec<Metric>,
    #[serde(default)]
    cvss_metric_v2: Vec<MetricV2>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    cvss_data: CvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CvssData {
    base_score: f32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricV2 {
    #[serde(default)]
    base_severity: Option<String>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(default)]
    negate: bool,
    #[serde(default, rename = "cpeMatch")]
    cpe_match: Vec<CpeMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CpeMatch {
    vulnerable: bool,
    criteria: String,
    #[serde(default)]
    match_criteria_id: Option<String>,
    #[serde(default)]
    version_start_including: Option<String>,
    #[serde(default)]
    version_start_excluding: Option<String>,
    #[serde(default)]
    version_end_including: Option<String>,
    #[serde(default)]
    version_end_excluding: Option<String>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Vec<FeedRecord>, String> {
    let doc: Doc = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not an NVD 2.0 document (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    let cves = match doc {
        Doc::Feed { vulnerabilities } => vulnerabilities.into_iter().map(|w| w.cve).collect(),
        Doc::One(c) => vec![*c],
    };
    cves.into_iter().map(convert).collect()
}

fn convert(c: Cve) -> Result<FeedRecord, String> {
    let modified = norm_date(&c.last_modified)
        .ok_or_else(|| format!("{}: lastModified `{}` is not a date", c.id, c.last_modified))?;
    let summary = c
        .descriptions
        .iter()
        .find(|d| d.lang == "en")
        .or(c.descriptions.first())
        .map(|d| one_line(&d.value))
        .unwrap_or_default();
    // NVD's own (Primary) score first, then a CNA's; v3.1, v3.0, then v4.
    let pick = |v: &[Metric]| {
        v.iter()
            .find(|m| m.kind.as_deref() == Some("Primary"))
            .or(v.first())
            .map(|m| m.cvss_data.base_score)
    };
    let cvss = pick(&c.metrics.cvss_metric_v31)
        .or_else(|| pick(&c.metrics.cvss_metric_v30))
        .or_else(|| pick(&c.metrics.cvss_metric_v40));
    let severity = c
        .metrics
        .cvss_metric_v2
        .iter()
        .find_map(|m| m.base_severity.as_deref().and_then(severity_word));
    let mut affected = Vec::new();
    let mut notes = Vec::new();
    for (ci, conf) in c.configurations.iter().enumerate() {
        let and = conf.operator.as_deref() == Some("AND");
        for (ni, node) in conf.nodes.iter().enumerate() {
            if node.negate {
                notes.push(format!(
                    "configurations[{ci}].nodes[{ni}]: a negated node was ignored"
                ));
                continue;
            }
            for (mi, m) in node.cpe_match.iter().enumerate() {
                if !m.vulnerable {
                    continue;
                }
                let place = format!(
                    "configurations[{ci}].nodes[{ni}].cpeMatch[{mi}] {}{}{}",
                    m.criteria,
                    m.match_criteria_id
                        .as_deref()
                        .map(|id| format!(" ({id})"))
                        .unwrap_or_default(),
                    if and { ", in an AND configuration" } else { "" }
                );
                let Some((part, vendor, product, version, update)) = split_cpe(&m.criteria) else {
                    notes.push(format!("{place}: not a CPE 2.3 name"));
                    continue;
                };
                let exact = match version.as_str() {
                    "*" => None,
                    // `-`: "not applicable", a product without versions; no version compares.
                    "-" | "" => {
                        notes.push(format!("{place}: no version (`-`)"));
                        continue;
                    }
                    v if update == "*" || update == "-" || update.is_empty() => Some(v.to_string()),
                    v => Some(format!("{v}-{update}")),
                };
                let (start, start_incl) =
                    match (&m.version_start_including, &m.version_start_excluding) {
                        (Some(s), _) => (Some(s.clone()), true),
                        (None, Some(s)) => (Some(s.clone()), false),
                        (None, None) => (None, true),
                    };
                let (end, end_incl) = match (&m.version_end_including, &m.version_end_excluding) {
                    (Some(e), _) => (Some(e.clone()), true),
                    (None, Some(e)) => (Some(e.clone()), false),
                    (None, None) => (None, false),
                };
                affected.push(AffectedRow {
                    target: Target::Cpe {
                        part,
                        vendor,
                        product,
                    },
                    bounds: Bounds {
                        exact,
                        start,
                        start_incl,
                        end,
                        end_incl,
                    },
                    place,
                });
            }
        }
    }
    let withdrawn = c.vuln_status.as_deref() == Some("Rejected");
    Ok(FeedRecord {
        source: FeedSource::Nvd,
        url: format!("https://nvd.nist.gov/vuln/detail/{}", c.id),
        id: c.id,
        modified,
        published: c.published.as_deref().and_then(norm_date),
        withdrawn,
        aliases: Vec::new(),
        summary,
        cvss,
        severity,
        affected,
        notes,
    })
}
