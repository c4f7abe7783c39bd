//! Phrase tables. Each concept keeps its phrases in `patterns/<concept>.txt`, so the language a
//! check recognises can be read and extended without reading Rust.
//!
//! Format: `[section]` starts a table; every other non-blank line that does not start with `#` is
//! one regular expression (Rust `regex` syntax), matched case-insensitively. The tables are
//! compiled on first use; `tests::every_table_compiles` fails CI on a bad edit.

use regex::{Regex, RegexBuilder};

pub struct Table {
    name: &'static str,
    sections: Vec<(String, Vec<Regex>)>,
}

impl Table {
    pub fn parse(name: &'static str, src: &str) -> Result<Table, String> {
        let mut sections: Vec<(String, Vec<Regex>)> = Vec::new();
        for (i, raw) in src.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(sec) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                if sections.iter().any(|(s, _)| s == sec) {
                    return Err(format!("{name}.txt:{}: section [{sec}] repeated", i + 1));
                }
                sections.push((sec.to_string(), Vec::new()));
                continue;
            }
            let Some((_, list)) = sections.last_mut() else {
                return Err(format!(
                    "{name}.txt:{}: pattern before any [section]",
                    i + 1
                ));
            };
            let re = RegexBuilder::new(line)
                .case_insensitive(true)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("{name}.txt:{}: {e}", i + 1))?;
            list.push(re);
        }
        if let Some((s, _)) = sections.iter().find(|(_, l)| l.is_empty()) {
            return Err(format!("{name}.txt: section [{s}] is empty"));
        }
        Ok(Table { name, sections })
    }

    /// Loads a compiled-in table; a broken table is a build defect, caught by the tests.
    pub fn load(name: &'static str, src: &str) -> Table {
        Table::parse(name, src).unwrap_or_else(|e| panic!("pattern table {e}"))
    }

    /// The patterns of one section. A missing section is a programming error (tested).
    pub fn get(&self, section: &str) -> &[Regex] {
        self.sections
            .iter()
            .find(|(s, _)| s == section)
            .map(|(_, l)| l.as_slice())
            .unwrap_or_else(|| panic!("pattern table {}.txt has no [{section}]", self.name))
    }

    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|(s, _)| s.as_str())
    }

    /// The first match of any pattern of `section` in `text`: (start, end).
    pub fn find(&self, section: &str, text: &str) -> Option<(usize, usize)> {
        self.get(section)
            .iter()
            .filter_map(|re| re.find(text).map(|m| (m.start(), m.end())))
            .min()
    }

    pub fn is_match(&self, section: &str, text: &str) -> bool {
        self.get(section).iter().any(|re| re.is_match(text))
    }

    /// How many distinct patterns of `section` match `text`.
    pub fn count_distinct(&self, section: &str, text: &str) -> usize {
        self.get(section)
            .iter()
            .filter(|re| re.is_match(text))
            .count()
    }
}

/// Every compiled-in table, for the tests and for `docs/documents.md`.
pub const SOURCES: &[(&str, &str)] = &[
    ("classify", include_str!("../patterns/classify.txt")),
    ("common", include_str!("../patterns/common.txt")),
    ("disclosure", include_str!("../patterns/disclosure.txt")),
    ("support", include_str!("../patterns/support.txt")),
    ("privacy", include_str!("../patterns/privacy.txt")),
    ("guidance", include_str!("../patterns/guidance.txt")),
];

pub fn source(name: &str) -> &'static str {
    SOURCES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .unwrap_or_else(|| panic!("no pattern table {name}"))
}

/// Declares a lazily compiled table: `table!(TABLE, "support");`
macro_rules! table {
    ($static:ident, $name:literal) => {
        static $static: std::sync::LazyLock<$crate::patterns::Table> =
            std::sync::LazyLock::new(|| {
                $crate::patterns::Table::load($name, $crate::patterns::source($name))
            });
    };
}
pub(crate) use table;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_compiles() {
        for (name, src) in SOURCES {
            let t = Table::parse(name, src).unwrap_or_else(|e| panic!("{e}"));
            assert!(t.section_names().count() > 0, "{name} has no sections");
        }
    }

    #[test]
    fn bad_tables_are_rejected() {
        assert!(Table::parse("t", "x").is_err(), "pattern before section");
        assert!(Table::parse("t", "[a]\n(").is_err(), "bad regex");
        assert!(Table::parse("t", "[a]\n[b]\nx").is_err(), "empty section");
        assert!(
            Table::parse("t", "[a]\nx\n[a]\ny").is_err(),
            "repeated section"
        );
        let t = Table::parse("t", "# c\n[a]\nfoo\nba+r\n").unwrap();
        assert_eq!(t.count_distinct("a", "FOO and baaar"), 2);
        assert_eq!(t.find("a", "xx bar foo"), Some((3, 6)));
    }
}
