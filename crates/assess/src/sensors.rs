//! TS 103 701 5.8-3-1a: "all external sensing capabilities of the device are documented". The
//! documents' check (`5.8-3-doc-sensors`) says which sensors the documents declare; the
//! firmware's sensor inventory (`5.8-3-fw-sensors`) says which the image drives. Joined here
//! (`5.8-3-sensors-declared`): a sensor the firmware shows that the documents given do not
//! declare, or say the device lacks, FAILs; one they declare PASSes; without documents the
//! firmware's sensors stay INCONCLUSIVE, with that reason.

use iotassure_core::finding::{Finding, Observations, Outcome, RunStatus, Severity, Source};

pub const CHECK: &str = "5.8-3-sensors-declared";
const FW: &str = "5.8-3-fw-sensors";
const DOCS: &str = "5.8-3-doc-sensors";
/// The inventory's title prefix (`iotassure_inspect::checks::sensors::TITLE_PREFIX`; assess
/// does not depend on inspect).
const FW_PREFIX: &str = "sensing capability in the firmware: ";
const PROV: &[&str] = &["5.8-3"];

/// The words a document uses for each kind the inventory reports.
fn words(kind: &str) -> &'static [&'static str] {
    match kind {
        "camera" => &["camera", "image sensor", "video"],
        "microphone" => &["microphone", "mic ", "voice", "audio capture"],
        "temperature/humidity sensor" => &["temperature", "humidity"],
        _ => &[],
    }
}

/// Whether `text` says the device lacks `word` ("has no camera", "does not have a microphone",
/// "has no camera, microphone or motion sensor"): a negation before the word in one sentence.
fn negated(text: &str, word: &str) -> bool {
    text.split(['.', ';']).any(|sentence| {
        let Some(w) = sentence.rfind(word) else {
            return false;
        };
        [" no ", "not have", "without ", "neither ", " nor "]
            .iter()
            .any(|n| format!(" {sentence}").find(n).is_some_and(|i| i <= w))
    })
}

pub fn judge(obs: &Observations) -> Observations {
    let mut out = Observations::default();
    let inventory: Vec<(&str, &Finding)> = obs
        .findings
        .iter()
        .filter(|f| f.check == FW && f.outcome == Outcome::Info)
        .filter_map(|f| {
            let rest = f.title.strip_prefix(FW_PREFIX)?;
            Some((rest.split(" (").next().unwrap_or(rest), f))
        })
        .collect();
    if inventory.is_empty() {
        return out;
    }
    let docs_ran = obs
        .checks
        .iter()
        .any(|c| c.check == DOCS && matches!(c.status, RunStatus::Ran { .. }));
    let documented: Vec<&Finding> = obs
        .findings
        .iter()
        .filter(|f| f.check == DOCS && f.outcome == Outcome::Pass)
        .collect();
    for (kind, fw) in &inventory {
        let mut f = if !docs_ran {
            Finding::new(CHECK, PROV, Outcome::Inconclusive, Severity::Info, Source::Firmware,
                format!("the firmware shows a {kind}; no documents were given to hold it against"))
            .detail("5.8-3 asks that every external sensing capability be documented for the user: give the user manual or product page (--doc) to decide it.")
        } else {
            // The title lists what the documents declare; the excerpts carry the sentences,
            // where a "no camera" is read as declaring its absence.
            let said = |d: &Finding| {
                let title = d.title.to_ascii_lowercase();
                let sentences: Vec<String> = d
                    .evidence
                    .iter()
                    .map(|e| e.excerpt.to_ascii_lowercase())
                    .collect();
                let ws = words(kind);
                let mentioned = |s: &String| ws.iter().any(|w| s.contains(w));
                let affirmed = sentences
                    .iter()
                    .any(|s| ws.iter().any(|w| s.contains(w) && !negated(s, w.trim())));
                affirmed
                    || (!sentences.iter().any(mentioned)
                        && ws.iter().any(|w| title.contains(w.trim())))
            };
            let denied = documented.iter().any(|d| {
                d.evidence.iter().any(|e| {
                    let s = e.excerpt.to_ascii_lowercase();
                    words(kind).iter().any(|w| negated(&s, w.trim()))
                })
            });
            match documented.iter().find(|d| said(d)) {
                Some(d) => {
                    let mut f = Finding::new(CHECK, PROV, Outcome::Pass, Severity::Info, Source::Documents,
                        format!("the {kind} the firmware shows is documented"))
                    .detail(format!("The documents declare it ({}); the firmware's own drivers show it.", d.title));
                    f.evidence.extend(d.evidence.iter().take(2).cloned());
                    f
                }
                None => Finding::new(CHECK, PROV, Outcome::Fail, Severity::Medium, Source::Firmware,
                    if denied {
                        format!("the documents say the device has no {kind}, but the firmware drives one")
                    } else {
                        format!("the firmware shows a {kind} that the documents given do not declare")
                    })
                .detail(format!(
                    "5.8-3: every external sensing capability must be documented for the user. The image ships {kind} support ({}); {}.",
                    fw.title.strip_prefix(FW_PREFIX).unwrap_or(&fw.title),
                    if documented.is_empty() {
                        "the documents given describe no sensing capability".to_string()
                    } else {
                        format!("the documents declare only: {}", documented.iter().map(|d| d.title.as_str()).collect::<Vec<_>>().join("; "))
                    }
                )),
            }
        };
        f.evidence.extend(fw.evidence.iter().take(3).cloned());
        // What the documents declare is read by pattern, as their own check marks it.
        out.findings.push(if docs_ran { f.heuristic() } else { f });
    }
    out.ran(CHECK, Source::Firmware, PROV, inventory.len() as u64);
    out
}

#[cfg(test)]
mod tests {
    use super::negated;

    #[test]
    fn absence_is_read_as_absence() {
        assert!(negated(
            "the plug has no camera, microphone or motion sensor.",
            "camera"
        ));
        assert!(negated("it does not have a microphone", "microphone"));
        assert!(negated(
            "the plug has no camera, microphone or motion sensor.",
            "microphone"
        ));
        assert!(!negated("the camera has a 1080p sensor", "camera"));
        assert!(!negated(
            "no cloud needed. the camera records locally",
            "camera"
        ));
    }
}
