//! The database: built-in tables plus loaded feeds, indexed by canonical component name so a
//! lookup is a hash probe and a scan of that component's advisories.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::model::{Advisory, ComponentInfo, EolRule, Mapping, Origin, ParsedRange, Role};
use crate::version::{Branch, Version, VersionError};
use crate::Error;

/// The YAML files compiled in. `tests/data.rs` checks that every file under `data/` is listed.
pub(crate) const COMPONENTS: (&str, &str) =
    ("components.yaml", include_str!("../data/components.yaml"));
pub(crate) const EOL: (&str, &str) = ("eol.yaml", include_str!("../data/eol.yaml"));
pub(crate) const CORRECTIONS: (&str, &str) =
    ("corrections.yaml", include_str!("../data/corrections.yaml"));
pub(crate) const PROVISIONS: (&str, &str) =
    ("provisions.yaml", include_str!("../data/provisions.yaml"));
pub const ADVISORY_FILES: &[(&str, &str)] = &[
    (
        "busybox.yaml",
        include_str!("../data/advisories/busybox.yaml"),
    ),
    ("curl.yaml", include_str!("../data/advisories/curl.yaml")),
    (
        "dnsmasq.yaml",
        include_str!("../data/advisories/dnsmasq.yaml"),
    ),
    (
        "dropbear.yaml",
        include_str!("../data/advisories/dropbear.yaml"),
    ),
    ("glibc.yaml", include_str!("../data/advisories/glibc.yaml")),
    (
        "goahead.yaml",
        include_str!("../data/advisories/goahead.yaml"),
    ),
    (
        "hostapd.yaml",
        include_str!("../data/advisories/hostapd.yaml"),
    ),
    (
        "libupnp.yaml",
        include_str!("../data/advisories/libupnp.yaml"),
    ),
    (
        "lighttpd.yaml",
        include_str!("../data/advisories/lighttpd.yaml"),
    ),
    ("linux.yaml", include_str!("../data/advisories/linux.yaml")),
    (
        "miniupnpd.yaml",
        include_str!("../data/advisories/miniupnpd.yaml"),
    ),
    (
        "mosquitto.yaml",
        include_str!("../data/advisories/mosquitto.yaml"),
    ),
    ("musl.yaml", include_str!("../data/advisories/musl.yaml")),
    (
        "openssh.yaml",
        include_str!("../data/advisories/openssh.yaml"),
    ),
    (
        "openssl.yaml",
        include_str!("../data/advisories/openssl.yaml"),
    ),
    ("pppd.yaml", include_str!("../data/advisories/pppd.yaml")),
    ("samba.yaml", include_str!("../data/advisories/samba.yaml")),
    (
        "thttpd.yaml",
        include_str!("../data/advisories/thttpd.yaml"),
    ),
    (
        "uclibc.yaml",
        include_str!("../data/advisories/uclibc.yaml"),
    ),
    (
        "uclibc-ng.yaml",
        include_str!("../data/advisories/uclibc-ng.yaml"),
    ),
    (
        "wpa_supplicant.yaml",
        include_str!("../data/advisories/wpa_supplicant.yaml"),
    ),
    ("zlib.yaml", include_str!("../data/advisories/zlib.yaml")),
];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvisoryFile {
    component: String,
    advisories: Vec<Advisory>,
}

/// An advisory with its ranges parsed.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub advisory: Advisory,
    pub ranges: Vec<ParsedRange>,
}

/// End-of-life rules with branches parsed.
#[derive(Debug, Clone)]
pub(crate) struct ParsedEol {
    pub rule: EolRule,
    pub branches: Vec<Branch>,
    pub older_than: Option<Branch>,
}

/// What happened to the records of one loaded feed (a file or a folder).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedReport {
    /// The path as given.
    pub path: String,
    pub files: usize,
    pub records: usize,
    /// Advisories added (one per record and component).
    pub added: usize,
    /// Built-in advisories a record replaced (same id and component).
    pub replaced: usize,
    /// Package names the component table did not know, added as components of their own.
    pub new_components: Vec<String>,
    /// Records, or parts of records, not used, each with the reason.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    pub file: String,
    pub id: String,
    pub reason: String,
}

/// The advisory knowledge base.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) components: Vec<ComponentInfo>,
    /// Lower-case name or alias → component index.
    names: HashMap<String, usize>,
    /// CPE `vendor:product` → component index.
    cpes: HashMap<String, usize>,
    pub(crate) eol: HashMap<usize, ParsedEol>,
    pub(crate) entries: Vec<Entry>,
    /// Component index → indices into `entries`.
    by_component: HashMap<usize, Vec<usize>>,
    pub(crate) mapping: Mapping,
    pub(crate) feeds: Vec<FeedReport>,
    pub(crate) corrections: Corrections,
}

/// Curated corrections to the feeds (`data/corrections.yaml`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corrections {
    #[serde(default)]
    pub cpe_aliases: Vec<CpeAlias>,
    #[serde(default)]
    pub ignore: Vec<Ignore>,
}

/// Another CPE vendor:product a component is filed under.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpeAlias {
    pub component: String,
    pub cpe: String,
    pub reason: String,
}

/// A feed record that does not apply to a component, whatever its CPE or range says.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    pub id: String,
    pub component: String,
    pub reason: String,
}

static BUILTIN: LazyLock<Db> = LazyLock::new(|| {
    Db::try_builtin().unwrap_or_else(|e| panic!("built-in advisory data is invalid: {e}"))
});

/// The built-in database, parsed once per process.
pub fn builtin() -> &'static Db {
    &BUILTIN
}

/// A version that belongs to no advisory range but is end of life, or is old.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Eol {
    /// The branch (`1.0.2`), or `all versions` for an unmaintained project.
    pub branch: String,
    /// Last day of support, when the source gives one.
    pub since: Option<String>,
    /// One line: "OpenSSL 1.0.2: no security fixes since 2019-12-31".
    pub summary: String,
    pub successor: Option<String>,
    pub sources: Vec<String>,
}

/// One advisory that applies, with the fixed version of the range that matched.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub advisory: &'a Advisory,
    /// First fixed version on the matching range (`None`: not fixed, or only `last_affected`).
    pub fixed: Option<&'a str>,
    pub last_affected: Option<&'a str>,
    /// Why the version alone does not decide this hit (it is INCONCLUSIVE, not a FAIL).
    pub condition: Option<String>,
}

impl Hit<'_> {
    /// This hit's own condition, else the advisory's (a build option).
    pub fn condition(&self) -> Option<&str> {
        self.condition
            .as_deref()
            .or(self.advisory.condition.as_deref())
    }
}

/// What the database knows about one component version.
#[derive(Debug, Clone)]
pub struct Match<'a> {
    /// The canonical component.
    pub component: &'a ComponentInfo,
    /// The parsed version, or why it could not be compared.
    pub version: Result<Version, VersionError>,
    pub eol: Option<Eol>,
    /// An age note where no end-of-life policy exists ("BusyBox 1.22 series released 2014").
    pub age: Option<String>,
    pub advisories: Vec<Hit<'a>>,
}

impl Db {
    /// The compiled-in tables (a copy of [`builtin()`], ready for feeds to be loaded into).
    pub fn builtin() -> Db {
        builtin().clone()
    }

    /// The compiled-in knowledge (components, aliases, end-of-life rules, provision mapping)
    /// without the built-in advisories: for a trust center whose re-check must react only to the
    /// advisories it was given.
    pub fn knowledge_only() -> Db {
        let mut db = Db::builtin();
        db.entries.clear();
        db.by_component.clear();
        db
    }

    /// Parses and validates the compiled-in tables.
    pub fn try_builtin() -> Result<Db, Error> {
        let data = |file: &str, e: &dyn std::fmt::Display| Error::Data {
            file: file.to_string(),
            message: e.to_string(),
        };
        let components: Vec<ComponentInfo> =
            serde_yaml_ng::from_str(COMPONENTS.1).map_err(|e| data(COMPONENTS.0, &e))?;
        let mapping: Mapping =
            serde_yaml_ng::from_str(PROVISIONS.1).map_err(|e| data(PROVISIONS.0, &e))?;
        let mut db = Db {
            components: Vec::new(),
            names: HashMap::new(),
            cpes: HashMap::new(),
            eol: HashMap::new(),
            entries: Vec::new(),
            by_component: HashMap::new(),
            mapping,
            feeds: Vec::new(),
            corrections: Corrections::default(),
        };
        for c in components {
            db.add_component(c).map_err(|e| data(COMPONENTS.0, &e))?;
        }
        let corrections: Corrections =
            serde_yaml_ng::from_str(CORRECTIONS.1).map_err(|e| data(CORRECTIONS.0, &e))?;
        for a in &corrections.cpe_aliases {
            db.add_cpe_alias(a.clone())
                .map_err(|e| data(CORRECTIONS.0, &e))?;
        }
        for i in &corrections.ignore {
            db.add_ignore(i.clone())
                .map_err(|e| data(CORRECTIONS.0, &e))?;
        }
        let rules: Vec<EolRule> = serde_yaml_ng::from_str(EOL.1).map_err(|e| data(EOL.0, &e))?;
        for r in rules {
            db.add_eol(r).map_err(|e| data(EOL.0, &e))?;
        }
        for (file, text) in ADVISORY_FILES {
            let f: AdvisoryFile = serde_yaml_ng::from_str(text).map_err(|e| data(file, &e))?;
            let mut seen = HashSet::new();
            for mut a in f.advisories {
                if !seen.insert(a.id.clone()) {
                    return Err(data(file, &format!("{} is listed twice", a.id)));
                }
                a.component = f.component.clone();
                a.origin = Origin::Builtin {
                    file: file.to_string(),
                };
                validate_advisory(&a).map_err(|e| data(file, &format!("{}: {e}", a.id)))?;
                db.add_advisory(a).map_err(|e| data(file, &e))?;
            }
        }
        if db
            .mapping
            .advisories
            .first()
            .is_none_or(|r| r.role.is_some())
        {
            return Err(data(
                PROVISIONS.0,
                &"the first advisories row must have no role (it applies to every component)",
            ));
        }
        for rule in db.mapping.advisories.iter().chain([&db.mapping.eol]) {
            if rule.provisions.is_empty() {
                return Err(data(
                    PROVISIONS.0,
                    &format!("{} names no provision", rule.check),
                ));
            }
        }
        Ok(db)
    }

    pub(crate) fn add_component(&mut self, c: ComponentInfo) -> Result<usize, String> {
        if c.name.is_empty() || c.name != c.name.to_ascii_lowercase() {
            return Err(format!("component name `{}` must be lower case", c.name));
        }
        if !c.purl.starts_with("pkg:") || c.purl.contains('@') {
            return Err(format!(
                "{}: purl `{}` must be `pkg:type/name` without a version",
                c.name, c.purl
            ));
        }
        if !matches!(c.cpe_part, 'a' | 'o' | 'h') {
            return Err(format!("{}: cpe_part must be a, o or h", c.name));
        }
        let i = self.components.len();
        for n in std::iter::once(&c.name).chain(&c.aliases) {
            let key = n.to_ascii_lowercase();
            if let Some(&j) = self.names.get(&key) {
                return Err(format!(
                    "name `{n}` of {} is already a name of {}",
                    c.name, self.components[j].name
                ));
            }
            self.names.insert(key, i);
        }
        if let Some(vp) = &c.cpe {
            if vp.split(':').count() != 2 {
                return Err(format!("{}: cpe `{vp}` must be vendor:product", c.name));
            }
            if let Some(&j) = self.cpes.get(vp) {
                return Err(format!(
                    "cpe `{vp}` of {} is already the CPE of {}",
                    c.name, self.components[j].name
                ));
            }
            self.cpes.insert(vp.clone(), i);
        }
        self.components.push(c);
        Ok(i)
    }

    fn add_eol(&mut self, r: EolRule) -> Result<(), String> {
        let i = self
            .index(&r.component)
            .ok_or_else(|| format!("end-of-life rule for unknown component `{}`", r.component))?;
        if self.components[i].name != r.component {
            return Err(format!(
                "end-of-life rule names `{}`; use the canonical name `{}`",
                r.component, self.components[i].name
            ));
        }
        if self.eol.contains_key(&i) {
            return Err(format!("two end-of-life rules for {}", r.component));
        }
        if r.sources.is_empty() || !r.sources.iter().all(|s| is_url(s)) {
            return Err(format!("{}: every rule needs source URLs", r.component));
        }
        let branches = r
            .branches
            .iter()
            .map(|b| Branch::parse(&b.branch).map_err(|e| format!("{}: {e}", r.component)))
            .collect::<Result<Vec<_>, _>>()?;
        for (k, b) in r.branches.iter().enumerate() {
            if b.eol.is_none() && b.released.is_none() {
                return Err(format!(
                    "{} branch {}: give `eol` or `released`",
                    r.component, b.branch
                ));
            }
            if r.branches[..k].iter().any(|o| o.branch == b.branch) {
                return Err(format!("{} branch {} listed twice", r.component, b.branch));
            }
        }
        let older_than = match &r.older_than {
            Some(o) => Some(Branch::parse(&o.branch).map_err(|e| format!("{}: {e}", r.component))?),
            None => None,
        };
        self.eol.insert(
            i,
            ParsedEol {
                rule: r,
                branches,
                older_than,
            },
        );
        Ok(())
    }

    /// Adds an advisory (replacing one with the same id for the same component). Returns true
    /// when it replaced one.
    pub(crate) fn add_advisory(&mut self, a: Advisory) -> Result<bool, String> {
        let ci = self
            .index(&a.component)
            .ok_or_else(|| format!("{}: unknown component `{}`", a.id, a.component))?;
        let scheme = self.components[ci].scheme;
        let ranges = a
            .affected
            .iter()
            .map(|r| r.parse(scheme))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{}: {e}", a.id))?;
        for r in &ranges {
            if let (Some(i), Some(f)) = (&r.introduced, &r.fixed) {
                if i >= f {
                    return Err(format!("{}: introduced {i} is not before fixed {f}", a.id));
                }
            }
            if let (Some(i), Some(l)) = (&r.introduced, &r.last_affected) {
                if i > l {
                    return Err(format!(
                        "{}: introduced {i} is after last_affected {l}",
                        a.id
                    ));
                }
            }
        }
        let list = self.by_component.entry(ci).or_default();
        if let Some(&k) = list.iter().find(|&&k| self.entries[k].advisory.id == a.id) {
            self.entries[k] = Entry {
                advisory: a,
                ranges,
            };
            return Ok(true);
        }
        list.push(self.entries.len());
        self.entries.push(Entry {
            advisory: a,
            ranges,
        });
        Ok(false)
    }

    /// Adds a curated CPE alias (validated: a known component, `vendor:product`, a reason).
    pub fn add_cpe_alias(&mut self, a: CpeAlias) -> Result<(), String> {
        let c = self
            .component(&a.component)
            .ok_or_else(|| format!("cpe alias for unknown component `{}`", a.component))?;
        if c.name != a.component {
            return Err(format!(
                "cpe alias names `{}`; use `{}`",
                a.component, c.name
            ));
        }
        if a.cpe.split(':').count() != 2 || a.reason.trim().is_empty() {
            return Err(format!(
                "{}: cpe `{}` must be vendor:product, with a reason",
                a.component, a.cpe
            ));
        }
        self.corrections.cpe_aliases.push(a);
        Ok(())
    }

    /// Adds a curated "this feed record does not apply" correction.
    pub fn add_ignore(&mut self, i: Ignore) -> Result<(), String> {
        if self.component(&i.component).is_none()
            || i.reason.trim().is_empty()
            || i.id.trim().is_empty()
        {
            return Err(format!(
                "ignore {} for {}: a known component, an id and a reason are needed",
                i.id, i.component
            ));
        }
        self.corrections.ignore.push(i);
        Ok(())
    }

    /// The curated CPE aliases of a component (canonical name).
    pub fn cpe_aliases<'a>(&'a self, component: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.corrections
            .cpe_aliases
            .iter()
            .filter(move |a| a.component == component)
            .map(|a| a.cpe.as_str())
    }

    /// The curated reason a feed record does not apply to a component, when there is one.
    pub fn ignored(&self, component: &str, id: &str) -> Option<&str> {
        self.corrections
            .ignore
            .iter()
            .find(|i| i.component == component && i.id == id)
            .map(|i| i.reason.as_str())
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.get(&name.trim().to_ascii_lowercase()).copied()
    }

    /// The component known by `name` (canonical name or alias, any case).
    pub fn component(&self, name: &str) -> Option<&ComponentInfo> {
        self.index(name).map(|i| &self.components[i])
    }

    /// The component with CPE `vendor:product`.
    pub fn component_by_cpe(&self, vendor_product: &str) -> Option<&ComponentInfo> {
        self.cpes.get(vendor_product).map(|&i| &self.components[i])
    }

    /// The table entry for a component an evidence source reported: by name, then by the CPE
    /// vendor:product, then by the purl's name.
    pub fn identify(&self, c: &iotassure_core::finding::Component) -> Option<&ComponentInfo> {
        self.component(&c.name)
            .or_else(|| {
                let cpe = c.cpe.as_deref()?;
                let f: Vec<&str> = cpe.split(':').collect();
                (f.len() > 4 && f[0] == "cpe" && f[1] == "2.3")
                    .then(|| self.component_by_cpe(&format!("{}:{}", f[3], f[4])))
                    .flatten()
            })
            .or_else(|| {
                let p = c.purl.as_deref()?;
                let name = p.split('@').next()?.rsplit('/').next()?;
                self.component(name)
            })
    }

    /// Every component in the table.
    pub fn components(&self) -> &[ComponentInfo] {
        &self.components
    }

    /// Every advisory, built-in and loaded.
    pub fn advisories(&self) -> impl Iterator<Item = &Advisory> {
        self.entries.iter().map(|e| &e.advisory)
    }

    /// Every end-of-life rule.
    pub fn eol_rules(&self) -> impl Iterator<Item = &EolRule> {
        self.eol.values().map(|p| &p.rule)
    }

    /// The provision mapping table.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// What each loaded feed contributed and skipped.
    pub fn feeds(&self) -> &[FeedReport] {
        &self.feeds
    }

    /// What is known about `name` at `version`, as of today (UTC). `None` when the component
    /// is not in the table.
    pub fn lookup(&self, name: &str, version: &str) -> Option<Match<'_>> {
        self.lookup_on(name, version, today())
    }

    /// [`Db::lookup`] as of `today` (end-of-life dates are compared with it).
    pub fn lookup_on(&self, name: &str, version: &str, today: time::Date) -> Option<Match<'_>> {
        let ci = self.index(name)?;
        Some(self.lookup_index(ci, version, today))
    }

    /// True when the table has advisories or an end-of-life rule for the component.
    pub fn knows_anything(&self, c: &ComponentInfo) -> bool {
        self.index(&c.name)
            .is_some_and(|i| self.eol.contains_key(&i) || self.by_component.contains_key(&i))
    }

    pub(crate) fn lookup_index(&self, ci: usize, version: &str, today: time::Date) -> Match<'_> {
        let component = &self.components[ci];
        let parsed = Version::parse(version, component.scheme);
        let mut m = Match {
            component,
            version: parsed.clone(),
            eol: None,
            age: None,
            advisories: Vec::new(),
        };
        let rule = self.eol.get(&ci);
        // An unmaintained project is end of life whatever the version says.
        if let Some(u) = rule.and_then(|r| r.rule.unmaintained.as_ref()) {
            m.eol = Some(Eol {
                branch: "all versions".into(),
                since: Some(u.since.as_str().to_string()),
                summary: format!(
                    "{}: unmaintained, last release {} ({}){}",
                    component.title,
                    u.last,
                    u.since.as_str(),
                    u.successor
                        .as_ref()
                        .map(|s| format!("; successor: {s}"))
                        .unwrap_or_default()
                ),
                successor: u.successor.clone(),
                sources: rule.map(|r| r.rule.sources.clone()).unwrap_or_default(),
            });
        }
        let Ok(v) = parsed else {
            return m;
        };
        if let Some(r) = rule {
            if m.eol.is_none() {
                m.eol = eol_of(component, r, &v, today);
            }
            m.age = age_of(component, r, &v);
        }
        for &k in self.by_component.get(&ci).into_iter().flatten() {
            let e = &self.entries[k];
            if let Some((ri, _)) = e.ranges.iter().enumerate().find(|(_, r)| r.contains(&v)) {
                let raw = &e.advisory.affected[ri];
                m.advisories.push(Hit {
                    advisory: &e.advisory,
                    fixed: raw.fixed.as_deref(),
                    last_affected: raw.last_affected.as_deref(),
                    condition: None,
                });
            } else if let Some((ri, start)) = e
                .ranges
                .iter()
                .enumerate()
                .find_map(|(ri, r)| r.pre_release_of_start(&v).map(|s| (ri, s)))
            {
                let raw = &e.advisory.affected[ri];
                m.advisories.push(Hit {
                    advisory: &e.advisory,
                    fixed: raw.fixed.as_deref(),
                    last_affected: raw.last_affected.as_deref(),
                    condition: Some(pre_release_condition(&v, start)),
                });
            }
        }
        m
    }
}

/// Shared with the feed matcher, so both layers say it alike.
pub fn pre_release_condition(v: &Version, start: &Version) -> String {
    format!(
        "{v} is a pre-release of {start}, the first affected release: the version does not show whether it already carries the flawed code"
    )
}

fn eol_of(c: &ComponentInfo, r: &ParsedEol, v: &Version, today: time::Date) -> Option<Eol> {
    // The most specific listed branch decides (`3.18` over `3`).
    let listed = r
        .branches
        .iter()
        .zip(&r.rule.branches)
        .filter(|(b, _)| v.on_branch(b))
        .max_by_key(|(_, rule)| rule.branch.len());
    if let Some((_, b)) = listed {
        let day = b.eol.as_ref()?;
        if !day.passed(today) {
            return None;
        }
        let mut summary = format!(
            "{} {} branch: no security fixes since {}",
            c.title,
            b.branch,
            day.as_str()
        );
        if let Some(l) = &b.last {
            summary.push_str(&format!(" (last release {l})"));
        }
        if let Some(n) = &b.note {
            summary.push_str(&format!("; {n}"));
        }
        return Some(Eol {
            branch: b.branch.clone(),
            since: Some(day.as_str().to_string()),
            summary,
            successor: None,
            sources: r.rule.sources.clone(),
        });
    }
    let (older, rule) = (r.older_than.as_ref()?, r.rule.older_than.as_ref()?);
    if older.cmp_version(v) != std::cmp::Ordering::Greater {
        return None;
    }
    let series = v
        .numeric_prefix(2)
        .map(|p| format!("{}.{}", p[0], p[1]))
        .unwrap_or_else(|| v.upstream().to_string());
    Some(Eol {
        branch: series.clone(),
        since: None,
        summary: format!("{} {series}: {}", c.title, rule.note),
        successor: None,
        sources: r.rule.sources.clone(),
    })
}

fn age_of(c: &ComponentInfo, r: &ParsedEol, v: &Version) -> Option<String> {
    if r.rule.year_is_version {
        let y = v.numeric_prefix(1)?[0];
        return (1990..2100)
            .contains(&y)
            .then(|| format!("{} release of {y}", c.title));
    }
    let (_, b) = r
        .branches
        .iter()
        .zip(&r.rule.branches)
        .filter(|(b, _)| v.on_branch(b))
        .max_by_key(|(_, rule)| rule.branch.len())?;
    b.released
        .map(|y| format!("{} {} series released {y}", c.title, b.branch))
}

pub(crate) fn validate_advisory(a: &Advisory) -> Result<(), String> {
    if a.id.trim().is_empty() || a.id.contains(char::is_whitespace) {
        return Err("the id must be one word".into());
    }
    if a.affected.is_empty() {
        return Err("no affected range".into());
    }
    if !is_url(&a.source) {
        return Err(format!("source `{}` is not an http(s) URL", a.source));
    }
    if a.summary.trim().is_empty() || a.summary.contains('\n') {
        return Err("the summary must be one line".into());
    }
    match a.cvss {
        Some(s) if !(0.0..=10.0).contains(&s) => return Err(format!("CVSS {s} out of range")),
        None if a.severity.is_none() => return Err("give `cvss` or `severity`".into()),
        _ => {}
    }
    if let Some(r) = &a.roles {
        let set: HashSet<&Role> = r.iter().collect();
        if set.len() != r.len() {
            return Err("a role is listed twice".into());
        }
    }
    Ok(())
}

pub(crate) fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && !s.contains(char::is_whitespace)
}

/// Today's date (UTC).
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
