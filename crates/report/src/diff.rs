//! A security diff between two releases: what changed from the OLD report to the NEW one, and
//! whether NEW regresses (a release gate).
//!
//! Findings are matched by what they are about (check, place, title), never by their index;
//! components by name, their versions compared number by number.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use iotassure_assess::model::{Report, RequirementVerdict, Verdict};
use iotassure_core::finding::{Finding, Location, Outcome};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Diff {
    pub old: Side,
    pub new: Side,
    /// Provisions whose verdict changed.
    pub verdicts: Vec<VerdictChange>,
    pub findings_added: Vec<FindingRef>,
    pub findings_removed: Vec<FindingRef>,
    pub components: Vec<ComponentChange>,
    /// Top-level layout of the image (`format @offset`), as in NEW but not OLD, and the reverse.
    pub layout_added: Vec<String>,
    pub layout_removed: Vec<String>,
    /// Why NEW regresses; empty when it does not.
    pub regressions: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Side {
    pub firmware: String,
    pub sha256: String,
    pub product: String,
}

#[derive(Debug, Serialize)]
pub struct VerdictChange {
    pub id: String,
    pub old: String,
    pub new: String,
    pub worse: bool,
}

#[derive(Debug, Serialize, Clone)]
pub struct FindingRef {
    pub check: String,
    pub outcome: String,
    pub severity: String,
    pub title: String,
    pub at: String,
}

#[derive(Debug, Serialize)]
pub struct ComponentChange {
    pub name: String,
    /// `upgraded`, `downgraded`, `changed`, `added` or `removed`.
    pub change: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

fn side(r: &Report) -> Side {
    let p = &r.subject.product;
    Side {
        firmware: r
            .subject
            .firmware
            .as_ref()
            .map(|f| crate::public_text(r, &f.input))
            .unwrap_or_default(),
        sha256: r
            .subject
            .firmware
            .as_ref()
            .map(|f| f.sha256.clone())
            .unwrap_or_default(),
        product: format!("{} {} {}", p.manufacturer, p.model, p.firmware_version)
            .trim()
            .to_string(),
    }
}

/// How bad a verdict is: a move to a higher rank is a regression.
fn rank(v: &RequirementVerdict) -> u8 {
    match v.verdict {
        Verdict::Pass | Verdict::NotApplicable => 0,
        Verdict::Fail if v.justified => 1,
        Verdict::Inconclusive => 1,
        Verdict::Fail => 2,
    }
}

fn place(f: &Finding) -> String {
    match f.evidence.first().map(|e| &e.location) {
        Some(Location::File { path, .. }) => path.clone(),
        Some(Location::Image { offset, .. }) => format!("image @0x{offset:x}"),
        Some(Location::Network { port, protocol, .. }) => format!("{protocol}/{port}"),
        Some(Location::Document { source, .. }) => source.clone(),
        Some(Location::Statement { file, .. }) => file.clone(),
        None => String::new(),
    }
}

fn finding_ref(f: &Finding) -> FindingRef {
    FindingRef {
        check: f.check.clone(),
        outcome: format!("{:?}", f.outcome).to_uppercase(),
        severity: f.severity.as_str().into(),
        title: f.title.clone(),
        at: place(f),
    }
}

/// Versions compared as runs of digits (numerically) and of other characters (as text).
fn cmp_versions(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, run)) if *d == digit => run.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let o = match (x.0, y.0) {
            (true, true) => {
                let (xs, ys) = (x.1.trim_start_matches('0'), y.1.trim_start_matches('0'));
                xs.len().cmp(&ys.len()).then_with(|| xs.cmp(ys))
            }
            _ => x.1.cmp(&y.1),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

fn components(r: &Report) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in &r.components {
        m.entry(c.name.clone())
            .or_default()
            .insert(c.version.clone());
    }
    m
}

fn layout(r: &Report) -> BTreeSet<String> {
    r.subject
        .firmware
        .iter()
        .flat_map(|f| f.layout.iter())
        .filter(|l| l.depth == 0 && l.format != "padding")
        .map(|l| format!("{} @0x{:x}", l.format, l.offset))
        .collect()
}

pub fn diff(old: &Report, new: &Report) -> Diff {
    let mut regressions = Vec::new();
    let mut verdicts = Vec::new();
    for n in new.verdicts.iter().filter(|v| v.scheme == "en303645") {
        let Some(o) = old.verdict(&n.id) else {
            continue;
        };
        if o.verdict == n.verdict && o.justified == n.justified {
            continue;
        }
        let worse = rank(n) > rank(o);
        if worse {
            regressions.push(format!("{}: {} → {}", n.id, o.label(), n.label()));
        }
        verdicts.push(VerdictChange {
            id: n.id.clone(),
            old: o.label().into(),
            new: n.label().into(),
            worse,
        });
    }
    let key = |f: &Finding| (f.check.clone(), place(f), f.title.clone());
    let old_keys: BTreeSet<_> = old.findings.iter().map(key).collect();
    let new_keys: BTreeSet<_> = new.findings.iter().map(key).collect();
    let findings_added: Vec<FindingRef> = new
        .findings
        .iter()
        .filter(|f| !old_keys.contains(&key(f)))
        .map(finding_ref)
        .collect();
    let findings_removed: Vec<FindingRef> = old
        .findings
        .iter()
        .filter(|f| !new_keys.contains(&key(f)))
        .map(finding_ref)
        .collect();
    for f in new
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail && !old_keys.contains(&key(f)))
    {
        regressions.push(format!("new FAIL finding: {} ({})", f.title, f.check));
    }
    let (oc, nc) = (components(old), components(new));
    let mut comps = Vec::new();
    for name in oc.keys().chain(nc.keys()).collect::<BTreeSet<_>>() {
        // A name seen at two precisions (1.9 and 1.9.20141209) is one component: the highest.
        let high = |s: Option<&BTreeSet<String>>| {
            s.and_then(|v| v.iter().max_by(|a, b| cmp_versions(a, b)).cloned())
        };
        let (o, n) = (high(oc.get(name)), high(nc.get(name)));
        let change = match (&o, &n) {
            (Some(a), Some(b)) => match cmp_versions(a, b) {
                Ordering::Less => "upgraded",
                Ordering::Greater => "downgraded",
                Ordering::Equal => continue,
            },
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (None, None) => continue,
        };
        comps.push(ComponentChange {
            name: name.clone(),
            change: change.into(),
            old: o,
            new: n,
        });
    }
    let (ol, nl) = (layout(old), layout(new));
    Diff {
        old: side(old),
        new: side(new),
        verdicts,
        findings_added,
        findings_removed,
        components: comps,
        layout_added: nl.difference(&ol).cloned().collect(),
        layout_removed: ol.difference(&nl).cloned().collect(),
        regressions,
    }
}

fn md(s: &str) -> String {
    iotassure_assess::statement::md_cell(s)
}

pub fn markdown(d: &Diff) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Security diff\n\n- **Old:** {} (sha256 `{}`) {}\n- **New:** {} (sha256 `{}`) {}\n",
        md(&d.old.firmware),
        d.old.sha256,
        md(&d.old.product),
        md(&d.new.firmware),
        d.new.sha256,
        md(&d.new.product)
    );
    if d.regressions.is_empty() {
        let _ = writeln!(s, "**No regression.**\n");
    } else {
        let _ = writeln!(s, "**Regressions ({}):**\n", d.regressions.len());
        for r in &d.regressions {
            let _ = writeln!(s, "- {}", md(r));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Verdicts changed ({})\n", d.verdicts.len());
    if !d.verdicts.is_empty() {
        let _ = writeln!(s, "| Provision | Old | New | |\n|---|---|---|---|");
        for v in &d.verdicts {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                v.id,
                v.old,
                v.new,
                if v.worse { "worse" } else { "" }
            );
        }
    }
    for (title, list) in [
        ("Findings added", &d.findings_added),
        ("Findings removed", &d.findings_removed),
    ] {
        let _ = writeln!(s, "\n## {title} ({})\n", list.len());
        for f in list {
            let _ = writeln!(
                s,
                "- {} {} — {} (`{}`{})",
                f.outcome,
                f.severity,
                md(&f.title),
                f.check,
                if f.at.is_empty() {
                    String::new()
                } else {
                    format!(", {}", md(&f.at))
                }
            );
        }
    }
    let _ = writeln!(s, "\n## Components ({} changed)\n", d.components.len());
    if !d.components.is_empty() {
        let _ = writeln!(s, "| Component | Change | Old | New |\n|---|---|---|---|");
        for c in &d.components {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md(&c.name),
                c.change,
                md(c.old.as_deref().unwrap_or("-")),
                md(c.new.as_deref().unwrap_or("-"))
            );
        }
    }
    let _ = writeln!(s, "\n## Image layout\n");
    for l in &d.layout_added {
        let _ = writeln!(s, "- added: {}", md(l));
    }
    for l in &d.layout_removed {
        let _ = writeln!(s, "- removed: {}", md(l));
    }
    if d.layout_added.is_empty() && d.layout_removed.is_empty() {
        let _ = writeln!(s, "Unchanged at the top level.");
    }
    s
}

/// The Markdown in a self-contained, escaped HTML page (no script, no external asset).
pub fn html(d: &Diff) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"><title>Security diff</title><style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}} pre{{white-space:pre-wrap}}</style></head><body><pre>{}</pre></body></html>\n",
        crate::chart::esc(&markdown(d))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_number_by_number() {
        assert_eq!(cmp_versions("1.22.1", "1.27.2"), Ordering::Less);
        assert_eq!(cmp_versions("1.4.21", "1.3.7"), Ordering::Greater);
        assert_eq!(cmp_versions("2014.65", "2017.75"), Ordering::Less);
        assert_eq!(cmp_versions("1.9", "1.9.20141209"), Ordering::Less);
        assert_eq!(cmp_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(cmp_versions("2.4", "2.4"), Ordering::Equal);
    }
}
