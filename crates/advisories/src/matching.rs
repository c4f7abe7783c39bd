//! Matching a component against the feed database.
//!
//! The rules that keep the false positives of CPE-based tools out:
//! - A component with a distribution purl (`pkg:deb/ubuntu/busybox`) is matched on purl type,
//!   namespace and name against OSV records of that ecosystem, with the distribution's own version
//!   order (epoch, upstream, revision). A generic purl is not matched by purl at all, so an Ubuntu
//!   record's `1:1.30.1-4ubuntu6.5` never judges a firmware's upstream BusyBox 1.30.1.
//! - Otherwise by CPE: the record's vendor **and** product must both be the component's
//!   (`thekelleys:dnsmasq`, not any `*:dnsmasq`), or a curated alias of it; a CVE 5 CNA's own words
//!   must name both too (`Linux` / `Kernel` for `linux:linux_kernel`).
//! - Bounds are compared under the component's version scheme, with their own inclusiveness:
//!   `versionEndExcluding 1.0.2zd` does not contain 1.0.2zd, `versionEndIncluding 2016.73` does
//!   not contain 2016.74.
//! - A Linux CVE naming a subsystem that a known kernel config does not build is not a match
//!   (kept visible as such); with the config unknown, it is a match whose verdict is
//!   INCONCLUSIVE with that reason.
//! - A curated advisory with the same id for the component wins over the feeds; a curated
//!   correction drops a feed's wrong CPE match, with its reason.
//!
//! Each hit says which record, which configuration or range, and why it applies.

use std::collections::{BTreeMap, HashMap};

use iotassure_core::finding::Component;
use serde::Serialize;

use crate::feeds::{split_purl, Bounds, FeedSource, Target};
use crate::store::{Candidate, Store};
use crate::version::{Scheme, Version};
use crate::{Db, Error};

/// A kernel build configuration (`.config`): which options are built in or as modules.
#[derive(Debug, Clone, Default)]
pub struct KernelConfig {
    options: HashMap<String, bool>,
}

impl KernelConfig {
    /// Parses `CONFIG_X=y|m|…` and `# CONFIG_X is not set` lines.
    pub fn parse(text: &str) -> KernelConfig {
        let mut options = HashMap::new();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("# ") {
                if let Some(name) = rest.strip_suffix(" is not set") {
                    options.insert(name.to_string(), false);
                }
            } else if let Some((k, v)) = line.split_once('=') {
                if k.starts_with("CONFIG_") {
                    options.insert(k.to_string(), v != "n");
                }
            }
        }
        KernelConfig { options }
    }

    /// `Some(true)` built (y or m), `Some(false)` not set, `None` not mentioned (an option a
    /// config does not mention is one its kernel version or architecture does not offer).
    pub fn built(&self, option: &str) -> Option<bool> {
        self.options.get(option).copied()
    }
}

/// Words in a Linux CVE's description that name an optional subsystem, and the option that
/// builds it. Only options that embedded kernels often leave out are listed: a word is enough
/// to attribute the CVE, because the description is the CNA's own account of where the bug is.
const KERNEL_SUBSYSTEMS: &[(&str, &str)] = &[
    ("nf_tables", "CONFIG_NF_TABLES"),
    ("io_uring", "CONFIG_IO_URING"),
    ("ksmbd", "CONFIG_SMB_SERVER"),
    ("bluetooth", "CONFIG_BT"),
    ("sctp", "CONFIG_IP_SCTP"),
    ("tipc", "CONFIG_TIPC"),
    ("kvm", "CONFIG_KVM"),
    ("nfsd", "CONFIG_NFSD"),
    ("btrfs", "CONFIG_BTRFS_FS"),
    ("xfs", "CONFIG_XFS_FS"),
    ("cifs", "CONFIG_CIFS"),
    ("mac80211", "CONFIG_MAC80211"),
    ("rds", "CONFIG_RDS"),
    ("dccp", "CONFIG_IP_DCCP"),
];

/// How a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Purl,
    Cpe,
    /// A CVE 5 CNA's vendor and product words.
    Named,
}

/// A feed record that applies to a component version.
#[derive(Debug, Clone, Serialize)]
pub struct FeedHit {
    pub id: String,
    pub aliases: Vec<String>,
    pub source: FeedSource,
    /// Other sources whose records for the same id also apply.
    pub also: Vec<FeedSource>,
    pub component: String,
    pub version: String,
    pub via: Via,
    pub bounds: Bounds,
    /// Where in the record (configuration, cpeMatch, range).
    pub place: String,
    /// Why it applies, in words.
    pub why: String,
    /// A CPE-only match for a component seen only in a binary: the identity itself is a guess.
    pub low_confidence: bool,
    /// A build option the verdict depends on, when the evidence cannot decide it.
    pub condition: Option<String>,
    pub summary: String,
    pub cvss: Option<f32>,
    pub severity: Option<String>,
    pub url: String,
}

/// A record that names the component but was set aside, with the reason (shown, never hidden).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetAside {
    pub id: String,
    pub component: String,
    pub version: String,
    pub reason: String,
}

/// Every hit and set-aside record for a list of components.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MatchResult {
    pub hits: Vec<FeedHit>,
    pub set_aside: Vec<SetAside>,
}

/// Matches components against a store, with the curated table on top.
pub struct Matcher<'a> {
    pub store: &'a Store,
    pub db: &'a Db,
    pub kernel_config: Option<&'a KernelConfig>,
}

impl Matcher<'_> {
    /// Matches every component (each name and version once).
    pub fn match_all(&self, components: &[Component]) -> Result<MatchResult, Error> {
        let mut out = MatchResult::default();
        let mut seen = std::collections::HashSet::new();
        for c in components {
            let key = (
                c.name.to_ascii_lowercase(),
                c.version.clone(),
                c.purl.clone(),
            );
            if seen.insert(key) {
                self.match_one(c, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Matches one component, adding to `out`.
    pub fn match_one(&self, c: &Component, out: &mut MatchResult) -> Result<(), Error> {
        let info = self.db.identify(c);
        let name = info
            .map(|i| i.name.clone())
            .unwrap_or_else(|| c.name.trim().to_ascii_lowercase());
        let scheme = info.map(|i| i.scheme).unwrap_or_default();
        let version = c.version.trim().to_string();
        let from_package_db = c
            .method
            .split(", ")
            .any(|m| m.ends_with("-status") || m.contains("sbom"));
        let mut rows: Vec<(Via, Candidate, String)> = Vec::new();

        // A distribution purl: that ecosystem's records only.
        let purl = c
            .purl
            .as_deref()
            .and_then(split_purl)
            .filter(|(t, _, _)| t != "generic");
        if let Some((ptype, ns, pname)) = &purl {
            let mine_distro = c
                .purl
                .as_deref()
                .and_then(crate::feeds::purl_distro)
                .unwrap_or_default();
            for cand in self.store.by_purl(ptype, pname)? {
                if let Target::Purl {
                    namespace, distro, ..
                } = &cand.target
                {
                    let same_release =
                        distro.is_empty() || mine_distro.is_empty() || *distro == mine_distro;
                    if namespace == ns && same_release {
                        let why = format!("purl pkg:{ptype}/{ns}/{pname} is the component's");
                        rows.push((Via::Purl, cand, why));
                    }
                }
            }
        } else {
            for (vendor, product, whose) in self.cpe_names(c, info) {
                for cand in self.store.by_cpe(&vendor, &product)? {
                    let why = format!(
                        "CPE vendor `{vendor}` and product `{product}` are both the {whose}"
                    );
                    rows.push((Via::Cpe, cand, why));
                }
                for (v, p) in named_pairs(&vendor, &product, info.map(|i| i.title.as_str())) {
                    for cand in self.store.by_name(&v, &p)? {
                        let why = format!(
                            "the CNA names vendor `{v}` and product `{p}`, which are the {whose} `{vendor}:{product}`"
                        );
                        rows.push((Via::Named, cand, why));
                    }
                }
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let parsed = match Version::parse(&version, scheme) {
            Ok(v) => v,
            Err(e) => {
                let mut ids: Vec<&str> = rows.iter().map(|(_, c, _)| c.id.as_str()).collect();
                ids.dedup();
                out.set_aside.push(SetAside {
                    id: ids.join(", "),
                    component: name.clone(),
                    version: version.clone(),
                    reason: format!(
                        "{e}; the records naming it cannot be checked against this version"
                    ),
                });
                return Ok(());
            }
        };
        let purl_order = purl.is_some();
        let mut by_id: BTreeMap<String, Vec<InRange>> = BTreeMap::new();
        // Ids for which NVD's analysed CPE ranges name this component: NVD splits a fix across
        // stable branches (5.15.149, 6.1.76, …) where a CNA often gives one coarse range.
        let mut nvd_named: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (via, cand, _) in &rows {
            if cand.source == FeedSource::Nvd && *via == Via::Cpe {
                nvd_named.insert(canonical_id(cand));
            }
        }
        for (via, cand, why) in rows {
            match contains(&cand.bounds, &parsed, scheme, purl_order) {
                Ok(true) => by_id
                    .entry(canonical_id(&cand))
                    .or_default()
                    .push((via, cand, why, None)),
                Ok(false) => {
                    if let Some(c) = pre_release_at_start(&cand.bounds, &parsed, scheme) {
                        by_id.entry(canonical_id(&cand)).or_default().push((
                            via,
                            cand,
                            why,
                            Some(c),
                        ));
                    }
                }
                Err(e) => out.set_aside.push(SetAside {
                    id: cand.id.clone(),
                    component: name.clone(),
                    version: version.clone(),
                    reason: format!("{} {}: {e}", cand.source.as_str(), cand.place),
                }),
            }
        }
        for (id, mut list) in by_id {
            // NVD's configurations are the most precise statement of ranges, then the CNA's.
            list.sort_by_key(|(via, c, _, pre)| {
                (
                    pre.is_some(),
                    c.source != FeedSource::Nvd,
                    *via == Via::Named,
                )
            });
            if nvd_named.contains(&id) && list[0].1.source != FeedSource::Nvd {
                out.set_aside.push(SetAside {
                    id: id.clone(),
                    component: name.clone(),
                    version: version.clone(),
                    reason: format!(
                        "NVD's ranges for this component do not include {version}; the {} record's coarser range ({}) is not used",
                        list[0].1.source.as_str(),
                        list[0].1.bounds.describe()
                    ),
                });
                continue;
            }
            let (via, first, why, pre) = list[0].clone();
            let pre_start = pre.is_some();
            let mut curated_note = String::new();
            if let Some(curated) = self.curated(&name, &id) {
                let silent = (first.source == FeedSource::Nvd)
                    .then(|| self.curated_silent_on(&name, &id, &parsed, scheme))
                    .flatten();
                match silent {
                    Some(branches) => {
                        curated_note = format!(
                            "; the curated entry ({curated}) speaks only for the branches {branches}, not {version}'s, so NVD's range stands"
                        )
                    }
                    None => {
                        out.set_aside.push(SetAside {
                            id: id.clone(),
                            component: name.clone(),
                            version: version.clone(),
                            reason: format!(
                                "the curated table's entry ({curated}) is used instead of the feed's"
                            ),
                        });
                        continue;
                    }
                }
            }
            if let Some(reason) = self.db.ignored(&name, &id) {
                out.set_aside.push(SetAside {
                    id: id.clone(),
                    component: name.clone(),
                    version: version.clone(),
                    reason: format!("curated correction: {reason}"),
                });
                continue;
            }
            let mut also: Vec<FeedSource> = list
                .iter()
                .map(|(_, c, _, _)| c.source)
                .filter(|s| *s != first.source)
                .collect();
            also.sort();
            also.dedup();
            let mut condition = pre;
            if name == "linux" {
                match subsystem_rule(&first.summary, self.kernel_config) {
                    Subsystem::Applies => {}
                    Subsystem::NotBuilt(reason) => {
                        out.set_aside.push(SetAside {
                            id: id.clone(),
                            component: name.clone(),
                            version: version.clone(),
                            reason,
                        });
                        continue;
                    }
                    Subsystem::Undecided(why) => condition = Some(why),
                }
            }
            let low_confidence = via != Via::Purl && !from_package_db;
            out.hits.push(FeedHit {
                id,
                aliases: first.aliases.clone(),
                source: first.source,
                also,
                component: name.clone(),
                version: version.clone(),
                via,
                why: format!(
                    "{} {} ({}): {why}; {version} is {} {}{curated_note}",
                    first.source.as_str(),
                    first.id,
                    first.place,
                    if pre_start {
                        "at the start of"
                    } else {
                        "within"
                    },
                    first.bounds.describe()
                ),
                bounds: first.bounds.clone(),
                place: first.place.clone(),
                low_confidence,
                condition,
                summary: first.summary.clone(),
                cvss: first.cvss,
                severity: first.severity.clone(),
                url: first.url.clone(),
            });
        }
        Ok(())
    }

    /// CPE vendor:product names the component goes by: its own CPE, the table's, and the
    /// curated aliases for CPEs NVD uses besides the canonical one.
    fn cpe_names(
        &self,
        c: &Component,
        info: Option<&crate::ComponentInfo>,
    ) -> Vec<(String, String, String)> {
        let mut out: Vec<(String, String, String)> = Vec::new();
        let mut push = |vp: &str, whose: &str| {
            if let Some((v, p)) = vp.split_once(':') {
                if !out.iter().any(|(a, b, _)| a == v && b == p) {
                    out.push((v.to_string(), p.to_string(), whose.to_string()));
                }
            }
        };
        if let Some(i) = info {
            if let Some(vp) = &i.cpe {
                push(vp, "component table's CPE");
            }
            for vp in self.db.cpe_aliases(&i.name) {
                push(vp, "curated alias of the component's CPE");
            }
        }
        if let Some((_, v, p, _, _)) = c.cpe.as_deref().and_then(crate::feeds::split_cpe) {
            push(&format!("{v}:{p}"), "component's own CPE");
        }
        out
    }

    /// Curated kernel entries list the stable branches that got a fix (`3.2`, `3.16`, `3.18`, …)
    /// and say nothing of the others. For a kernel on a branch none of its ranges names, and which
    /// none contains (2.6.36, 3.17.4), NVD's analysed range is the only statement there is, so the
    /// curated entry must not hide it: the branches it does speak for are returned.
    fn curated_silent_on(
        &self,
        component: &str,
        id: &str,
        v: &Version,
        scheme: Scheme,
    ) -> Option<String> {
        if scheme != Scheme::Kernel {
            return None;
        }
        let a = self.db.advisories().find(|a| {
            a.component == component
                && matches!(a.origin, crate::model::Origin::Builtin { .. })
                && (a.id == id || a.aliases.iter().any(|x| x == id))
        })?;
        let mut branches = Vec::new();
        for r in &a.affected {
            // A range from the first release speaks for every branch.
            let intro = r.introduced.as_deref()?;
            if v.on_branch(&crate::version::Branch::parse(intro).ok()?) {
                return None;
            }
            let lo = Version::parse(intro, scheme).ok()?;
            let below_end = match (&r.fixed, &r.last_affected) {
                (Some(f), _) => *v < Version::parse(f, scheme).ok()?,
                (None, Some(l)) => *v <= Version::parse(l, scheme).ok()?,
                (None, None) => true,
            };
            if lo <= *v && below_end {
                return None;
            }
            branches.push(intro.to_string());
        }
        Some(branches.join(", "))
    }

    fn curated(&self, component: &str, id: &str) -> Option<String> {
        self.db
            .advisories()
            .find(|a| {
                a.component == component
                    && matches!(a.origin, crate::model::Origin::Builtin { .. })
                    && (a.id == id || a.aliases.iter().any(|x| x == id))
            })
            .map(|a| match &a.origin {
                crate::model::Origin::Builtin { file } => {
                    format!("{file}, {}: {}", a.id, describe_ranges(&a.affected))
                }
                _ => a.id.clone(),
            })
    }
}

/// The CVE id a record is about (OSV records name it in `aliases`/`related`).
fn canonical_id(c: &Candidate) -> String {
    if c.id.starts_with("CVE-") {
        return c.id.clone();
    }
    c.aliases
        .iter()
        .find(|a| a.starts_with("CVE-"))
        .cloned()
        .unwrap_or_else(|| c.id.clone())
}

/// CNA word pairs that mean CPE `vendor:product`: the CPE's own words, the product with the vendor
/// prefix split off (`linux` + `kernel` for `linux:linux_kernel`), and the display title.
fn named_pairs(vendor: &str, product: &str, title: Option<&str>) -> Vec<(String, String)> {
    let mut v = vec![(vendor.to_string(), product.to_string())];
    if let Some(rest) = product.strip_prefix(&format!("{vendor}_")) {
        v.push((vendor.to_string(), rest.to_string()));
    }
    if let Some(t) = title {
        let t = t.to_ascii_lowercase();
        v.push((t.clone(), t));
    }
    v.sort();
    v.dedup();
    v
}

/// A candidate whose bounds hold the version: how it was found, the record, why the names
/// match, and why the version alone does not decide it (a pre-release of the first affected
/// release), if so.
type InRange = (Via, Candidate, String, Option<String>);

/// What the subsystem rule says of one Linux advisory.
pub enum Subsystem {
    /// No optional subsystem named, or the config builds it.
    Applies,
    /// The config does not build the subsystem: the advisory is set aside, for this reason.
    NotBuilt(String),
    /// No config: INCONCLUSIVE, for this reason.
    Undecided(String),
}

/// The one subsystem rule for the feed matcher, the curated pass and the assessment's VEX.
pub fn subsystem_rule(summary: &str, config: Option<&KernelConfig>) -> Subsystem {
    let Some((word, option)) = subsystem_of(summary) else {
        return Subsystem::Applies;
    };
    match config.map(|k| k.built(option)) {
        Some(Some(true)) => Subsystem::Applies,
        Some(_) => Subsystem::NotBuilt(format!(
            "affects the {word} subsystem ({option}), which this kernel's config does not build"
        )),
        None => Subsystem::Undecided(format!(
            "applies only to a kernel built with {option} (the {word} subsystem); the kernel config is not known"
        )),
    }
}

/// The optional kernel subsystem a Linux CVE's description names, and the option that builds it.
pub fn subsystem_of(summary: &str) -> Option<(&'static str, &'static str)> {
    let s = summary.to_ascii_lowercase();
    KERNEL_SUBSYSTEMS.iter().copied().find(|(w, _)| {
        s.match_indices(w).any(|(i, _)| {
            let before = s[..i].chars().next_back();
            let after = s[i + w.len()..].chars().next();
            let word = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            word(before) && word(after)
        })
    })
}

/// When `v` is a pre-release of the first release `b` includes (ppp `2.4.2b3` against
/// `>= 2.4.2`) and the range's end holds for it: the reason it is undecided, else `None`.
fn pre_release_at_start(b: &Bounds, v: &Version, scheme: Scheme) -> Option<String> {
    let start = Version::parse(b.start.as_deref()?, scheme).ok()?;
    if !b.start_incl || !v.is_pre_release_of(&start) {
        return None;
    }
    let open_start = Bounds {
        start: None,
        ..b.clone()
    };
    contains(&open_start, v, scheme, false)
        .ok()?
        .then(|| crate::db::pre_release_condition(v, &start))
}

/// Whether `v` lies within `b`. With `package_order`, versions compare as distribution packages
/// (the revision counts); otherwise upstream releases are compared.
fn contains(b: &Bounds, v: &Version, scheme: Scheme, package_order: bool) -> Result<bool, String> {
    let p = |s: &str| Version::parse(s, scheme).map_err(|e| e.to_string());
    let cmp = |a: &Version, b: &Version| {
        if package_order {
            a.cmp_package(b)
        } else {
            a.cmp(b)
        }
    };
    use std::cmp::Ordering::*;
    if let Some(e) = &b.exact {
        return Ok(cmp(v, &p(e)?) == Equal);
    }
    if let Some(s) = &b.start {
        let s = p(s)?;
        match cmp(v, &s) {
            Less => return Ok(false),
            Equal if !b.start_incl => return Ok(false),
            _ => {}
        }
    }
    if let Some(e) = &b.end {
        let e = p(e)?;
        match cmp(v, &e) {
            Greater => return Ok(false),
            Equal if !b.end_incl => return Ok(false),
            _ => {}
        }
    }
    Ok(true)
}

/// A curated entry's ranges in words, so a set-aside feed match says which range decided instead
/// (`from 2013.56 before 2017.75`): the reader sees why the feed's wider range was not used.
fn describe_ranges(ranges: &[crate::model::Range]) -> String {
    if ranges.is_empty() {
        return "no affected range".into();
    }
    ranges
        .iter()
        .map(|r| {
            let from = r.introduced.as_deref().map(|v| format!("from {v} "));
            let to = match (&r.fixed, &r.last_affected) {
                (Some(f), _) => format!("before {f}"),
                (None, Some(l)) => format!("up to {l}"),
                (None, None) => "with no fix".into(),
            };
            format!("{}{to}", from.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(start: &str, end: &str, end_incl: bool) -> Bounds {
        Bounds {
            start: Some(start.into()),
            start_incl: true,
            end: Some(end.into()),
            end_incl,
            ..Bounds::default()
        }
    }

    fn v(s: &str) -> Version {
        Version::parse(s, Scheme::Dotted).unwrap()
    }

    #[test]
    fn a_pre_release_of_the_range_start_is_undecided_not_outside() {
        // CVE-2020-8597 as NVD states it: >= 2.4.2, <= 2.4.8.
        let b = bounds("2.4.2", "2.4.8", true);
        let why = pre_release_at_start(&b, &v("2.4.2b3"), Scheme::Dotted);
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("pre-release of 2.4.2")),
            "{why:?}"
        );
        assert_eq!(
            contains(&b, &v("2.4.2b3"), Scheme::Dotted, false),
            Ok(false)
        );
        // Not a pre-release of the start: outside, and no reason to doubt it.
        assert!(pre_release_at_start(&b, &v("2.4.1"), Scheme::Dotted).is_none());
        assert!(pre_release_at_start(&b, &v("2.4.1b2"), Scheme::Dotted).is_none());
        // An exclusive start (`> 2.4.2`) leaves 2.4.2's betas out for certain.
        let excl = Bounds {
            start_incl: false,
            ..b.clone()
        };
        assert!(pre_release_at_start(&excl, &v("2.4.2b3"), Scheme::Dotted).is_none());
        // The end must still hold (a range that ends before its own start's beta is impossible
        // in data, but the rule must not invent a hit past the end).
        let closed = bounds("2.4.2", "2.4.1", true);
        assert!(pre_release_at_start(&closed, &v("2.4.2b3"), Scheme::Dotted).is_none());
    }
}
