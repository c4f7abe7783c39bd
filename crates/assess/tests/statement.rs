//! The conformance statement: parsing, validation rules and rendering of table B.1.

use std::collections::BTreeMap;

use iotassure_assess::statement::{
    render_table, template, Level, LoadedStatement, Product, TableFormat,
};
use iotassure_core::catalog::catalog;

/// A complete, valid statement built from the template: every provision Y, profile declared.
fn valid_text() -> String {
    let mut t = template(catalog(), &Product::default(), &BTreeMap::new());
    for (fact, v) in [
        ("constrained", "false"),
        ("passwords_used", "true"),
        ("preinstalled_passwords", "true"),
        ("software_updateable", "true"),
        ("telemetry_collected", "false"),
        ("consent_based_processing", "false"),
        ("user_authentication", "true"),
        ("automatic_updates_or_notifications", "true"),
        ("unique_hardcoded_identity", "false"),
        ("updates_over_network", "true"),
        ("update_mechanism", "true"),
        ("debug_interface_accessible", "false"),
    ] {
        t = t.replace(&format!("  {fact}: null\n"), &format!("  {fact}: {v}\n"));
    }
    t.replace(
        "    support: null\n    detail: \"\"\n",
        "    support: Y\n    detail: \"done\"\n",
    )
}

fn set(text: &str, id: &str, entry: &str) -> String {
    let key = format!("  \"{id}\":\n    support: Y\n    detail: \"done\"\n");
    let with_just = format!("{key}    justification: \"\"\n");
    let key = if text.contains(&with_just) {
        with_just
    } else {
        key
    };
    assert!(text.contains(&key), "{id} not in template");
    text.replace(&key, &format!("  \"{id}\":\n{entry}"))
}

fn errors(text: &str) -> Vec<String> {
    let st =
        LoadedStatement::parse("t.yaml", text).unwrap_or_else(|d| panic!("{}", d.render("t.yaml")));
    st.check(catalog())
        .into_iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| d.render("t.yaml"))
        .collect()
}

#[test]
fn a_complete_statement_is_valid() {
    assert_eq!(errors(&valid_text()), Vec::<String>::new());
}

#[test]
fn the_template_lists_every_provision_and_is_not_yet_valid() {
    let t = template(catalog(), &Product::default(), &BTreeMap::new());
    let st = LoadedStatement::parse("t.yaml", &t).unwrap();
    assert_eq!(st.statement.provisions.len(), 68);
    let errs = errors(&t);
    assert!(
        errs.iter().any(|e| e.contains("support is not stated")),
        "{errs:?}"
    );
}

#[test]
fn na_only_for_a_conditional_provision_whose_condition_is_false() {
    // 5.1-3 is unconditional.
    let t = set(
        &valid_text(),
        "5.1-3",
        "    support: N/A\n    detail: \"no passwords\"\n",
    );
    let e = errors(&t);
    assert!(
        e.iter()
            .any(|e| e.contains("5.1-3") && e.contains("unconditional")),
        "{e:?}"
    );
    // 5.1-4 depends on condition 8 (user authentication), declared true: N/A is wrong.
    let t = set(
        &valid_text(),
        "5.1-4",
        "    support: N/A\n    detail: \"no login\"\n",
    );
    let e = errors(&t);
    assert!(
        e.iter()
            .any(|e| e.contains("5.1-4") && e.contains("condition holds")),
        "{e:?}"
    );
    // Declare user_authentication false: now N/A is right.
    let t = t.replace(
        "  user_authentication: true\n",
        "  user_authentication: false\n",
    );
    let e = errors(&t);
    assert!(!e.iter().any(|e| e.contains("5.1-4")), "{e:?}");
    // Undeclared fact: the checker asks for it.
    let t = t.replace(
        "  user_authentication: false\n",
        "  user_authentication: null\n",
    );
    let e = errors(&t);
    assert!(
        e.iter()
            .any(|e| e.contains("5.1-4") && e.contains("user_authentication")),
        "{e:?}"
    );
}

#[test]
fn n_and_na_need_a_detail_and_unmet_recommendations_a_justification() {
    let t = set(&valid_text(), "5.1-1", "    support: N\n    detail: \"\"\n");
    assert!(errors(&t)
        .iter()
        .any(|e| e.contains("5.1-1") && e.contains("detail")));
    // 5.7-1 is a recommendation: N needs a justification (4-1).
    let t = set(
        &valid_text(),
        "5.7-1",
        "    support: N\n    detail: \"no secure boot\"\n    justification: \"\"\n",
    );
    assert!(errors(&t)
        .iter()
        .any(|e| e.contains("5.7-1") && e.contains("4-1")));
    let t = set(&valid_text(), "5.7-1", "    support: N\n    detail: \"no secure boot\"\n    justification: \"SoC has no ROM verification\"\n");
    assert!(!errors(&t).iter().any(|e| e.contains("5.7-1")));
}

#[test]
fn unknown_ids_and_fields_are_located() {
    let t = valid_text().replace(
        "provisions:\n",
        "provisions:\n  \"9.9-9\":\n    support: Y\n    detail: \"x\"\n",
    );
    let e = errors(&t);
    let hit = e
        .iter()
        .find(|e| e.contains("9.9-9"))
        .expect("unknown id reported");
    let line = t.lines().position(|l| l.contains("9.9-9")).unwrap() + 1;
    assert!(hit.starts_with(&format!("t.yaml:{line}:3: error")), "{hit}");

    let bad = valid_text().replacen("    detail: \"done\"\n", "    detial: \"done\"\n", 1);
    let d = LoadedStatement::parse("t.yaml", &bad).expect_err("unknown field is an error");
    let line = bad.lines().position(|l| l.contains("detial")).unwrap() + 1;
    assert_eq!(d.line, Some(line));
    assert!(d.column.is_some());
    assert!(
        d.message.contains("unknown field `detial`"),
        "{}",
        d.message
    );

    let bad = valid_text().replace("  constrained: false\n", "  constrianed: false\n");
    let d = LoadedStatement::parse("t.yaml", &bad).expect_err("unknown profile fact is an error");
    assert!(d.message.contains("constrianed") && d.line.is_some());
}

#[test]
fn table_b1_renders_in_markdown_and_csv() {
    let t = set(
        &valid_text(),
        "5.7-1",
        "    support: N\n    detail: \"no, really\"\n    justification: \"old SoC\"\n",
    );
    let st = LoadedStatement::parse("t.yaml", &t).unwrap();
    let md = render_table(catalog(), &st.statement, TableFormat::Markdown);
    assert_eq!(md.lines().count(), 2 + 68);
    assert!(md.contains("| 5.1 | 5.1-1 ") && md.contains("| M C(1) | Y |"));
    let csv = render_table(catalog(), &st.statement, TableFormat::Csv);
    assert_eq!(csv.lines().count(), 1 + 68);
    assert!(csv.contains("5.7,5.7-1,") && csv.contains(",N,\"no, really\",old SoC"));
}
