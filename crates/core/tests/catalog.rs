//! The catalogue data is valid and complete (DESIGN.md §3).

use std::collections::BTreeSet;

use iotassure_core::catalog::{oscal_catalog, Catalog, Status};

fn cat() -> Catalog {
    Catalog::load().expect("catalogue parses")
}

#[test]
fn the_data_validates() {
    let problems = cat().validate();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn sixty_eight_provisions_33_mandatory_35_recommended() {
    let c = cat();
    assert_eq!(c.provisions.len(), 68);
    assert_eq!(
        c.provisions
            .iter()
            .filter(|p| p.status == Status::M)
            .count(),
        33
    );
    assert_eq!(
        c.provisions
            .iter()
            .filter(|p| p.status == Status::R)
            .count(),
        35
    );
}

#[test]
fn annex_b_statuses_match_design() {
    let c = cat();
    let label = |id: &str| {
        c.provision(id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .status_label()
    };
    assert_eq!(label("4-1"), "M");
    assert_eq!(label("5.1-1"), "M C(1)");
    assert_eq!(label("5.3-10"), "M C(11,12)");
    assert_eq!(label("5.3-14"), "R C(3,4)");
    assert_eq!(label("5.3-6"), "R C(9,12)");
    assert_eq!(label("6-5"), "M C(6)");
    assert_eq!(label("5.10-1"), "R C(6)");
    assert_eq!(label("5.7-1"), "R");
}

#[test]
fn every_condition_is_used_and_each_fact_decides_one() {
    let c = cat();
    assert_eq!(c.conditions.len(), 13);
    let used: BTreeSet<u8> = c
        .provisions
        .iter()
        .flat_map(|p| p.conditions.iter().copied())
        .collect();
    for cond in &c.conditions {
        assert!(
            used.contains(&cond.id),
            "condition {} is used by no provision",
            cond.id
        );
    }
    // 4 and 5 are the same fact, opposite ways.
    assert_eq!(c.condition(4).unwrap().fact, c.condition(5).unwrap().fact);
    assert_ne!(
        c.condition(4).unwrap().negated,
        c.condition(5).unwrap().negated
    );
}

#[test]
fn every_crosswalk_target_exists_and_every_scheme_has_its_items() {
    let c = cat();
    let count = |s: &str| {
        c.scheme(s)
            .unwrap_or_else(|| panic!("scheme {s}"))
            .items
            .iter()
            .filter(|i| i.requirement.is_none())
            .count()
    };
    assert_eq!(count("uk-cop"), 13);
    assert_eq!(count("tec"), 13);
    assert_eq!(count("owasp-iot-2018"), 10);
    assert_eq!(count("uk-psti"), 3);
    assert_eq!(count("bsi-checklist"), 13);
    for s in &c.schemes {
        for i in &s.items {
            for p in c.item_provisions(i) {
                assert!(
                    c.provision(&p).is_some(),
                    "{}:{} maps to unknown {p}",
                    s.id,
                    i.id
                );
            }
        }
    }
    // The OWASP mapping goes through the CoP (DESIGN.md §3): I3 → CoP 5 and 13.
    let i3 = c.scheme_item("owasp-iot-2018:I3").unwrap();
    let p = c.item_provisions(i3);
    assert!(p.contains(&"5.5-1".to_string()) && p.contains(&"5.13-1".to_string()));
    // PSTI deemed compliance.
    let psti: Vec<String> = c
        .scheme("uk-psti")
        .unwrap()
        .items
        .iter()
        .flat_map(|i| c.item_provisions(i))
        .collect();
    assert_eq!(psti, ["5.1-1", "5.1-2", "5.2-1", "5.3-13"]);
    // CoP guideline 8 also covers clause 6.
    assert!(c.crosswalk("6-1")["uk-cop"].contains(&"8".to_string()));
}

#[test]
fn tec_additional_requirements_are_entries_of_their_own() {
    let c = cat();
    let tec = c.scheme("tec").unwrap();
    let own: Vec<&str> = tec
        .items
        .iter()
        .filter(|i| i.requirement.is_some())
        .map(|i| i.id.as_str())
        .collect();
    for id in [
        "TEC-2-bug-bounty",
        "TEC-3-rollback",
        "TEC-3-eol-display",
        "TEC-5-no-downgrade",
        "TEC-5-access-log",
        "TEC-5-peer-auth",
        "TEC-7-hw-match",
        "TEC-7-device-binding",
        "TEC-8-data-freshness",
        "TEC-9-tamper-check",
        "TEC-10-telemetry-encrypted",
        "TEC-11-factory-reset",
    ] {
        assert!(own.contains(&id), "TEC requirement {id} missing");
        assert!(c.is_requirement(id));
    }
}

#[test]
fn profiles_exist_and_select_the_right_sets() {
    let c = cat();
    let ids =
        |p: &str| c.profile_requirements(c.profile(p).unwrap_or_else(|| panic!("profile {p}")));
    assert_eq!(ids("en303645-m").len(), 33);
    assert_eq!(ids("en303645-mr").len(), 68);
    assert_eq!(ids("uk-psti"), ["5.1-1", "5.1-2", "5.2-1", "5.3-13"]);
    assert_eq!(ids("fi-label").len(), 18);
    for view in ["uk-cop", "tec", "owasp"] {
        assert!(!ids(view).is_empty());
    }
}

#[test]
fn oscal_export_has_the_required_catalog_fields() {
    let c = cat();
    let v = oscal_catalog(&c);
    let cat = &v["catalog"];
    assert!(uuid::Uuid::parse_str(cat["uuid"].as_str().unwrap()).is_ok());
    for f in ["title", "last-modified", "version", "oscal-version"] {
        assert!(cat["metadata"][f].is_string(), "metadata.{f}");
    }
    assert!(cat["metadata"]["oscal-version"]
        .as_str()
        .unwrap()
        .starts_with("1.1"));
    let token = |s: &str| {
        let mut ch = s.chars();
        ch.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && ch.all(|c| c.is_alphanumeric() || ".-_".contains(c))
    };
    let mut controls = 0;
    for g in cat["groups"].as_array().unwrap() {
        assert!(token(g["id"].as_str().unwrap()));
        assert!(g["title"].is_string());
        for ctl in g["controls"].as_array().unwrap() {
            controls += 1;
            let id = ctl["id"].as_str().unwrap();
            assert!(token(id), "control id {id} is not an OSCAL token");
            assert!(ctl["title"].is_string());
            let label = ctl["props"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "label")
                .unwrap();
            assert_eq!(format!("en303645-{}", label["value"].as_str().unwrap()), id);
            for p in ctl["props"].as_array().unwrap() {
                // OSCAL-defined names need no namespace; ours must carry one.
                if !["label", "sort-id"].contains(&p["name"].as_str().unwrap()) {
                    assert!(p["ns"].is_string(), "{id}: prop {} without ns", p["name"]);
                }
            }
            for part in ctl["parts"].as_array().unwrap() {
                assert!(token(part["id"].as_str().unwrap()));
            }
        }
    }
    assert_eq!(controls, 68);
    let five_one_one = cat["groups"][1]["controls"][0].clone();
    assert_eq!(five_one_one["id"], "en303645-5.1-1");
}
