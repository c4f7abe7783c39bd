//! The implementation conformance statement (ICS): EN 303 645 Annex B table B.1 in YAML, plus the
//! device-profile facts that decide the 13 conditions. The format is documented in
//! `docs/conformance-statement.md`; `examples/demo-router.ics.yaml` is a worked example.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use iotassure_core::catalog::{provision_sort_key, Catalog, Status};
use iotassure_core::facts::FactKey;
use iotassure_core::ixit::Ixit;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod guard;

pub use guard::{MAX_BYTES as MAX_STATEMENT_BYTES, MAX_DEPTH as MAX_STATEMENT_DEPTH};

pub const ICS_VERSION: u32 = 1;

/// Support as stated in table B.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Support {
    Y,
    N,
    #[serde(rename = "N/A", alias = "NA")]
    NotApplicable,
}

impl Support {
    pub fn as_str(self) -> &'static str {
        match self {
            Support::Y => "Y",
            Support::N => "N",
            Support::NotApplicable => "N/A",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    #[serde(default)]
    pub manufacturer: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub hardware_version: String,
    #[serde(default)]
    pub firmware_version: String,
}

/// The declared device profile: one optional answer per fact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclaredProfile {
    pub constrained: Option<bool>,
    pub passwords_used: Option<bool>,
    pub preinstalled_passwords: Option<bool>,
    pub software_updateable: Option<bool>,
    pub telemetry_collected: Option<bool>,
    pub consent_based_processing: Option<bool>,
    pub user_authentication: Option<bool>,
    pub automatic_updates_or_notifications: Option<bool>,
    pub unique_hardcoded_identity: Option<bool>,
    pub updates_over_network: Option<bool>,
    pub update_mechanism: Option<bool>,
    pub debug_interface_accessible: Option<bool>,
}

impl DeclaredProfile {
    pub fn get(&self, key: FactKey) -> Option<bool> {
        match key {
            FactKey::Constrained => self.constrained,
            FactKey::PasswordsUsed => self.passwords_used,
            FactKey::PreinstalledPasswords => self.preinstalled_passwords,
            FactKey::SoftwareUpdateable => self.software_updateable,
            FactKey::TelemetryCollected => self.telemetry_collected,
            FactKey::ConsentBasedProcessing => self.consent_based_processing,
            FactKey::UserAuthentication => self.user_authentication,
            FactKey::AutomaticUpdatesOrNotifications => self.automatic_updates_or_notifications,
            FactKey::UniqueHardcodedIdentity => self.unique_hardcoded_identity,
            FactKey::UpdatesOverNetwork => self.updates_over_network,
            FactKey::UpdateMechanism => self.update_mechanism,
            FactKey::DebugInterfaceAccessible => self.debug_interface_accessible,
        }
    }

    pub fn to_map(&self) -> BTreeMap<FactKey, bool> {
        FactKey::ALL
            .into_iter()
            .filter_map(|k| self.get(k).map(|v| (k, v)))
            .collect()
    }
}

/// One row of table B.1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementEntry {
    /// `Y`, `N` or `N/A`; empty in a fresh template.
    pub support: Option<Support>,
    /// The measures taken (Y), the reason (N), or the rationale (N/A).
    #[serde(default)]
    pub detail: String,
    /// For a recommendation not met: why (provision 4-1).
    #[serde(default)]
    pub justification: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub ics_version: u32,
    #[serde(default)]
    pub product: Product,
    #[serde(default)]
    pub profile: DeclaredProfile,
    #[serde(default, deserialize_with = "unique_entries")]
    #[schemars(with = "BTreeMap<String, StatementEntry>")]
    pub provisions: BTreeMap<String, StatementEntry>,
    /// Implementation information for testing (TS 103 701 IXIT): declared interfaces, outbound
    /// connections, basic functions and test accounts, compared with what the probes observe.
    #[serde(default, skip_serializing_if = "Ixit::is_empty")]
    pub ixit: Ixit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Error,
    Warning,
}

/// A problem with a statement, located like a compiler diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Diagnostic {
    pub level: Level,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn render(&self, file: &str) -> String {
        let lvl = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}: {lvl}: {}", self.message),
            (Some(l), None) => format!("{file}:{l}: {lvl}: {}", self.message),
            _ => format!("{file}: {lvl}: {}", self.message),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render("statement"))
    }
}

/// A parsed statement with its source text, for locating problems.
#[derive(Debug, Clone)]
pub struct LoadedStatement {
    pub statement: Statement,
    pub file: String,
    text: String,
}

impl LoadedStatement {
    /// The first line (1-based) of the statement's text that contains `needle`, to cite a
    /// declaration where it is written.
    pub fn line_of(&self, needle: &str) -> Option<u32> {
        self.text
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i as u32 + 1)
    }

    /// Reads and parses a statement file. This is the way in for every command: the read stops
    /// after [`MAX_STATEMENT_BYTES`] + 1 bytes, so a huge file, `/dev/zero` or a FIFO is refused
    /// at once instead of being read into memory. The diagnostic's `render(file)` names the file.
    pub fn load(path: &Path) -> Result<LoadedStatement, Diagnostic> {
        let file = path.display().to_string();
        let fail = |message: String| Diagnostic {
            level: Level::Error,
            line: None,
            column: None,
            message,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_STATEMENT_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| fail(format!("cannot read the statement: {e}")))?;
        if bytes.len() as u64 > MAX_STATEMENT_BYTES {
            return Err(fail(too_large()));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let before = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            Diagnostic {
                line: Some(line),
                ..fail("the statement is not UTF-8 text".into())
            }
        })?;
        LoadedStatement::parse(&file, &text)
    }

    /// Parses YAML; a syntax error, unknown field or wrong type is returned with line and column.
    /// Text over [`MAX_STATEMENT_BYTES`], nesting deeper than [`MAX_STATEMENT_DEPTH`] or any YAML
    /// alias is refused before the YAML parser sees it (see `statement/guard.rs`).
    pub fn parse(file: &str, text: &str) -> Result<LoadedStatement, Diagnostic> {
        if text.len() as u64 > MAX_STATEMENT_BYTES {
            return Err(Diagnostic {
                level: Level::Error,
                line: None,
                column: None,
                message: too_large(),
            });
        }
        guard::scan(text).map_err(|r| Diagnostic {
            level: Level::Error,
            line: Some(r.line),
            column: Some(r.column),
            message: r.message,
        })?;
        let statement: Statement = serde_yaml_ng::from_str(text).map_err(|e| {
            let msg = e.to_string();
            if let Some(id) = msg
                .find(DUPLICATE)
                .and_then(|i| msg[i + DUPLICATE.len()..].split(' ').next())
            {
                let lines: Vec<String> =
                    key_lines(text, id).iter().map(|n| n.to_string()).collect();
                return Diagnostic {
                    level: Level::Error,
                    line: key_lines(text, id).last().copied(),
                    column: None,
                    message: format!(
                        "provision {id} has more than one entry (lines {}); keep one",
                        lines.join(" and ")
                    ),
                };
            }
            Diagnostic {
                level: Level::Error,
                line: e.location().map(|l| l.line()),
                column: e.location().map(|l| l.column()),
                message: e
                    .to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            }
        })?;
        Ok(LoadedStatement {
            statement,
            file: file.to_string(),
            text: text.to_string(),
        })
    }

    /// Line and column of a provision key inside `provisions:`.
    pub fn locate(&self, id: &str) -> (Option<usize>, Option<usize>) {
        match provision_keys(&self.text)
            .into_iter()
            .find(|(k, _, _)| k == id)
        {
            Some((_, line, column)) => (Some(line), Some(column)),
            None => (None, None),
        }
    }

    /// Validates the statement against the catalogue (see `docs/conformance-statement.md`).
    pub fn check(&self, cat: &Catalog) -> Vec<Diagnostic> {
        let s = &self.statement;
        let mut out = Vec::new();
        let err = |id: &str, msg: String| {
            let (line, column) = self.locate(id);
            Diagnostic {
                level: Level::Error,
                line,
                column,
                message: msg,
            }
        };
        let warn = |id: &str, msg: String| {
            let (line, column) = self.locate(id);
            Diagnostic {
                level: Level::Warning,
                line,
                column,
                message: msg,
            }
        };
        if s.ics_version != ICS_VERSION {
            out.push(Diagnostic {
                level: Level::Error,
                line: Some(1),
                column: None,
                message: format!(
                    "ics_version {} is not supported (expected {ICS_VERSION})",
                    s.ics_version
                ),
            });
        }
        let mut entries: Vec<(&String, &StatementEntry)> = s.provisions.iter().collect();
        entries.sort_by_key(|(id, _)| provision_sort_key(id));
        for (id, e) in entries {
            let Some(p) = cat.provision(id) else {
                // A scheme's own requirement (TEC-2-bug-bounty, …): its verdict asks for an entry
                // here, so it is accepted, with a support and, for N, a reason. It has no
                // Annex B condition, so N/A is never right.
                let own = cat
                    .schemes
                    .iter()
                    .flat_map(|sc| sc.items.iter())
                    .any(|i| i.id == *id && i.requirement.is_some());
                if !own {
                    out.push(err(id, format!("unknown provision `{id}` (EN 303 645 V2.1.1 has 4-1, 5.1-1 … 6-5, and the schemes' own requirements such as TEC-2-bug-bounty; see `iotassure catalog list`)")));
                    continue;
                }
                match e.support {
                    None => out.push(err(id, format!("{id}: support is not stated (write Y or N)"))),
                    Some(Support::NotApplicable) => out.push(err(
                        id,
                        format!("{id}: N/A is not allowed: a scheme's own requirement has no Annex B condition"),
                    )),
                    Some(Support::N) if e.detail.trim().is_empty() => out.push(err(
                        id,
                        format!("{id}: support N needs a detail giving the reason it is not met"),
                    )),
                    _ => {}
                }
                continue;
            };
            let Some(support) = e.support else {
                out.push(err(
                    id,
                    format!("{id}: support is not stated (write Y, N or N/A)"),
                ));
                continue;
            };
            if matches!(support, Support::N | Support::NotApplicable) && e.detail.trim().is_empty()
            {
                let what = if support == Support::N {
                    "the reason it is not met"
                } else {
                    "the rationale"
                };
                out.push(err(
                    id,
                    format!(
                        "{id}: support {} needs a detail giving {what}",
                        support.as_str()
                    ),
                ));
            }
            if support == Support::N && p.status == Status::R && e.justification.trim().is_empty() {
                out.push(err(
                    id,
                    format!("{id}: a recommendation not met needs a justification (provision 4-1)"),
                ));
            }
            let applies = applicability(cat, &p.conditions, &s.profile);
            match (support, applies) {
                (Support::NotApplicable, _) if p.conditions.is_empty() => out.push(err(
                    id,
                    format!("{id} is {} (unconditional): N/A is allowed only for a conditional provision whose condition does not hold", p.status_label()),
                )),
                (Support::NotApplicable, Applies::Yes) => out.push(err(
                    id,
                    format!("{id}: N/A, but its condition holds under the declared profile ({})", describe_conditions(cat, &p.conditions, &s.profile)),
                )),
                (Support::NotApplicable, Applies::Unknown(missing)) => out.push(err(
                    id,
                    format!("{id}: N/A needs the profile to decide its condition; declare {} under `profile:`", missing.join(", ")),
                )),
                (Support::Y | Support::N, Applies::No) => out.push(warn(
                    id,
                    format!("{id}: stated {}, but its condition does not hold under the declared profile ({}); N/A is expected", support.as_str(), describe_conditions(cat, &p.conditions, &s.profile)),
                )),
                _ => {}
            }
        }
        let missing: Vec<&str> = cat
            .provisions
            .iter()
            .filter(|p| !s.provisions.contains_key(&p.id))
            .map(|p| p.id.as_str())
            .collect();
        if !missing.is_empty() {
            out.push(Diagnostic {
                level: Level::Error,
                line: None,
                column: None,
                message: format!(
                    "{} of 68 provisions have no entry: {} (table B.1 covers every provision; `iotassure ics init` writes them all)",
                    missing.len(),
                    missing.join(", ")
                ),
            });
        }
        out
    }
}

fn too_large() -> String {
    format!(
        "the statement is larger than {} MiB (one is a few hundred KiB at most); refused",
        MAX_STATEMENT_BYTES >> 20
    )
}

/// Whether a provision applies under a set of facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applies {
    Yes,
    No,
    /// Facts not declared (their names).
    Unknown(Vec<String>),
}

fn applicability(cat: &Catalog, conditions: &[u8], profile: &DeclaredProfile) -> Applies {
    let mut missing = Vec::new();
    for c in conditions {
        let cond = cat.condition(*c).expect("catalogue conditions are valid");
        match profile.get(cond.fact) {
            Some(v) if !cond.holds(v) => return Applies::No,
            Some(_) => {}
            None => missing.push(cond.fact.as_str().to_string()),
        }
    }
    if missing.is_empty() {
        Applies::Yes
    } else {
        Applies::Unknown(missing)
    }
}

fn describe_conditions(cat: &Catalog, conditions: &[u8], profile: &DeclaredProfile) -> String {
    conditions
        .iter()
        .filter_map(|c| cat.condition(*c))
        .map(|c| {
            let v = profile
                .get(c.fact)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "undeclared".into());
            format!(
                "condition {} \"{}\": {} = {v}",
                c.id,
                c.text.trim_end_matches('.'),
                c.fact
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Writes a statement template: every fact and every provision, with comments that teach the
/// format. `inferred` pre-fills facts the evidence suggested (each with its reason).
pub fn template(
    cat: &Catalog,
    product: &Product,
    inferred: &BTreeMap<FactKey, (bool, String)>,
) -> String {
    let mut s = String::new();
    s.push_str("# iotassure implementation conformance statement (ICS): EN 303 645 V2.1.1 Annex B, table B.1.\n");
    s.push_str("# Fill in `profile` (the facts that decide the 13 conditions) and one entry per provision:\n");
    s.push_str("#   support: Y | N | N/A   (N/A only for a conditional provision whose condition does not hold)\n");
    s.push_str("#   detail: the measures (Y), the reason (N) or the rationale (N/A)\n");
    s.push_str("#   justification: required for a recommendation (R) not met (provision 4-1)\n");
    s.push_str("# Check it with `iotassure ics check FILE`; see docs/conformance-statement.md.\n");
    s.push_str(&format!("ics_version: {ICS_VERSION}\n"));
    s.push_str("product:\n");
    for (k, v) in [
        ("manufacturer", &product.manufacturer),
        ("model", &product.model),
        ("hardware_version", &product.hardware_version),
        ("firmware_version", &product.firmware_version),
    ] {
        s.push_str(&format!("  {k}: {}\n", yaml_str(v)));
    }
    s.push_str("profile:\n");
    for key in FactKey::ALL {
        s.push_str(&format!("  # {}\n", key.question()));
        match inferred.get(&key) {
            Some((v, reason)) => s.push_str(&format!(
                "  {}: {v}    # inferred: {}\n",
                key.as_str(),
                one_line(reason)
            )),
            None => s.push_str(&format!("  {}: null\n", key.as_str())),
        }
    }
    s.push_str(IXIT_TEMPLATE);
    s.push_str("provisions:\n");
    for p in &cat.provisions {
        s.push_str(&format!(
            "  # {} [{}] {}\n",
            p.id,
            p.status_label(),
            p.title
        ));
        s.push_str(&format!(
            "  \"{}\":\n    support: null\n    detail: \"\"\n",
            p.id
        ));
        if p.status == Status::R {
            s.push_str("    justification: \"\"\n");
        }
    }
    s
}

/// The IXIT section of a fresh template: commented out, as a guide.
const IXIT_TEMPLATE: &str = "# Implementation information for testing (TS 103 701 IXIT). Declared interfaces and connections
# let the live tests compare what they observe with what you intend; uncomment and fill in.
# ixit:
#   interfaces:                  # every network service the device exposes
#     - { port: 443, service: https, purpose: \"web management\", authentication: password }
#     - { port: 1900, transport: udp, service: upnp, authentication: none }
#   connections:                 # connections the device makes itself
#     - { host: \"update.example.com\", port: 443, protocol: https, purpose: update }
#     - { host: \"pool.ntp.org\", port: 123, protocol: ntp, purpose: time }
#   basic_functions:             # what must keep working without the network
#     - { description: \"local web UI\", port: 443 }
#   test_accounts:               # logins the lab may use
#     - { service: https, username: \"lab\", password: \"lab-password\" }
#   security_parameters:         # critical security parameters and how each is provisioned
#     - { name: \"SSH host key\", kind: ssh_host_key, provisioning: per_device, path: /etc/dropbear/dropbear_rsa_host_key }
#     - { name: \"cloud API token\", kind: token, provisioning: per_device }
";

fn yaml_str(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

fn one_line(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() > 100 {
        format!("{}…", s.chars().take(100).collect::<String>())
    } else {
        s
    }
}

/// Renders table B.1 as Markdown (`md`) or CSV (`csv`).
pub fn render_table(cat: &Catalog, st: &Statement, format: TableFormat) -> String {
    let mut out = String::new();
    match format {
        TableFormat::Markdown => {
            out.push_str(
                "| Clause | Provision | Status | Support | Detail |\n|---|---|---|---|---|\n",
            );
        }
        TableFormat::Csv => {
            out.push_str("clause,provision,title,status,support,detail,justification\n")
        }
    }
    for p in &cat.provisions {
        let e = st.provisions.get(&p.id);
        let support = e.and_then(|e| e.support).map(|s| s.as_str()).unwrap_or("");
        let detail = e.map(|e| e.detail.as_str()).unwrap_or("");
        let just = e.map(|e| e.justification.as_str()).unwrap_or("");
        match format {
            TableFormat::Markdown => {
                let mut d = detail.to_string();
                if !just.is_empty() {
                    d.push_str(&format!(" (justification: {just})"));
                }
                out.push_str(&format!(
                    "| {} | {} {} | {} | {} | {} |\n",
                    p.clause,
                    p.id,
                    md_cell(&p.title),
                    p.status_label(),
                    support,
                    md_cell(&d)
                ));
            }
            TableFormat::Csv => {
                out.push_str(
                    &[
                        p.clause.as_str(),
                        &p.id,
                        &p.title,
                        &p.status_label(),
                        support,
                        detail,
                        just,
                    ]
                    .map(csv_cell)
                    .join(","),
                );
                out.push('\n');
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Markdown,
    Csv,
}

/// Text that may come from evidence (firmware file names, banners, a maker's statement) made
/// inert in Markdown: HTML escaped, control characters (terminal escapes among them) shown as
/// `\u{..}`, line breaks as spaces.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// [`md_text`] for a table cell (`|` escaped too).
pub fn md_cell(s: &str) -> String {
    md_text(s).replace('|', "\\|")
}

pub fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The message [`unique_entries`] fails with; `parse` turns it into one naming both lines.
const DUPLICATE: &str = "duplicate provision entry ";

/// `provisions` as a map that refuses a key given twice (YAML's last-one-wins would silently
/// drop the maker's first answer).
fn unique_entries<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, StatementEntry>, D::Error> {
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = BTreeMap<String, StatementEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of provision ids to entries")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(k) = m.next_key::<String>()? {
                let v: StatementEntry = m.next_value()?;
                if out.insert(k.clone(), v).is_some() {
                    return Err(serde::de::Error::custom(format!("{DUPLICATE}{k} ")));
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}

/// Every provision key of the `provisions:` block (block style, as `ics init` writes it) with its
/// line and column: the keys at the block's first indentation.
fn provision_keys(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut indent: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with("provisions:") {
            in_block = true;
            continue;
        }
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if in_block && !line.starts_with(' ') {
            in_block = false;
        }
        if !in_block {
            continue;
        }
        let ind = line.len() - t.len();
        if ind != *indent.get_or_insert(ind) || !t.contains(':') {
            continue;
        }
        let key = t
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches(|c| c == '"' || c == '\'');
        out.push((key.to_string(), n + 1, ind + 1));
    }
    out
}

/// The lines where provision `id` is a key.
fn key_lines(text: &str, id: &str) -> Vec<usize> {
    provision_keys(text)
        .into_iter()
        .filter(|(k, _, _)| k == id)
        .map(|(_, line, _)| line)
        .collect()
}
