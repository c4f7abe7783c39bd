//! The knowledge the database holds: component identities, end-of-life rules, advisories and the
//! table that maps advisories onto provisions. Built-in entries come from `data/*.yaml`; OSV
//! feeds add advisories (and, for packages the table does not know, components) at run time.

use iotassure_core::finding::Severity;
use serde::{Deserialize, Serialize};

use crate::version::{Branch, Scheme, Version, VersionError};

/// What a component does in the device, which decides the provisions beyond 5.2-3/5.3-8 that a
/// known vulnerability in it bears on (see `data/provisions.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Authenticates users against the device (SSH servers, login, MQTT password checks).
    Authentication,
    /// Cryptography or secure transport for communication (TLS libraries, SSH, Wi-Fi WPA).
    Communication,
    /// Part of the update mechanism (package manager, the web UI that takes firmware uploads).
    Update,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Authentication => "authentication",
            Role::Communication => "communication",
            Role::Update => "update",
        }
    }
}

/// One software component the database knows by name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentInfo {
    /// Canonical name, lower case, as inspect's classifiers and the reports use it.
    pub name: String,
    /// Display name (`OpenSSL`).
    pub title: String,
    /// Other names it goes by: package names (`libssl1.1`), binary names (`dropbearmulti`),
    /// banner product names (`OpenSSH`). Matched case-insensitively.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Package URL without version (`pkg:generic/openssl`).
    pub purl: String,
    /// CPE 2.3 `vendor:product` (`openssl:openssl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// CPE part: `a` (application, the default), `o` (operating system), `h` (hardware).
    #[serde(default = "default_part")]
    pub cpe_part: char,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub scheme: Scheme,
    /// Added at run time for an OSV package the table did not know.
    #[serde(skip)]
    pub from_feed: bool,
}

fn default_part() -> char {
    'a'
}

impl ComponentInfo {
    /// `pkg:generic/openssl@1.0.2n` (version percent-encoded as the purl spec asks).
    pub fn purl(&self, version: &str) -> String {
        format!("{}@{}", self.purl, purl_escape(version))
    }

    /// `cpe:2.3:a:openssl:openssl:1.0.2n:*:*:*:*:*:*:*`, when the component has a CPE.
    pub fn cpe(&self, version: &str) -> Option<String> {
        self.cpe
            .as_ref()
            .map(|vp| cpe23(self.cpe_part, vp, version))
    }
}

/// Percent-encodes what the purl spec does not allow bare in a version or name.
pub fn purl_escape(s: &str) -> String {
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

/// A CPE 2.3 formatted string, the version escaped as the specification asks.
pub fn cpe23(part: char, vendor_product: &str, version: &str) -> String {
    let v: String = version
        .chars()
        .map(|c| match c {
            ':' | '*' | '?' | '\\' | '!' | '"' | '#' | '$' | '&' | '\'' | '(' | ')' | '+' | ','
            | '/' | ';' | '<' | '=' | '>' | '@' | '[' | ']' | '^' | '`' | '{' | '|' | '}' | '~' => {
                format!("\\{c}")
            }
            c => c.to_string(),
        })
        .collect();
    format!("cpe:2.3:{part}:{vendor_product}:{v}:*:*:*:*:*:*:*")
}

/// A date as the sources give it: `2019-12-31`, or a month (`2011-12`) where only that is known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day {
    text: String,
    /// The last day the text can mean (a month means its last day).
    last: time::Date,
}

impl Day {
    pub fn parse(s: &str) -> Result<Day, String> {
        let bad = || format!("`{s}` is not a date (YYYY-MM-DD or YYYY-MM)");
        let parts: Vec<&str> = s.split('-').collect();
        let num = |p: &str| p.parse::<i32>().map_err(|_| bad());
        let (y, m, d) = match parts.as_slice() {
            [y, m, d] => (num(y)?, num(m)?, Some(num(d)?)),
            [y, m] => (num(y)?, num(m)?, None),
            _ => return Err(bad()),
        };
        let month =
            time::Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?;
        let day = match d {
            Some(d) => u8::try_from(d).map_err(|_| bad())?,
            None => time::util::days_in_month(month, y),
        };
        let last = time::Date::from_calendar_date(y, month, day).map_err(|_| bad())?;
        Ok(Day {
            text: s.to_string(),
            last,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True once the whole of the day (or month) has passed by `today`.
    pub fn passed(&self, today: time::Date) -> bool {
        self.last < today
    }
}

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Day::parse(&s)
    }
}

impl From<Day> for String {
    fn from(d: Day) -> String {
        d.text
    }
}

/// One release series and its support dates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchRule {
    /// `1.0.2`, `3.18`, `2` (every version whose leading parts are these).
    pub branch: String,
    /// The last day of security support (past: end of life; future: projected).
    #[serde(default)]
    pub eol: Option<Day>,
    /// The last release of the branch, when the source names it.
    #[serde(default)]
    pub last: Option<String>,
    /// Year the branch was first released (for the age note, where no EOL policy exists).
    #[serde(default)]
    pub released: Option<i32>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Branches older than `branch` that the table does not list are end of life.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OlderThan {
    pub branch: String,
    pub note: String,
}

/// The whole project is unmaintained: every version is end of life.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmaintained {
    /// Date of the last release (or of the announcement).
    pub since: Day,
    pub last: String,
    #[serde(default)]
    pub successor: Option<String>,
    pub note: String,
}

/// End-of-life knowledge for one component.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EolRule {
    pub component: String,
    /// Where the dates come from.
    pub sources: Vec<String>,
    #[serde(default)]
    pub branches: Vec<BranchRule>,
    #[serde(default)]
    pub older_than: Option<OlderThan>,
    #[serde(default)]
    pub unmaintained: Option<Unmaintained>,
    /// The version's first part is its release year (dropbear `2014.65`).
    #[serde(default)]
    pub year_is_version: bool,
}

/// One affected range, OSV-style: from `introduced` (inclusive; absent = every earlier
/// version) up to `fixed` (exclusive) or `last_affected` (inclusive); neither = not fixed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
}

/// A range with its bounds parsed under the component's scheme.
#[derive(Debug, Clone)]
pub struct ParsedRange {
    pub introduced: Option<Version>,
    pub fixed: Option<Version>,
    pub last_affected: Option<Version>,
}

impl Range {
    pub fn parse(&self, scheme: Scheme) -> Result<ParsedRange, VersionError> {
        let p = |s: &Option<String>| -> Result<Option<Version>, VersionError> {
            match s.as_deref() {
                None | Some("0") => Ok(None),
                Some(v) => Version::parse(v, scheme).map(Some),
            }
        };
        Ok(ParsedRange {
            introduced: p(&self.introduced)?,
            fixed: p(&self.fixed)?,
            last_affected: p(&self.last_affected)?,
        })
    }
}

impl ParsedRange {
    /// The range's first affected release when `v` is a pre-release of it: `v` precedes the
    /// range, but a beta of the release that brought a flaw often already has the flawed code,
    /// so the version alone cannot decide.
    pub fn pre_release_of_start(&self, v: &Version) -> Option<&Version> {
        self.introduced.as_ref().filter(|i| v.is_pre_release_of(i))
    }

    pub fn contains(&self, v: &Version) -> bool {
        if self.introduced.as_ref().is_some_and(|i| v < i) {
            return false;
        }
        match (&self.fixed, &self.last_affected) {
            (Some(f), _) => v < f,
            (None, Some(l)) => v <= l,
            (None, None) => true,
        }
    }
}

/// Where an advisory came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// Compiled in from `data/advisories/<file>`.
    Builtin { file: String },
    /// An OSV record loaded at run time.
    Osv { file: String },
    /// A record of the advisory database (`advisories update`), matched as `via` says.
    Feed { source: String, via: String },
}

/// A published vulnerability in one component.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    /// CVE id, or the vendor's id when there is no CVE.
    pub id: String,
    /// A common name (`Heartbleed`, `Dirty COW`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Canonical component name (filled from the file for built-in entries).
    #[serde(default)]
    pub component: String,
    pub affected: Vec<Range>,
    /// CVSS v3 base score, where one is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f32>,
    /// Severity when no CVSS v3 score exists (old CVEs scored only with v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// One line, in our own words.
    pub summary: String,
    /// The advisory or NVD page this entry was checked against.
    pub source: String,
    /// Narrows the role provisions this advisory bears on (default: all the component's roles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_deserializing, default = "no_origin")]
    pub origin: Origin,
    /// A build option the match depends on and the evidence cannot decide: the verdict is
    /// INCONCLUSIVE with this reason.
    #[serde(skip)]
    pub condition: Option<String>,
    /// Matched on a CPE alone for a component identified only from a binary.
    #[serde(skip)]
    pub low_confidence: bool,
}

fn no_origin() -> Origin {
    Origin::Builtin {
        file: String::new(),
    }
}

/// FIRST's qualitative band of a CVSS base score.
pub fn severity_of_score(s: f32) -> Severity {
    match s {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Info,
    }
}

impl Advisory {
    /// The severity a finding takes: from the CVSS base score (v3, else v4; FIRST's bands), else the
    /// stated severity, else medium.
    pub fn severity(&self) -> Severity {
        match self.cvss {
            Some(s) => severity_of_score(s),
            None => self.severity.unwrap_or(Severity::Medium),
        }
    }

    /// `CVE-2014-0160 (Heartbleed)`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} ({n})", self.id),
            None => self.id.clone(),
        }
    }

    /// Whether this advisory bears on the provisions of `role` for a component having `roles`.
    pub fn bears_on(&self, role: Role, component_roles: &[Role]) -> bool {
        component_roles.contains(&role) && self.roles.as_ref().is_none_or(|r| r.contains(&role))
    }
}

/// One row of the provision mapping table (`data/provisions.yaml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRule {
    /// Stable check id (`5.3-8-advisories`).
    pub check: String,
    pub provisions: Vec<String>,
    /// Only advisories of components with this role (absent: every component).
    #[serde(default)]
    pub role: Option<Role>,
    /// Why the row exists (shown in docs).
    pub why: String,
}

/// The provision mapping table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub advisories: Vec<CheckRule>,
    pub eol: CheckRule,
}

/// Parses a branch name from the table (helper for validation and lookups).
pub fn branch(s: &str) -> Result<Branch, VersionError> {
    Branch::parse(s)
}
