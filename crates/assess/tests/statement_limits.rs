//! A statement is the maker's input: hostile YAML (alias expansion, deep nesting, huge or endless
//! files) is refused at once with a located error, before the YAML parser sees it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use iotassure_assess::statement::{
    template, LoadedStatement, Product, MAX_STATEMENT_BYTES, MAX_STATEMENT_DEPTH,
};
use iotassure_core::catalog::catalog;

fn template_text() -> String {
    template(catalog(), &Product::default(), &BTreeMap::new())
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-router/demo-router.ics.yaml")
}

fn refused(text: &str) -> iotassure_assess::statement::Diagnostic {
    match LoadedStatement::parse("hostile.yaml", text) {
        Ok(_) => panic!("hostile statement accepted"),
        Err(d) => d,
    }
}

struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let p = std::env::temp_dir().join(format!("iotassure-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn aliases_are_refused_with_their_line() {
    // The amplification that took 1.5 GiB: one large anchored value, 1,500 aliases of it.
    let big = "x".repeat(100_000);
    let mut t = template_text().replacen(
        "    detail: \"\"\n",
        &format!("    detail: &big \"{big}\"\n"),
        1,
    );
    let first_alias_line = t.lines().count() + 3;
    t.push_str("ixit:\n  basic_functions:\n");
    for _ in 0..1500 {
        t.push_str("    - { description: *big }\n");
    }
    let d = refused(&t);
    assert!(d.message.contains("aliases"), "{}", d.message);
    assert_eq!(
        d.line,
        Some(first_alias_line),
        "{}",
        d.render("hostile.yaml")
    );
    assert_eq!(d.column, Some(22));
    assert!(d.render("hostile.yaml").starts_with(&format!(
        "hostile.yaml:{first_alias_line}:22: error: YAML aliases"
    )));

    // A single alias (a merge key) is refused too: the format has no use for them.
    let t = template_text().replacen("  \"5.1-2\":\n", "  \"5.1-2\": &e\n", 1)
        + "  \"9.9-9\":\n    <<: *e\n";
    assert!(refused(&t).message.contains("aliases"));
}

#[test]
fn deep_flow_nesting_is_refused_at_once() {
    // 200 KB of `[` took libyaml 37 s.
    let t = format!("ics_version: 1\nproduct: {}", "[".repeat(200_000));
    let d = refused(&t);
    assert!(
        d.message
            .contains(&format!("nests deeper than {MAX_STATEMENT_DEPTH} levels")),
        "{}",
        d.message
    );
    // Refused within the first levels past the cap, not after reading 200 KB of them.
    assert_eq!(d.line, Some(2));
    let column = d.column.expect("column");
    assert!(
        column > 10 && column <= 10 + MAX_STATEMENT_DEPTH,
        "{column}"
    );

    let t = format!("x: {}", "{a: ".repeat(100));
    assert!(refused(&t).message.contains("nests deeper"));
}

#[test]
fn deep_block_nesting_is_refused() {
    // Compact sequences on one line, and indentation.
    let t = format!("{}x\n", "- ".repeat(1000));
    assert!(refused(&t).message.contains("nests deeper"));
    let mut t = String::new();
    for i in 0..200 {
        t.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
    }
    let d = refused(&t);
    assert!(d.message.contains("nests deeper"), "{}", d.message);
    assert_eq!(d.line, Some(MAX_STATEMENT_DEPTH + 1));
}

#[test]
fn oversized_text_is_refused() {
    let mut t = template_text();
    t.push_str(&"# padding\n".repeat((MAX_STATEMENT_BYTES as usize) / 10 + 1));
    let d = refused(&t);
    assert!(d.message.contains("larger than 4 MiB"), "{}", d.message);
}

#[test]
fn load_stops_reading_at_the_cap() {
    // /dev/zero never ends: the read must stop at the cap, not fill memory.
    if Path::new("/dev/zero").exists() {
        let d = LoadedStatement::load(Path::new("/dev/zero")).expect_err("refused");
        assert!(d.message.contains("larger than 4 MiB"), "{}", d.message);
        assert!(d.render("/dev/zero").starts_with("/dev/zero: error: "));
    }
    let big = TempFile::new("big.yaml", &vec![b'#'; MAX_STATEMENT_BYTES as usize + 1]);
    let d = LoadedStatement::load(&big.0).expect_err("refused");
    assert!(d.message.contains("larger than 4 MiB"), "{}", d.message);

    let bin = TempFile::new("bin.yaml", b"ics_version: 1\nproduct:\n  model: \xff\xfe\n");
    let d = LoadedStatement::load(&bin.0).expect_err("refused");
    assert!(d.message.contains("not UTF-8"), "{}", d.message);
    assert_eq!(d.line, Some(3));

    let d = LoadedStatement::load(Path::new("/nonexistent/ics.yaml")).expect_err("refused");
    assert!(d.message.contains("cannot read"), "{}", d.message);
}

#[test]
fn ordinary_statements_still_load() {
    let st = LoadedStatement::load(&example()).expect("the example statement loads");
    assert_eq!(st.statement.provisions.len(), 68);
    assert_eq!(st.file, example().display().to_string());

    // What a maker may write: block scalars with Markdown bullets, references in brackets,
    // quoted asterisks, an anchor that is never aliased, flow mappings in the IXIT, comments.
    let t = template_text().replacen(
        "    support: null\n    detail: \"\"\n",
        "    support: Y\n    detail: |\n      * TLS 1.2 only [1]\n      * keys in *secure* storage\n        [[nested]] {braces}\n    # * not an alias\n",
        1,
    ).replacen(
        "    support: null\n    detail: \"\"\n",
        "    support: Y\n    detail: &shared \"*all* ports [closed]\"\n",
        1,
    ).replacen(
        "    support: null\n    detail: \"\"\n",
        "    support: Y\n    detail: >-\n      folded *text*\n      over lines\n",
        1,
    ).replacen(
        "    support: null\n    detail: \"\"\n",
        "    support: Y\n    detail: plain text with * and & and [1] and {x}\n",
        1,
    ) + "ixit:\n  interfaces:\n    - { port: 443, service: https, purpose: \"web [UI]\", authentication: password }\n";
    let st =
        LoadedStatement::parse("ok.yaml", &t).unwrap_or_else(|d| panic!("{}", d.render("ok.yaml")));
    let p = &st.statement.provisions;
    assert!(
        p["4-1"].detail.starts_with("* TLS 1.2 only [1]\n"),
        "{:?}",
        p["4-1"].detail
    );
    assert_eq!(p["5.1-1"].detail, "*all* ports [closed]");
    assert_eq!(p["5.1-2"].detail, "folded *text* over lines");
    assert_eq!(p["5.1-3"].detail, "plain text with * and & and [1] and {x}");
    assert_eq!(st.statement.ixit.interfaces.len(), 1);
}
