//! OSCAL observation methods follow the evidence source: TEST for the live device (acted on),
//! EXAMINE for what is read. The corpus tests only have static evidence, so the device case is
//! made here from a real report with one finding moved to a device.

use iotassure_assess::Report;
use iotassure_core::finding::{Location, Source};

fn report() -> Report {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../trustcenter/tests/data/smart-plug.report.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn device_evidence_is_a_test_of_the_device_and_firmware_evidence_is_examined() {
    let mut r = report();
    r.subject.device = Some("192.0.2.10".into());
    let fw = r
        .findings
        .iter()
        .position(|f| f.source == Source::Firmware && !f.evidence.is_empty())
        .expect("a firmware finding with evidence");
    let dev = r
        .findings
        .iter()
        .position(|f| f.source != Source::Firmware)
        .expect("another finding");
    r.findings[dev].source = Source::Device;
    r.findings[dev].evidence = vec![iotassure_core::finding::Evidence {
        location: Location::Network {
            host: "192.0.2.10".into(),
            port: 23,
            protocol: "telnet".into(),
            transcript: Vec::new(),
        },
        excerpt: "login:".into(),
    }];
    let v = iotassure_report::oscal_results(&r);
    let result = &v["assessment-results"]["results"][0];
    let items = result["local-definitions"]["inventory-items"]
        .as_array()
        .unwrap();
    let item = |src: &str| {
        items
            .iter()
            .find(|i| {
                i["props"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "evidence-source" && p["value"] == src)
            })
            .unwrap_or_else(|| panic!("no {src} inventory item"))["uuid"]
            .clone()
    };
    let obs = result["observations"].as_array().unwrap();
    let find = |title: &str| {
        obs.iter()
            .find(|o| o["title"] == title)
            .unwrap_or_else(|| panic!("no observation {title}"))
    };
    let d = find(&r.findings[dev].title);
    assert_eq!(d["methods"], serde_json::json!(["TEST"]));
    assert_eq!(d["subjects"][0]["subject-uuid"], item("device"));
    assert!(d["relevant-evidence"][0]["description"]
        .as_str()
        .unwrap()
        .starts_with("telnet://192.0.2.10:23"));
    let f = find(&r.findings[fw].title);
    assert_eq!(f["methods"], serde_json::json!(["EXAMINE"]));
    assert_eq!(f["subjects"][0]["subject-uuid"], item("firmware"));
    // The plan lists the TEST activity only when a device was probed.
    let plan = iotassure_report::oscal_plan(&r);
    assert!(plan.to_string().contains("\"TEST\""));
    r.subject.device = None;
    assert!(!iotassure_report::oscal_plan(&r)
        .to_string()
        .contains("\"TEST\""));
}
