//! User guidance. These provisions are met by what a guide says, so the checks PASS on clear
//! positive evidence and are otherwise INCONCLUSIVE with the reason: a guide that does not
//! mention sensors may belong to a device that has none, and guidance may live in a document
//! that was not given.
//!
//! - `5.11-3-doc-deletion` (5.11-3): instructions for deleting personal data (a deletion
//!   sentence with an action in it or the next two sentences: a menu, a button, an address).
//! - `5.12-2-doc-setup` (5.12-2): secure set-up guidance (change the default password, enable
//!   automatic updates, WPA2/3, disable remote access…).
//! - `5.12-3-doc-setup-check` (5.12-3): how to check the set-up is secure.
//! - `5.8-3-doc-sensors` (5.8-3): the device's external sensing capabilities are documented
//!   (including a statement that it has none).

use iotassure_core::finding::{Evidence, Finding, Observations, Outcome, Severity, Source};

use super::{Check, Ctx};
use crate::classify::Kind;
use crate::doc::{and_list, with_evidence, Doc};
use crate::patterns::table;

table!(TABLE, "guidance");

pub const DELETION_ID: &str = "5.11-3-doc-deletion";
pub const SETUP_ID: &str = "5.12-2-doc-setup";
pub const SETUP_CHECK_ID: &str = "5.12-3-doc-setup-check";
pub const SENSORS_ID: &str = "5.8-3-doc-sensors";

pub const DELETION: Check = Check {
    id: DELETION_ID,
    provisions: &["5.11-3"],
    run: run_deletion,
};
pub const SETUP: Check = Check {
    id: SETUP_ID,
    provisions: &["5.12-2"],
    run: run_setup,
};
pub const SETUP_CHECK: Check = Check {
    id: SETUP_CHECK_ID,
    provisions: &["5.12-3"],
    run: run_setup_check,
};
pub const SENSORS: Check = Check {
    id: SENSORS_ID,
    provisions: &["5.8-3"],
    run: run_sensors,
};

fn names(docs: &[&Doc]) -> String {
    and_list(&docs.iter().map(|d| d.name.clone()).collect::<Vec<_>>())
}

fn run_deletion(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["5.11-3"];
    let docs = ctx.prose();
    if docs.is_empty() {
        obs.skipped(
            DELETION_ID,
            Source::Documents,
            prov,
            ctx.none_among("prose document"),
        );
        return;
    }
    obs.ran(DELETION_ID, Source::Documents, prov, docs.len() as u64);
    let (mut how, mut mention): (Vec<Evidence>, Vec<Evidence>) = (Vec::new(), Vec::new());
    for d in &docs {
        for (i, u, _) in d.hits(&TABLE, "deletion") {
            let window = d.window(i as isize, i as isize + 2);
            if TABLE.is_match("instruction", &window) {
                how.push(d.evidence(u));
                if let Some(next) = d.units().get(i + 1) {
                    if TABLE.is_match("instruction", &next.text)
                        && !TABLE.is_match("instruction", &u.text)
                    {
                        how.push(d.evidence(next));
                    }
                }
            } else {
                mention.push(d.evidence(u));
            }
        }
    }
    let new =
        |o, s, t: &str| Finding::new(DELETION_ID, prov, o, s, Source::Documents, t).heuristic();
    let f = if !how.is_empty() {
        with_evidence(
            new(Outcome::Pass, Severity::Info, "Instructions for deleting personal data are given")
                .detail("EN 303 645 5.11-3: users are given clear instructions on how to delete their personal data."),
            how.into_iter().take(3),
        )
    } else if !mention.is_empty() {
        with_evidence(
            new(Outcome::Inconclusive, Severity::Low, "Deleting personal data is mentioned, but no instructions were recognised")
                .detail("The documents speak of deletion (or a right to erasure) but no nearby sentence says how: a menu, a button, an address to write to. 5.11-3 asks for clear instructions."),
            mention.into_iter().take(3),
        )
    } else {
        new(Outcome::Inconclusive, Severity::Info, "No instructions for deleting personal data in the documents given").detail(format!(
            "None of {} explains how to delete personal data. The instructions may be in a document that was not given (a user manual, an app help page).",
            names(&docs)
        ))
    };
    obs.findings.push(f);
}

/// A guide check: which pattern section proves it, and what to say either way.
struct GuideRule {
    id: &'static str,
    prov: &'static [&'static str],
    section: &'static str,
    pass_title: &'static str,
    pass_detail: &'static str,
    none_detail: &'static str,
}

fn guide_check(ctx: &Ctx<'_>, obs: &mut Observations, rule: &GuideRule) {
    let GuideRule {
        id,
        prov,
        section,
        pass_title,
        pass_detail,
        none_detail,
    } = *rule;
    let docs = ctx.of(Kind::SetupGuide);
    if docs.is_empty() {
        obs.skipped(
            id,
            Source::Documents,
            prov,
            ctx.none_among("set-up or user guide"),
        );
        return;
    }
    obs.ran(id, Source::Documents, prov, docs.len() as u64);
    let ev: Vec<Evidence> = docs
        .iter()
        .flat_map(|d| d.hits(&TABLE, section).map(move |(_, u, _)| d.evidence(u)))
        .take(4)
        .collect();
    let f = if ev.is_empty() {
        Finding::new(
            id,
            prov,
            Outcome::Inconclusive,
            Severity::Info,
            Source::Documents,
            format!("No such guidance recognised in {}", names(&docs)),
        )
        .detail(none_detail)
    } else {
        with_evidence(
            Finding::new(
                id,
                prov,
                Outcome::Pass,
                Severity::Info,
                Source::Documents,
                pass_title,
            )
            .detail(pass_detail),
            ev,
        )
    };
    obs.findings.push(f.heuristic());
}

fn run_setup(ctx: &Ctx<'_>, obs: &mut Observations) {
    guide_check(
        ctx,
        obs,
        &GuideRule {
            id: SETUP_ID,
            prov: &["5.12-2"],
            section: "setup_secure",
            pass_title: "The guide tells users how to set the device up securely",
            pass_detail: "EN 303 645 5.12-2: the manufacturer gives guidance on setting the device up securely (e.g. changing the default password, enabling automatic updates, securing the Wi-Fi).",
            none_detail: "The set-up guide was read but no secure set-up step was recognised (changing default passwords, strong passwords, enabling updates or 2FA, WPA2/3, disabling remote access). 5.12-2 asks for such guidance; it may be in another document.",
        },
    );
}

fn run_setup_check(ctx: &Ctx<'_>, obs: &mut Observations) {
    guide_check(
        ctx,
        obs,
        &GuideRule {
            id: SETUP_CHECK_ID,
            prov: &["5.12-3"],
            section: "setup_check",
            pass_title: "The guide tells users how to check that the device is set up securely",
            pass_detail: "EN 303 645 5.12-3: the manufacturer gives guidance on how to check whether the device is securely set up (e.g. a security status page, checking the firmware is current).",
            none_detail: "The set-up guide was read but nothing was recognised telling users how to check that the device is securely set up (a security status, verifying the firmware version or that the password was changed). 5.12-3 asks for such guidance.",
        },
    );
}

fn run_sensors(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["5.8-3"];
    let docs = ctx.prose();
    if docs.is_empty() {
        obs.skipped(
            SENSORS_ID,
            Source::Documents,
            prov,
            ctx.none_among("prose document"),
        );
        return;
    }
    obs.ran(SENSORS_ID, Source::Documents, prov, docs.len() as u64);
    let mut ev = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for d in &docs {
        for (i, u, _) in d.hits(&TABLE, "sensors") {
            let heading = if i > 0 {
                d.units()[i - 1].text.as_str()
            } else {
                ""
            };
            // A heading ("Sensors", "Specifications") introduces the list under it.
            let is_heading = heading.chars().count() < 60 && !heading.ends_with(['.', '!', '?']);
            let documented = TABLE.is_match("sensor_doc", &u.text)
                || (is_heading && TABLE.is_match("sensor_doc", heading));
            if !documented {
                continue;
            }
            for re in TABLE.get("sensors") {
                for m in re.find_iter(&u.text) {
                    let s = m.as_str().to_ascii_lowercase();
                    if !seen.contains(&s) {
                        seen.push(s);
                    }
                }
            }
            ev.push(d.evidence(u));
        }
    }
    let f = if ev.is_empty() {
        Finding::new(SENSORS_ID, prov, Outcome::Inconclusive, Severity::Info, Source::Documents, "No sensing capabilities documented in the documents given")
            .detail(format!(
                "None of {} describes the device's external sensors (camera, microphone, motion, temperature…) or says it has none. If the device has sensors, 5.8-3 requires them to be documented; if it has none, nothing is missing. Firmware evidence or the product's specification can settle it.",
                names(&docs)
            ))
    } else {
        with_evidence(
            Finding::new(
                SENSORS_ID,
                prov,
                Outcome::Pass,
                Severity::Info,
                Source::Documents,
                format!("Sensing capabilities are documented ({})", seen.join(", ")),
            )
            .detail("EN 303 645 5.8-3: all external sensing capabilities are documented for the user. Whether the list is complete can only be checked against the hardware."),
            ev.into_iter().take(4),
        )
    };
    obs.findings.push(f.heuristic());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Origin;

    fn run(text: &str, f: fn(&Ctx<'_>, &mut Observations)) -> Option<Outcome> {
        let docs = vec![Doc::new("guide.txt", text, Some(false), Origin::Given)];
        let ctx = Ctx {
            docs: &docs,
            now: time::OffsetDateTime::now_utc(),
        };
        let mut obs = Observations::default();
        f(&ctx, &mut obs);
        obs.findings.first().map(|f| f.outcome)
    }

    #[test]
    fn guidance_table() {
        use Outcome::*;
        let guide = "Quick start guide.";
        type Run = fn(&Ctx<'_>, &mut Observations);
        let cases: &[(&str, Run, Option<Outcome>)] = &[
            ("To delete your account and all recordings, open the app and go to Settings > Account > Delete.", run_deletion, Some(Pass)),
            ("You can ask us to delete your data: e-mail privacy@acme.example.", run_deletion, Some(Pass)),
            ("You have the right to erasure.", run_deletion, Some(Inconclusive)),
            ("Welcome to your kettle.", run_deletion, Some(Inconclusive)),
            ("Step 1: change the default password to a strong, unique one.", run_setup, Some(Pass)),
            ("Step 1: plug it in.", run_setup, Some(Inconclusive)),
            ("Open Settings > Security status to verify that your camera is set up securely.", run_setup_check, Some(Pass)),
            ("Step 1: plug it in.", run_setup_check, Some(Inconclusive)),
            ("Specifications: 1080p camera, microphone, PIR motion sensor.", run_sensors, Some(Pass)),
            ("This plug has no camera or microphone.", run_sensors, Some(Pass)),
            ("Our office has a camera at the door.", run_sensors, Some(Inconclusive)),
            ("Sensors\n\n- camera\n- microphone", run_sensors, Some(Pass)),
            ("It has no other sensors.\nThe camera app is free.", run_sensors, Some(Inconclusive)),
            ("Welcome to your kettle.", run_sensors, Some(Inconclusive)),
        ];
        for (text, f, want) in cases {
            let t = format!("{guide} {text}");
            assert_eq!(run(&t, *f), *want, "{t}");
        }
    }

    #[test]
    fn setup_checks_skip_without_a_guide() {
        let docs = vec![Doc::new(
            "p.txt",
            "Privacy notice. We collect your name.",
            Some(false),
            Origin::Given,
        )];
        let ctx = Ctx {
            docs: &docs,
            now: time::OffsetDateTime::now_utc(),
        };
        let mut obs = Observations::default();
        run_setup(&ctx, &mut obs);
        assert!(obs.findings.is_empty());
        assert!(
            matches!(&obs.checks[0].status, iotassure_core::finding::RunStatus::Skipped { reason } if reason.contains("no set-up or user guide among the 1 document given"))
        );
    }
}
