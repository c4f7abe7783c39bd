//! Device-profile facts: the IXIT-like answers that decide the 13 Annex B conditions.
//!
//! Each fact is either *declared* by the maker (in the conformance statement) or *inferred* from
//! evidence (a shadow file means passwords are used). A declared fact wins; where the evidence
//! says otherwise, the resolved fact carries a note so the contradiction is visible in the report.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::finding::Evidence;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FactKey {
    /// The device is constrained (EN 303 645 clause 3.1): limited power or processing.
    Constrained,
    PasswordsUsed,
    PreinstalledPasswords,
    /// Its software components can be updated at all (condition 3 is the negation).
    SoftwareUpdateable,
    TelemetryCollected,
    ConsentBasedProcessing,
    UserAuthentication,
    AutomaticUpdatesOrNotifications,
    UniqueHardcodedIdentity,
    UpdatesOverNetwork,
    UpdateMechanism,
    DebugInterfaceAccessible,
}

impl FactKey {
    pub const ALL: [FactKey; 12] = [
        FactKey::Constrained,
        FactKey::PasswordsUsed,
        FactKey::PreinstalledPasswords,
        FactKey::SoftwareUpdateable,
        FactKey::TelemetryCollected,
        FactKey::ConsentBasedProcessing,
        FactKey::UserAuthentication,
        FactKey::AutomaticUpdatesOrNotifications,
        FactKey::UniqueHardcodedIdentity,
        FactKey::UpdatesOverNetwork,
        FactKey::UpdateMechanism,
        FactKey::DebugInterfaceAccessible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FactKey::Constrained => "constrained",
            FactKey::PasswordsUsed => "passwords_used",
            FactKey::PreinstalledPasswords => "preinstalled_passwords",
            FactKey::SoftwareUpdateable => "software_updateable",
            FactKey::TelemetryCollected => "telemetry_collected",
            FactKey::ConsentBasedProcessing => "consent_based_processing",
            FactKey::UserAuthentication => "user_authentication",
            FactKey::AutomaticUpdatesOrNotifications => "automatic_updates_or_notifications",
            FactKey::UniqueHardcodedIdentity => "unique_hardcoded_identity",
            FactKey::UpdatesOverNetwork => "updates_over_network",
            FactKey::UpdateMechanism => "update_mechanism",
            FactKey::DebugInterfaceAccessible => "debug_interface_accessible",
        }
    }

    pub fn parse(s: &str) -> Option<FactKey> {
        FactKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The question a maker answers in the conformance statement.
    pub fn question(self) -> &'static str {
        match self {
            FactKey::Constrained => "Is the device constrained (cannot run the usual security measures for lack of power or processing)?",
            FactKey::PasswordsUsed => "Are passwords used anywhere on the device (any interface, any state)?",
            FactKey::PreinstalledPasswords => "Does the device ship with pre-installed passwords?",
            FactKey::SoftwareUpdateable => "Can the device's software components be updated?",
            FactKey::TelemetryCollected => "Is telemetry (usage, measurement) data collected?",
            FactKey::ConsentBasedProcessing => "Is personal data processed on the basis of consent?",
            FactKey::UserAuthentication => "Can a user authenticate against the device?",
            FactKey::AutomaticUpdatesOrNotifications => "Are automatic updates and/or update notifications supported?",
            FactKey::UniqueHardcodedIdentity => "Is a hard-coded unique per-device identity used for security?",
            FactKey::UpdatesOverNetwork => "Are updates delivered over a network interface?",
            FactKey::UpdateMechanism => "Is an update mechanism implemented?",
            FactKey::DebugInterfaceAccessible => "Is a debug interface (UART, JTAG, SWD) physically accessible?",
        }
    }
}

impl std::fmt::Display for FactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fact some evidence suggests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InferredFact {
    pub key: FactKey,
    pub value: bool,
    /// Why, in one line ("etc/shadow exists").
    pub reason: String,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactOrigin {
    Declared,
    Inferred,
}

/// A resolved fact as the verdict engine uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Fact {
    pub key: FactKey,
    pub value: bool,
    pub origin: FactOrigin,
    /// Why the fact holds: the inference reason, or "declared in FILE".
    pub reason: String,
    /// Set when the declared value contradicts what the evidence suggests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contradiction: Option<String>,
}

/// Resolves declared and inferred facts. Declared wins. When the evidence disagrees with itself,
/// `true` wins: a single shadow file is enough to say passwords are used.
pub fn resolve(
    declared: &BTreeMap<FactKey, bool>,
    declared_in: &str,
    inferred: &[InferredFact],
) -> BTreeMap<FactKey, Fact> {
    let mut out = BTreeMap::new();
    for key in FactKey::ALL {
        let inf: Vec<&InferredFact> = inferred.iter().filter(|f| f.key == key).collect();
        let inferred_value = if inf.iter().any(|f| f.value) {
            Some(true)
        } else if !inf.is_empty() {
            Some(false)
        } else {
            None
        };
        let inferred_reason = |v: bool| {
            inf.iter()
                .filter(|f| f.value == v)
                .map(|f| f.reason.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        };
        if let Some(&value) = declared.get(&key) {
            let contradiction = match inferred_value {
                Some(iv) if iv != value => Some(format!(
                    "declared {value}, but the evidence suggests {iv}: {}",
                    inferred_reason(iv)
                )),
                _ => None,
            };
            out.insert(
                key,
                Fact {
                    key,
                    value,
                    origin: FactOrigin::Declared,
                    reason: format!("declared in {declared_in}"),
                    contradiction,
                },
            );
        } else if let Some(value) = inferred_value {
            out.insert(
                key,
                Fact {
                    key,
                    value,
                    origin: FactOrigin::Inferred,
                    reason: inferred_reason(value),
                    contradiction: None,
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inf(key: FactKey, value: bool, reason: &str) -> InferredFact {
        InferredFact {
            key,
            value,
            reason: reason.into(),
            evidence: vec![],
        }
    }

    #[test]
    fn declared_overrides_inferred_with_a_note() {
        let mut declared = BTreeMap::new();
        declared.insert(FactKey::PasswordsUsed, false);
        let facts = resolve(
            &declared,
            "ics.yaml",
            &[inf(FactKey::PasswordsUsed, true, "etc/shadow exists")],
        );
        let f = &facts[&FactKey::PasswordsUsed];
        assert!(!f.value);
        assert_eq!(f.origin, FactOrigin::Declared);
        assert!(f
            .contradiction
            .as_deref()
            .unwrap()
            .contains("etc/shadow exists"));
    }

    #[test]
    fn inferred_true_wins_over_inferred_false() {
        let facts = resolve(
            &BTreeMap::new(),
            "-",
            &[
                inf(FactKey::UpdateMechanism, false, "no sysupgrade"),
                inf(FactKey::UpdateMechanism, true, "opkg present"),
            ],
        );
        assert!(facts[&FactKey::UpdateMechanism].value);
        assert_eq!(facts[&FactKey::UpdateMechanism].reason, "opkg present");
        assert!(!facts.contains_key(&FactKey::Constrained));
    }
}
