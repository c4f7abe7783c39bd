//! Roll-ups: per profile, counts and the profile's outcome; for scheme views, one line per item.

use iotassure_core::catalog::{Catalog, PassRule, Profile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Counts, RequirementVerdict, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProfileOutcome {
    /// Every applicable requirement passes (or, under `all_pass_or_justified`, is justified).
    Pass,
    /// At least one requirement fails.
    Fail,
    /// Nothing fails, but some requirements are inconclusive.
    Incomplete,
}

impl ProfileOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileOutcome::Pass => "PASS",
            ProfileOutcome::Fail => "FAIL",
            ProfileOutcome::Incomplete => "INCOMPLETE",
        }
    }
}

/// One line of a scheme view (a UK CoP guideline, an OWASP risk, a TEC requirement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ViewLine {
    pub item: String,
    pub title: String,
    pub verdict: Verdict,
    pub requirements: Vec<String>,
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileResult {
    pub id: String,
    pub title: String,
    pub outcome: ProfileOutcome,
    pub counts: Counts,
    /// Recommendations not met but justified (counted as met under `all_pass_or_justified`).
    pub justified: usize,
    pub requirements: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ViewLine>,
}

fn effective(v: &RequirementVerdict, rule: PassRule) -> Verdict {
    if v.verdict == Verdict::Fail && v.justified && rule == PassRule::AllPassOrJustified {
        Verdict::Pass
    } else {
        v.verdict
    }
}

fn aggregate(vs: &[&RequirementVerdict], rule: PassRule) -> (Verdict, Counts) {
    let mut counts = Counts::default();
    for v in vs {
        counts.add(v);
    }
    let eff: Vec<Verdict> = vs.iter().map(|v| effective(v, rule)).collect();
    let verdict = if eff.contains(&Verdict::Fail) {
        Verdict::Fail
    } else if eff.contains(&Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else if !eff.is_empty() && eff.iter().all(|v| *v == Verdict::NotApplicable) {
        Verdict::NotApplicable
    } else {
        Verdict::Pass
    };
    (verdict, counts)
}

pub fn roll_up(cat: &Catalog, profile: &Profile, verdicts: &[RequirementVerdict]) -> ProfileResult {
    let ids = cat.profile_requirements(profile);
    let find = |id: &str| verdicts.iter().find(|v| v.id == id);
    let selected: Vec<&RequirementVerdict> = ids.iter().filter_map(|id| find(id)).collect();
    let (agg, counts) = aggregate(&selected, profile.rule);
    let justified = selected
        .iter()
        .filter(|v| v.verdict == Verdict::Fail && v.justified)
        .count();
    let mut lines = Vec::new();
    if let Some(scheme) = profile.view.as_deref().and_then(|s| cat.scheme(s)) {
        for item in &scheme.items {
            let reqs: Vec<String> = if item.requirement.is_some() {
                vec![item.id.clone()]
            } else {
                cat.item_provisions(item)
            };
            let vs: Vec<&RequirementVerdict> = reqs.iter().filter_map(|id| find(id)).collect();
            let (verdict, counts) = aggregate(&vs, profile.rule);
            lines.push(ViewLine {
                item: item.id.clone(),
                title: item.title.clone(),
                verdict,
                requirements: reqs,
                counts,
            });
        }
    }
    let outcome = match agg {
        Verdict::Fail => ProfileOutcome::Fail,
        Verdict::Inconclusive => ProfileOutcome::Incomplete,
        Verdict::Pass | Verdict::NotApplicable => ProfileOutcome::Pass,
    };
    ProfileResult {
        id: profile.id.clone(),
        title: profile.title.clone(),
        outcome,
        counts,
        justified,
        requirements: ids,
        lines,
    }
}

pub fn roll_up_all(cat: &Catalog, verdicts: &[RequirementVerdict]) -> Vec<ProfileResult> {
    cat.profiles
        .iter()
        .map(|p| roll_up(cat, p, verdicts))
        .collect()
}
