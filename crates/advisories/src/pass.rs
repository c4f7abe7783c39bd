//! The advisory pass: every component of an assessment, whatever source found it, against the
//! database → findings on 5.2-3/5.3-8 (and 5.1-3, 5.5-1, 5.3-7 by the component's role).
//!
//! Components with the same canonical name and version are judged once, with the evidence of
//! every source that reported them. A component the table does not know, or knows nothing
//! about (no advisory, no end-of-life rule), yields no finding: it is counted in the summary,
//! never taken as a PASS. A version that cannot be compared yields INCONCLUSIVE with the reason.

use std::collections::BTreeMap;

use iotassure_core::finding::{
    Component, Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};

use crate::db::{Hit, Match};
use crate::model::{CheckRule, ComponentInfo};
use crate::Db;

/// Options of the pass.
#[derive(Debug, Clone)]
pub struct Options {
    /// The date end-of-life dates are compared with.
    pub today: time::Date,
    /// The source recorded for the checks when no component was found at all (so a
    /// device-only run says "device").
    pub default_source: Source,
    /// Lines added to the pass's summary finding (the advisory database snapshot, a staleness
    /// warning, records the feed matcher set aside).
    pub notes: Vec<String>,
    /// The maker's VEX statements.
    pub vex: Option<crate::vex::Vex>,
    /// The assessed product's identifier (purl or name), which VEX statements naming a product
    /// must match.
    pub product: Option<String>,
    /// The firmware kernel's build configuration, when known: a curated Linux advisory in an
    /// optional subsystem is judged against it as the feed matcher judges a record.
    pub kernel_config: Option<crate::KernelConfig>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            today: crate::today(),
            default_source: Source::Firmware,
            notes: Vec::new(),
            vex: None,
            product: None,
            kernel_config: None,
        }
    }
}

/// Applies the database to `components` (as of today).
pub fn assess(db: &Db, components: &[Component]) -> Observations {
    assess_with(db, components, &Options::default())
}

/// One component name and version, with everything every source said about it.
struct Group<'a> {
    name: String,
    version: String,
    info: Option<&'a ComponentInfo>,
    evidence: Vec<Evidence>,
    methods: Vec<String>,
    sources: Vec<Source>,
    /// The purls the evidence gave it (a distribution package's own).
    purls: Vec<String>,
}

impl Group<'_> {
    /// The source a finding is filed under: the firmware when it saw the component (its
    /// evidence is the more precise), else the first other source.
    fn source(&self) -> Source {
        if self.sources.contains(&Source::Firmware) {
            Source::Firmware
        } else {
            self.sources.first().copied().unwrap_or(Source::Firmware)
        }
    }

    fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

fn source_of(loc: &Location) -> Source {
    match loc {
        Location::Network { .. } => Source::Device,
        Location::Document { .. } => Source::Documents,
        Location::Statement { .. } => Source::Statement,
        Location::File { .. } | Location::Image { .. } => Source::Firmware,
    }
}

/// Applies the database to `components`.
pub fn assess_with(db: &Db, components: &[Component], opts: &Options) -> Observations {
    let mut groups: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    for c in components {
        let info = db.identify(c);
        let name = info
            .map(|i| i.name.clone())
            .unwrap_or_else(|| c.name.trim().to_ascii_lowercase());
        let version = c.version.trim().to_string();
        let g = groups
            .entry((name.clone(), version.clone()))
            .or_insert_with(|| Group {
                name,
                version,
                info,
                evidence: Vec::new(),
                methods: Vec::new(),
                purls: Vec::new(),
                sources: Vec::new(),
            });
        if let Some(p) = &c.purl {
            if !g.purls.contains(p) {
                g.purls.push(p.clone());
            }
        }
        for m in c.method.split(", ") {
            if !g.methods.iter().any(|x| x == m) {
                g.methods.push(m.to_string());
            }
        }
        if c.evidence.is_empty() && !g.sources.contains(&opts.default_source) {
            g.sources.push(opts.default_source);
        }
        for e in &c.evidence {
            let s = source_of(&e.location);
            if !g.sources.contains(&s) {
                g.sources.push(s);
            }
            if !g.evidence.iter().any(|x| x.location == e.location) {
                g.evidence.push(e.clone());
            }
        }
    }

    let mut obs = Observations::default();
    let mut stats = Stats::default();
    for g in groups.values() {
        stats.examined += 1;
        let Some(info) = g.info else {
            stats.unknown.push(g.label());
            continue;
        };
        if !db.knows_anything(info) {
            stats.no_data.push(g.label());
            continue;
        }
        let mut m = db
            .lookup_on(&info.name, &g.version, opts.today)
            .expect("identified components are in the table");
        if let Some(vex) = &opts.vex {
            apply_vex(vex, opts.product.as_deref(), db, g, &mut m, &mut obs);
        }
        if info.name == "linux" {
            for n in kernel_subsystems(opts.kernel_config.as_ref(), &mut m) {
                stats.not_built.push(format!("for {}: {n}", g.label()));
            }
        }
        judge(db, g, &m, &mut obs, &mut stats);
    }
    record_runs(db, &groups, &stats, opts, &mut obs);
    obs
}

/// The feed matcher's subsystem rule, for the curated layer too, so one CVE gets one answer
/// whichever layer matched it: a flaw in a subsystem the kernel config does not build does not
/// apply (it is listed as set aside), and without the config it is INCONCLUSIVE with the reason.
/// Returns what it set aside, in words. Used by the VEX output as well, so both say the same.
pub(crate) fn kernel_subsystems(
    config: Option<&crate::KernelConfig>,
    m: &mut Match<'_>,
) -> Vec<String> {
    let mut set_aside = Vec::new();
    m.advisories.retain_mut(|h| {
        if h.condition().is_some() {
            return true;
        }
        use crate::matching::{subsystem_rule, Subsystem};
        match subsystem_rule(&h.advisory.summary, config) {
            Subsystem::Applies => true,
            Subsystem::NotBuilt(reason) => {
                set_aside.push(format!("{}: {reason}", h.advisory.id));
                false
            }
            Subsystem::Undecided(why) => {
                h.condition = Some(why);
                true
            }
        }
    });
    set_aside
}

#[derive(Default)]
struct Stats {
    examined: usize,
    unknown: Vec<String>,
    no_data: Vec<String>,
    clean: Vec<String>,
    vulnerable: usize,
    eol: usize,
    unparsed: usize,
    not_built: Vec<String>,
}

fn judge(db: &Db, g: &Group<'_>, m: &Match<'_>, obs: &mut Observations, stats: &mut Stats) {
    let map = db.mapping();
    let general = &map.advisories[0];
    let backport = backport_note(g, m);
    let with_evidence = |mut f: Finding| {
        for e in &g.evidence {
            f = f.evidence(e.location.clone(), e.excerpt.clone());
        }
        f
    };

    if let Err(e) = &m.version {
        stats.unparsed += 1;
        obs.findings.push(with_evidence(
            Finding::new(
                &general.check,
                &strs(&general.provisions),
                Outcome::Inconclusive,
                Severity::Info,
                g.source(),
                format!(
                    "{}: version `{}` cannot be compared with the advisories",
                    g.name, g.version
                ),
            )
            .detail(format!(
                "{e}. The advisory table has entries for {} but cannot tell whether this build is affected; check the version by hand (identified by {}).",
                m.component.title,
                g.methods.join(", ")
            )),
        ));
    }

    if let Some(eol) = &m.eol {
        stats.eol += 1;
        let rule = &map.eol;
        obs.findings.push(with_evidence(
            Finding::new(
                &rule.check,
                &strs(&rule.provisions),
                Outcome::Fail,
                Severity::High,
                g.source(),
                format!("{} is end of life", g.label()),
            )
            .detail(format!(
                "{}. A component that no longer receives security fixes cannot have its vulnerabilities rectified (5.2-3) nor receive timely security updates (5.3-8).{} Sources: {}.",
                eol.summary,
                eol.successor
                    .as_ref()
                    .map(|s| format!(" Successor: {s}."))
                    .unwrap_or_default(),
                eol.sources.join(", ")
            )),
        ));
    } else if let Some(age) = &m.age {
        let rule = &map.eol;
        obs.findings.push(with_evidence(
            Finding::new(
                &rule.check,
                &strs(&rule.provisions),
                Outcome::Info,
                Severity::Info,
                g.source(),
                format!("{}: {age}", g.label()),
            )
            .detail(format!(
                "{age}. {} publishes no end-of-life dates; the age is shown for the assessor.",
                m.component.title
            )),
        ));
    }

    if m.advisories.is_empty() {
        if m.version.is_ok() && m.eol.is_none() {
            stats.clean.push(g.label());
        }
        return;
    }
    stats.vulnerable += 1;
    let (outcome, heuristic) = match &backport {
        Some(Backport::Distro(_)) => (Outcome::Inconclusive, true),
        _ => (Outcome::Fail, false),
    };
    for rule in &map.advisories {
        let all: Vec<&Hit<'_>> = m
            .advisories
            .iter()
            .filter(|h| match rule.role {
                None => true,
                Some(role) => h.advisory.bears_on(role, &m.component.roles),
            })
            .collect();
        // A match that depends on a build option the evidence cannot decide is INCONCLUSIVE
        // with that reason, apart from the matches that stand on the version alone.
        let (conditional, hits): (Vec<&Hit<'_>>, Vec<&Hit<'_>>) =
            all.into_iter().partition(|h| h.condition().is_some());
        if !conditional.is_empty() {
            let mut lines = vec![format!(
                "{} ({}) is at or within the affected range of these advisories, but the version alone does not decide them:",
                g.label(),
                g.methods.join(", ")
            )];
            for h in sorted(&conditional) {
                lines.push(format!(
                    "- {}: {} ({}) {}",
                    h.advisory.label(),
                    h.condition().unwrap_or(""),
                    h.advisory.summary,
                    h.advisory.source
                ));
            }
            lines.push(
                "INCONCLUSIVE rather than FAIL: the version alone does not decide these (a kernel's build configuration decides a build option; the build's source or the maker decides a pre-release)."
                    .into(),
            );
            obs.findings.push(
                with_evidence(Finding::new(
                    &rule.check,
                    &strs(&rule.provisions),
                    Outcome::Inconclusive,
                    Severity::Info,
                    g.source(),
                    format!(
                        "{}: {} known vulnerabilit{} the version alone does not decide",
                        g.label(),
                        conditional.len(),
                        if conditional.len() == 1 { "y" } else { "ies" }
                    ),
                ))
                .detail(lines.join("\n"))
                .heuristic(),
            );
        }
        if hits.is_empty() {
            continue;
        }
        let guess = hits.iter().all(|h| h.advisory.low_confidence);
        let mut f = with_evidence(
            Finding::new(
                &rule.check,
                &strs(&rule.provisions),
                outcome,
                if outcome == Outcome::Fail {
                    worst(&hits)
                } else {
                    Severity::Info
                },
                g.source(),
                title(g, &hits, rule),
            )
            .detail(detail(g, &hits, rule, backport.as_ref())),
        );
        if heuristic || guess {
            f = f.heuristic();
        }
        obs.findings.push(f);
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn worst(hits: &[&Hit<'_>]) -> Severity {
    hits.iter()
        .map(|h| h.advisory.severity())
        .max()
        .unwrap_or(Severity::Medium)
}

fn sorted<'a>(hits: &[&'a Hit<'a>]) -> Vec<&'a Hit<'a>> {
    let mut v = hits.to_vec();
    v.sort_by(|a, b| {
        b.advisory
            .severity()
            .cmp(&a.advisory.severity())
            .then(
                b.advisory
                    .cvss
                    .unwrap_or(0.0)
                    .total_cmp(&a.advisory.cvss.unwrap_or(0.0)),
            )
            .then(a.advisory.id.cmp(&b.advisory.id))
    });
    v
}

fn title(g: &Group<'_>, hits: &[&Hit<'_>], rule: &CheckRule) -> String {
    let s = sorted(hits);
    let top: Vec<String> = s.iter().take(3).map(|h| h.advisory.label()).collect();
    let more = s.len().saturating_sub(3);
    let what = match rule.role {
        None => String::new(),
        Some(r) => format!(" in a component with the {} role", r.as_str()),
    };
    format!(
        "{} has {} known vulnerabilit{}{what}: {}{}",
        g.label(),
        s.len(),
        if s.len() == 1 { "y" } else { "ies" },
        top.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

fn detail(
    g: &Group<'_>,
    hits: &[&Hit<'_>],
    rule: &CheckRule,
    backport: Option<&Backport>,
) -> String {
    let mut lines = vec![format!(
        "{} ({}) matches these advisories:",
        g.label(),
        g.methods.join(", ")
    )];
    for h in sorted(hits) {
        let a = h.advisory;
        let score = match a.cvss {
            Some(s) => format!("CVSS {s:.1}"),
            None => format!("severity {}", a.severity().as_str()),
        };
        let fix = match (h.fixed, h.last_affected) {
            (Some(f), _) => format!("fixed in {f}"),
            (None, Some(l)) => format!("affects up to {l}"),
            (None, None) => "no fixed version".to_string(),
        };
        lines.push(format!(
            "- {} ({score}, {fix}): {} {}",
            a.label(),
            a.summary,
            a.source
        ));
    }
    if let Some(f) = upgrade_to(hits) {
        lines.push(format!("Upgrading to {f} or later fixes all of them."));
    }
    lines.push(rule.why.clone());
    match backport {
        Some(Backport::Distro(why)) => lines.push(format!(
            "INCONCLUSIVE rather than FAIL: {why}. Distributions backport security fixes without changing the upstream version, so the version alone does not show the build is vulnerable; check the distribution's advisories for this package version."
        )),
        Some(Backport::Packaged(rev)) => lines.push(format!(
            "Packaged with revision `{rev}`: a vendor may have patched the package without changing the upstream version; the package's changelog would show it."
        )),
        Some(Backport::Banner) => lines.push(
            "The version comes from a network banner; a vendor build may carry backported fixes the banner does not show."
                .to_string(),
        ),
        None => {}
    }
    lines.join("\n")
}

/// The highest fixed version among the hits, when every hit has one.
fn upgrade_to(hits: &[&Hit<'_>]) -> Option<String> {
    let mut best: Option<(crate::Version, &str)> = None;
    for h in hits {
        let f = h.fixed?;
        let v = crate::Version::parse(f, crate::Scheme::Dotted).ok()?;
        if best.as_ref().is_none_or(|(b, _)| v > *b) {
            best = Some((v, f));
        }
    }
    best.map(|(_, f)| f.to_string())
}

/// Why the version alone may overstate the finding.
enum Backport {
    /// The evidence names a distribution that backports fixes (Debian, Ubuntu, RHEL, ...).
    Distro(String),
    /// A package revision was seen (`2.72-1`).
    Packaged(String),
    /// The version came from a banner only.
    Banner,
}

const DISTROS: &[(&str, &str)] = &[
    ("debian", "Debian"),
    ("deb8u", "Debian"),
    ("deb9u", "Debian"),
    ("deb10u", "Debian"),
    ("deb11u", "Debian"),
    ("deb12u", "Debian"),
    ("ubuntu", "Ubuntu"),
    ("raspbian", "Raspbian"),
    ("+deb", "Debian"),
    ("red hat", "Red Hat"),
    ("centos", "CentOS"),
    ("fedora", "Fedora"),
    ("suse", "SUSE"),
    ("freebsd", "FreeBSD"),
];

fn backport_note(g: &Group<'_>, m: &Match<'_>) -> Option<Backport> {
    // Where a distribution build shows itself: the version string (`2.80-1+deb10u1`), a
    // package database's `Version:` field, and what a service says about itself on the
    // network (`SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7`). Not other firmware strings: a kernel
    // banner's build host (`root@debian`) says nothing about backports.
    let texts = g
        .evidence
        .iter()
        .filter_map(|e| match e.location {
            Location::Network { .. } => Some(e.excerpt.to_ascii_lowercase()),
            _ => e
                .excerpt
                .split("Version: ")
                .nth(1)
                .map(|v| v.to_ascii_lowercase()),
        })
        .chain(std::iter::once(g.version.to_ascii_lowercase()));
    for t in texts {
        if let Some((_, d)) = DISTROS.iter().find(|(k, _)| t.contains(k)) {
            return Some(Backport::Distro(format!("the evidence names a {d} build")));
        }
        if let Some(p) = t.find(".el") {
            if t[p + 3..].starts_with(|c: char| c.is_ascii_digit()) {
                return Some(Backport::Distro(
                    "the evidence names an Enterprise Linux (`.elN`) build".into(),
                ));
            }
        }
    }
    if let Some(rev) = m.version.as_ref().ok().and_then(|v| v.revision()) {
        if m.component.scheme == crate::Scheme::Dotted {
            return Some(Backport::Packaged(rev.to_string()));
        }
    }
    // Package databases record `Version: 2.72-1`; inspect reports the upstream part.
    for e in &g.evidence {
        if let Some(v) = e.excerpt.split("Version: ").nth(1) {
            let v = v.split_whitespace().next().unwrap_or("");
            if let (_, Some(rev)) = crate::version::split_revision(v) {
                return Some(Backport::Packaged(rev.to_string()));
            }
        }
    }
    if g.sources.iter().all(|s| *s == Source::Device) {
        return Some(Backport::Banner);
    }
    None
}

fn record_runs(
    db: &Db,
    groups: &BTreeMap<(String, String), Group<'_>>,
    stats: &Stats,
    opts: &Options,
    obs: &mut Observations,
) {
    let map = db.mapping();
    let rules: Vec<&CheckRule> = map.advisories.iter().chain([&map.eol]).collect();
    if groups.is_empty() {
        for r in rules {
            obs.skipped(
                &r.check,
                opts.default_source,
                &strs(&r.provisions),
                "no software components were identified, so none could be matched against advisories",
            );
        }
        return;
    }
    for r in rules {
        let mut per_source: BTreeMap<Source, u64> = BTreeMap::new();
        for g in groups.values() {
            let fits = match r.role {
                None => true,
                Some(role) => g.info.is_some_and(|i| i.roles.contains(&role)),
            };
            if fits {
                *per_source.entry(g.source()).or_default() += 1;
            }
        }
        if per_source.is_empty() {
            let role = r.role.map(|x| x.as_str()).unwrap_or("");
            obs.skipped(
                &r.check,
                opts.default_source,
                &strs(&r.provisions),
                format!("no component with the {role} role was identified"),
            );
        }
        for (s, n) in per_source {
            obs.ran(&r.check, s, &strs(&r.provisions), n);
        }
    }
    let general = &map.advisories[0];
    let known = stats.examined - stats.unknown.len();
    let mut detail = format!(
        "{} components (name and version) examined against {} advisories and {} end-of-life rules: {} known to the component table, {} with known vulnerabilities, {} end of life, {} with versions that cannot be compared.",
        stats.examined,
        db.advisories().count(),
        db.eol_rules().count(),
        known,
        stats.vulnerable,
        stats.eol,
        stats.unparsed,
    );
    if !stats.clean.is_empty() {
        detail.push_str(&format!(
            "\nNo advisory in the table matches: {}. This is not a PASS: the table is curated, not exhaustive.",
            stats.clean.join(", ")
        ));
    }
    if !stats.no_data.is_empty() {
        detail.push_str(&format!(
            "\nKnown components without advisories or end-of-life data in the table: {}.",
            stats.no_data.join(", ")
        ));
    }
    if !stats.unknown.is_empty() {
        detail.push_str(&format!(
            "\nNot in the component table (not matched): {}.",
            stats.unknown.join(", ")
        ));
    }
    for n in &stats.not_built {
        detail.push_str(&format!("\nSet aside {n}."));
    }
    for n in &opts.notes {
        detail.push_str(&format!("\n{n}"));
    }
    for f in db.feeds() {
        detail.push_str(&format!(
            "\nFeed {}: {} records in {} files, {} advisories added, {} replaced built-in ones, {} parts skipped.",
            f.path,
            f.records,
            f.files,
            f.added,
            f.replaced,
            f.skipped.len()
        ));
    }
    let source = groups
        .values()
        .next()
        .map(|g| g.source())
        .unwrap_or(opts.default_source);
    obs.findings.push(
        Finding::new(
            &general.check,
            &["5.2-3"],
            Outcome::Info,
            Severity::Info,
            source,
            format!(
                "advisories: {} components examined, {} with known vulnerabilities, {} end of life",
                stats.examined, stats.vulnerable, stats.eol
            ),
        )
        .detail(detail),
    );
}

/// Sets aside the matches the maker's VEX says do not affect this product (kept visible as an
/// info finding with the justification) and records the statements that confirm a match.
fn apply_vex(
    vex: &crate::vex::Vex,
    product: Option<&str>,
    db: &Db,
    g: &Group<'_>,
    m: &mut Match<'_>,
    obs: &mut Observations,
) {
    let general = &db.mapping().advisories[0];
    let mut kept = Vec::new();
    for h in std::mem::take(&mut m.advisories) {
        let mut ids: Vec<&str> = vec![h.advisory.id.as_str()];
        ids.extend(h.advisory.aliases.iter().map(String::as_str));
        let Some(st) = vex.find(&ids, m.component, &g.version, &g.purls, product) else {
            kept.push(h);
            continue;
        };
        let why = format!(
            "{}{}{} ({})",
            st.state.as_str(),
            st.justification
                .as_deref()
                .map(|j| format!(", justification {j}"))
                .unwrap_or_default(),
            st.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default(),
            st.file
        );
        let title = if st.state.suppresses() {
            format!(
                "{}: {} set aside by the maker's VEX ({})",
                g.label(),
                h.advisory.label(),
                st.state.as_str()
            )
        } else {
            format!(
                "{}: the maker's VEX says {} is {}",
                g.label(),
                h.advisory.label(),
                st.state.as_str()
            )
        };
        obs.findings.push(
            Finding::new(&general.check, &strs(&general.provisions), Outcome::Info, Severity::Info, g.source(), title).detail(
                format!(
                    "The advisory matched {} by version; the maker's VEX statement for this vulnerability, component and product says {why}. {}",
                    g.label(),
                    if st.state.suppresses() {
                        "It is not counted as a known vulnerability; the statement is the maker's claim, not verified evidence."
                    } else {
                        "The match stands."
                    }
                ),
            ),
        );
        if !st.state.suppresses() {
            kept.push(h);
        }
    }
    m.advisories = kept;
}
