//! The catalogue: EN 303 645 provisions, the Annex B conditions, the schemes that map onto them
//! (UK CoP, PSTI, TEC, OWASP IoT Top 10, BSI, EN 18031, CRA) and the assessment profiles.
//!
//! The data lives in `crates/core/data/*.yaml`, is compiled into the binary, and is validated by
//! [`Catalog::validate`] (run by the tests, so a bad edit fails CI rather than a user's run).

pub mod oscal;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::facts::FactKey;

pub use oscal::oscal_catalog;

/// Mandatory (shall) or recommended (should).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum Status {
    M,
    R,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::M => "M",
            Status::R => "R",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub id: u8,
    pub text: String,
    /// The profile fact that decides it.
    pub fact: FactKey,
    /// The condition holds when the fact is false.
    #[serde(default)]
    pub negated: bool,
}

impl Condition {
    /// Whether the condition holds, given the fact's value.
    pub fn holds(&self, fact_value: bool) -> bool {
        fact_value != self.negated
    }
}

/// Which evidence sources can bear on a provision.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Firmware,
    Device,
    Documents,
    Statement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub id: String,
    pub clause: String,
    pub status: Status,
    /// Annex B condition numbers; all must hold for the provision to apply.
    #[serde(default)]
    pub conditions: Vec<u8>,
    pub title: String,
    /// One line in iotassure's words.
    pub summary: String,
    /// What the provision requires, as the standard states it (short).
    pub requirement: String,
    pub evidence: Vec<EvidenceKind>,
}

impl Provision {
    /// Status as written in table B.1: `M`, `R`, `M C(1)`, `R C(3,4)`.
    pub fn status_label(&self) -> String {
        if self.conditions.is_empty() {
            self.status.as_str().to_string()
        } else {
            let c: Vec<String> = self.conditions.iter().map(|c| c.to_string()).collect();
            format!("{} C({})", self.status.as_str(), c.join(","))
        }
    }

    pub fn is_conditional(&self) -> bool {
        !self.conditions.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeItem {
    pub id: String,
    pub title: String,
    /// One line in iotassure's words.
    #[serde(default)]
    pub text: String,
    /// Every provision of these EN clauses is mapped.
    #[serde(default)]
    pub clauses: Vec<String>,
    /// Individual EN provisions mapped (in addition to `clauses`).
    #[serde(default)]
    pub provisions: Vec<String>,
    /// Items of other schemes this item maps to, as `scheme:item` (e.g. `uk-cop:3`); their
    /// provisions are inherited.
    #[serde(default)]
    pub maps_to: Vec<String>,
    /// Set for a requirement of the scheme's own that EN 303 645 does not state (TEC's additional
    /// requirements): it gets a verdict of its own, like a provision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<Status>,
    /// For an own requirement, the scheme item (guideline) it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    pub id: String,
    pub title: String,
    /// Short label used in crosswalk columns ("UK CoP", "OWASP").
    pub label: String,
    /// Where the scheme comes from (document, version).
    pub source: String,
    pub items: Vec<SchemeItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PassRule {
    /// Every applicable selected provision is PASS.
    AllPass,
    /// As `all_pass`, but a recommendation not met counts as met when the conformance statement
    /// justifies it (provision 4-1).
    AllPassOrJustified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    #[serde(default)]
    pub status: Vec<Status>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Select EN provisions by status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Selection>,
    /// Or name them.
    #[serde(default)]
    pub provisions: Vec<String>,
    /// Or show a scheme, one line per item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    pub rule: PassRule,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Catalog {
    pub standard: String,
    pub clauses: Vec<Clause>,
    pub conditions: Vec<Condition>,
    pub provisions: Vec<Provision>,
    pub schemes: Vec<Scheme>,
    pub profiles: Vec<Profile>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalogue file {file}: {source}")]
    Parse {
        file: &'static str,
        source: serde_yaml_ng::Error,
    },
    #[error("catalogue is invalid:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

const DATA: &[(&str, &str)] = &[
    ("clauses.yaml", include_str!("../../data/clauses.yaml")),
    (
        "conditions.yaml",
        include_str!("../../data/conditions.yaml"),
    ),
    (
        "provisions.yaml",
        include_str!("../../data/provisions.yaml"),
    ),
    ("profiles.yaml", include_str!("../../data/profiles.yaml")),
];

const SCHEMES: &[(&str, &str)] = &[
    (
        "schemes/uk-cop.yaml",
        include_str!("../../data/schemes/uk-cop.yaml"),
    ),
    (
        "schemes/uk-psti.yaml",
        include_str!("../../data/schemes/uk-psti.yaml"),
    ),
    (
        "schemes/tec.yaml",
        include_str!("../../data/schemes/tec.yaml"),
    ),
    (
        "schemes/owasp-iot-2018.yaml",
        include_str!("../../data/schemes/owasp-iot-2018.yaml"),
    ),
    (
        "schemes/bsi-checklist.yaml",
        include_str!("../../data/schemes/bsi-checklist.yaml"),
    ),
    (
        "schemes/en18031.yaml",
        include_str!("../../data/schemes/en18031.yaml"),
    ),
    (
        "schemes/cra-annex-i.yaml",
        include_str!("../../data/schemes/cra-annex-i.yaml"),
    ),
];

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| {
    let c = Catalog::load().unwrap_or_else(|e| panic!("built-in catalogue: {e}"));
    let problems = c.validate();
    assert!(
        problems.is_empty(),
        "built-in catalogue is invalid: {problems:#?}"
    );
    c
});

/// The built-in catalogue (parsed once, validated; the tests keep it valid).
pub fn catalog() -> &'static Catalog {
    &CATALOG
}

fn parse<T: serde::de::DeserializeOwned>(file: &'static str) -> Result<T, CatalogError> {
    let text = DATA
        .iter()
        .chain(SCHEMES)
        .find(|(f, _)| *f == file)
        .map(|(_, t)| *t)
        .expect("known file");
    serde_yaml_ng::from_str(text).map_err(|source| CatalogError::Parse { file, source })
}

/// A requirement that gets a verdict: an EN provision or a scheme's own requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub status: Status,
    pub conditions: &'a [u8],
    /// `en303645`, or the scheme id for own requirements.
    pub scheme: &'a str,
}

impl Catalog {
    pub fn load() -> Result<Catalog, CatalogError> {
        let mut schemes = Vec::new();
        for (file, _) in SCHEMES {
            schemes.push(parse::<Scheme>(file)?);
        }
        Ok(Catalog {
            standard: "ETSI EN 303 645 V2.1.1 (2020-06)".into(),
            clauses: parse("clauses.yaml")?,
            conditions: parse("conditions.yaml")?,
            provisions: parse("provisions.yaml")?,
            profiles: parse("profiles.yaml")?,
            schemes,
        })
    }

    pub fn provision(&self, id: &str) -> Option<&Provision> {
        self.provisions.iter().find(|p| p.id == id)
    }

    pub fn condition(&self, id: u8) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.id == id)
    }

    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.id == id)
    }

    pub fn scheme(&self, id: &str) -> Option<&Scheme> {
        self.schemes.iter().find(|s| s.id == id)
    }

    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Every requirement that gets a verdict: the 68 EN provisions, then the schemes' own.
    pub fn requirements(&self) -> Vec<Requirement<'_>> {
        let mut v: Vec<Requirement> = self
            .provisions
            .iter()
            .map(|p| Requirement {
                id: &p.id,
                title: &p.title,
                status: p.status,
                conditions: &p.conditions,
                scheme: "en303645",
            })
            .collect();
        for s in &self.schemes {
            for i in &s.items {
                if let Some(status) = i.requirement {
                    v.push(Requirement {
                        id: &i.id,
                        title: &i.title,
                        status,
                        conditions: &[],
                        scheme: &s.id,
                    });
                }
            }
        }
        v
    }

    pub fn is_requirement(&self, id: &str) -> bool {
        self.provision(id).is_some()
            || self.schemes.iter().any(|s| {
                s.items
                    .iter()
                    .any(|i| i.id == id && i.requirement.is_some())
            })
    }

    /// The EN provisions an item maps to (its own list, its clauses, and inherited through `maps_to`).
    pub fn item_provisions(&self, item: &SchemeItem) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.collect_item_provisions(item, &mut seen, 0);
        let mut v: Vec<String> = seen.into_iter().collect();
        v.sort_by_key(|p| provision_sort_key(p));
        v
    }

    fn collect_item_provisions(&self, item: &SchemeItem, out: &mut BTreeSet<String>, depth: u8) {
        if depth > 4 {
            return;
        }
        out.extend(item.provisions.iter().cloned());
        for c in &item.clauses {
            out.extend(
                self.provisions
                    .iter()
                    .filter(|p| &p.clause == c)
                    .map(|p| p.id.clone()),
            );
        }
        for m in &item.maps_to {
            if let Some(target) = self.scheme_item(m) {
                self.collect_item_provisions(target, out, depth + 1);
            }
        }
    }

    /// Looks up `scheme:item`.
    pub fn scheme_item(&self, qualified: &str) -> Option<&SchemeItem> {
        let (s, i) = qualified.split_once(':')?;
        self.scheme(s)?.items.iter().find(|x| x.id == i)
    }

    /// For one provision: scheme id → the item ids that map to it.
    pub fn crosswalk(&self, provision: &str) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &self.schemes {
            for i in &s.items {
                if i.requirement.is_none() && self.item_provisions(i).iter().any(|p| p == provision)
                {
                    out.entry(s.id.clone()).or_default().push(i.id.clone());
                }
            }
        }
        out
    }

    /// The requirement ids a profile selects (for view profiles: every provision the scheme maps,
    /// plus its own requirements).
    pub fn profile_requirements(&self, profile: &Profile) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        if let Some(sel) = &profile.select {
            ids.extend(
                self.provisions
                    .iter()
                    .filter(|p| sel.status.contains(&p.status))
                    .map(|p| p.id.clone()),
            );
        }
        ids.extend(profile.provisions.iter().cloned());
        if let Some(view) = profile.view.as_deref().and_then(|v| self.scheme(v)) {
            for item in &view.items {
                if item.requirement.is_some() {
                    ids.push(item.id.clone());
                } else {
                    ids.extend(self.item_provisions(item));
                }
            }
        }
        let mut seen = BTreeSet::new();
        ids.retain(|i| seen.insert(i.clone()));
        ids
    }

    /// Every problem with the data, empty when it is valid.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        let mut ids = BTreeSet::new();
        for p in &self.provisions {
            if !ids.insert(p.id.as_str()) {
                errs.push(format!("provision {} is listed twice", p.id));
            }
            if self.clause(&p.clause).is_none() {
                errs.push(format!("provision {}: unknown clause {}", p.id, p.clause));
            }
            if !p.id.starts_with(&format!("{}-", p.clause)) {
                errs.push(format!(
                    "provision {}: id does not belong to clause {}",
                    p.id, p.clause
                ));
            }
            for c in &p.conditions {
                if self.condition(*c).is_none() {
                    errs.push(format!("provision {}: unknown condition {c}", p.id));
                }
            }
            for (field, v) in [
                ("title", &p.title),
                ("summary", &p.summary),
                ("requirement", &p.requirement),
            ] {
                if v.trim().is_empty() {
                    errs.push(format!("provision {}: empty {field}", p.id));
                }
            }
            if p.evidence.is_empty() {
                errs.push(format!("provision {}: no evidence kinds", p.id));
            }
        }
        let mut cond_ids = BTreeSet::new();
        for c in &self.conditions {
            if !cond_ids.insert(c.id) {
                errs.push(format!("condition {} is listed twice", c.id));
            }
        }
        let mut scheme_ids = BTreeSet::new();
        for s in &self.schemes {
            if !scheme_ids.insert(s.id.as_str()) {
                errs.push(format!("scheme {} is listed twice", s.id));
            }
            let mut item_ids = BTreeSet::new();
            for i in &s.items {
                if !item_ids.insert(i.id.as_str()) {
                    errs.push(format!("scheme {}: item {} is listed twice", s.id, i.id));
                }
                for c in &i.clauses {
                    if self.clause(c).is_none() {
                        errs.push(format!("scheme {} item {}: unknown clause {c}", s.id, i.id));
                    }
                }
                for p in &i.provisions {
                    if self.provision(p).is_none() {
                        errs.push(format!(
                            "scheme {} item {}: unknown provision {p}",
                            s.id, i.id
                        ));
                    }
                }
                for m in &i.maps_to {
                    if self.scheme_item(m).is_none() {
                        errs.push(format!(
                            "scheme {} item {}: unknown mapping target {m}",
                            s.id, i.id
                        ));
                    }
                }
                if let Some(parent) = &i.parent {
                    if !s.items.iter().any(|x| &x.id == parent) {
                        errs.push(format!(
                            "scheme {} item {}: unknown parent {parent}",
                            s.id, i.id
                        ));
                    }
                }
                if i.requirement.is_none() && self.item_provisions(i).is_empty() {
                    errs.push(format!(
                        "scheme {} item {}: maps to no provision",
                        s.id, i.id
                    ));
                }
                if i.requirement.is_some() && self.provision(&i.id).is_some() {
                    errs.push(format!(
                        "scheme {} requirement {} clashes with a provision id",
                        s.id, i.id
                    ));
                }
            }
        }
        for p in &self.profiles {
            if p.select.is_none() && p.provisions.is_empty() && p.view.is_none() {
                errs.push(format!("profile {} selects nothing", p.id));
            }
            for id in &p.provisions {
                if !self.is_requirement(id) {
                    errs.push(format!("profile {}: unknown provision {id}", p.id));
                }
            }
            if let Some(v) = &p.view {
                if self.scheme(v).is_none() {
                    errs.push(format!("profile {}: unknown scheme {v}", p.id));
                }
            }
        }
        errs
    }
}

/// Sorts provision ids in document order (5.2-1 before 5.10-1; clause 4 first, clause 6 last).
pub fn provision_sort_key(id: &str) -> Vec<u32> {
    let (clause, n) = id.split_once('-').unwrap_or((id, "0"));
    let mut k: Vec<u32> = clause
        .split('.')
        .map(|x| x.parse().unwrap_or(u32::MAX))
        .collect();
    k.resize(2, 0);
    k.push(n.parse().unwrap_or(u32::MAX));
    k
}
