//! The maker's VEX statements (OpenVEX 0.2, or a CycloneDX 1.4+ document with
//! `vulnerabilities[].analysis`), read in and applied by the advisory pass.
//!
//! A statement is keyed on the vulnerability **and** the component (purl or CPE, with its
//! version when the statement gives one) **and** the product: never on the CVE id alone, so a
//! maker's "not affected" for BusyBox in one product does not silence the same CVE in its
//! OpenSSL, nor in another product. `not_affected` (with its justification) and `fixed` set the
//! match aside and keep it visible as such; `affected` and `under_investigation` are recorded
//! on the finding.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::feeds::{split_cpe, split_purl};
use crate::model::ComponentInfo;
use crate::Error;

/// A VEX document is a statement list, never large; this bounds a hostile one.
const MAX_VEX: u64 = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexState {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl VexState {
    pub fn as_str(self) -> &'static str {
        match self {
            VexState::NotAffected => "not_affected",
            VexState::Affected => "affected",
            VexState::Fixed => "fixed",
            VexState::UnderInvestigation => "under_investigation",
        }
    }

    /// True when the statement takes the vulnerability off the product.
    pub fn suppresses(self) -> bool {
        matches!(self, VexState::NotAffected | VexState::Fixed)
    }
}

/// One statement: a vulnerability, the components it is about, the product they are in.
#[derive(Debug, Clone, Serialize)]
pub struct VexStatement {
    pub vulnerability: String,
    pub aliases: Vec<String>,
    /// Component identifiers (purl or CPE).
    pub components: Vec<String>,
    /// The product identifiers the components are in (empty: the components are the products).
    pub products: Vec<String>,
    pub state: VexState,
    pub justification: Option<String>,
    pub detail: Option<String>,
    /// The file it came from.
    pub file: String,
}

/// Every statement of the VEX documents given.
#[derive(Debug, Clone, Default)]
pub struct Vex {
    pub statements: Vec<VexStatement>,
}

impl Vex {
    /// Reads one OpenVEX or CycloneDX VEX document and adds its statements.
    pub fn load(&mut self, path: &Path) -> Result<usize, Error> {
        let name = path.display().to_string();
        let bad = |message: String| Error::Feed {
            path: name.clone(),
            message,
        };
        let len = std::fs::metadata(path)
            .map_err(|e| Error::Io {
                path: name.clone(),
                source: e,
            })?
            .len();
        if len > MAX_VEX {
            return Err(bad(format!(
                "{len} bytes; VEX documents over {} MiB are refused",
                MAX_VEX >> 20
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: name.clone(),
            source: e,
        })?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            bad(format!(
                "not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        let before = self.statements.len();
        // Canonical's OpenVEX puts the document fields under `metadata`.
        let context = v
            .get("@context")
            .or_else(|| v.get("metadata").and_then(|m| m.get("@context")))
            .and_then(Value::as_str);
        if context.is_some_and(|c| c.contains("openvex")) {
            self.openvex(&v, &name).map_err(bad)?;
        } else if v.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
            self.cyclonedx(&v, &name).map_err(bad)?;
        } else {
            return Err(bad(
                "neither an OpenVEX document (@context …openvex…) nor a CycloneDX BOM".into(),
            ));
        }
        Ok(self.statements.len() - before)
    }

    fn openvex(&mut self, v: &Value, file: &str) -> Result<(), String> {
        let statements = v
            .get("statements")
            .and_then(Value::as_array)
            .ok_or("no `statements`")?;
        for (i, s) in statements.iter().enumerate() {
            let at = format!("statements[{i}]");
            let vuln = s
                .get("vulnerability")
                .ok_or(format!("{at}: no vulnerability"))?;
            let (id, aliases) = match vuln {
                Value::String(x) => (x.clone(), Vec::new()),
                o => (
                    o.get("name")
                        .and_then(Value::as_str)
                        .ok_or(format!("{at}: vulnerability without a name"))?
                        .to_string(),
                    strings(o.get("aliases")),
                ),
            };
            let state = match s.get("status").and_then(Value::as_str) {
                Some("not_affected") => VexState::NotAffected,
                Some("affected") => VexState::Affected,
                Some("fixed") => VexState::Fixed,
                Some("under_investigation") => VexState::UnderInvestigation,
                other => return Err(format!("{at}: status {other:?} is not an OpenVEX status")),
            };
            let justification = s
                .get("justification")
                .and_then(Value::as_str)
                .map(str::to_string);
            if state == VexState::NotAffected
                && justification.is_none()
                && s.get("impact_statement").is_none()
            {
                return Err(format!(
                    "{at}: not_affected needs a justification or an impact_statement (OpenVEX)"
                ));
            }
            let mut products = Vec::new();
            let mut components = Vec::new();
            for p in s
                .get("products")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let pid = ident(p);
                let subs: Vec<String> = p
                    .get("subcomponents")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .flat_map(ident)
                    .collect();
                if subs.is_empty() {
                    components.extend(pid);
                } else {
                    products.extend(pid);
                    components.extend(subs);
                }
            }
            if components.is_empty() {
                return Err(format!("{at}: names no product or component (a statement on a CVE alone is not applied)"));
            }
            self.statements.push(VexStatement {
                vulnerability: id,
                aliases,
                components,
                products,
                state,
                justification,
                detail: s
                    .get("impact_statement")
                    .or(s.get("action_statement"))
                    .and_then(Value::as_str)
                    .map(str::to_string),
                file: file.to_string(),
            });
        }
        Ok(())
    }

    fn cyclonedx(&mut self, v: &Value, file: &str) -> Result<(), String> {
        let mut refs = std::collections::HashMap::new();
        let mut collect = |c: &Value| {
            if let Some(r) = c.get("bom-ref").and_then(Value::as_str) {
                let ids: Vec<String> = ["purl", "cpe"]
                    .iter()
                    .filter_map(|k| c.get(*k).and_then(Value::as_str).map(str::to_string))
                    .collect();
                refs.insert(r.to_string(), ids);
            }
        };
        let subject = v.get("metadata").and_then(|m| m.get("component"));
        if let Some(s) = subject {
            collect(s);
        }
        for c in v
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect(c);
        }
        let products: Vec<String> = subject.map(ident).unwrap_or_default();
        let vulns = v
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .ok_or("no `vulnerabilities`")?;
        for (i, x) in vulns.iter().enumerate() {
            let at = format!("vulnerabilities[{i}]");
            let id = x
                .get("id")
                .and_then(Value::as_str)
                .ok_or(format!("{at}: no id"))?
                .to_string();
            let Some(a) = x.get("analysis") else { continue };
            let state = match a.get("state").and_then(Value::as_str) {
                Some("not_affected") | Some("false_positive") => VexState::NotAffected,
                Some("resolved") | Some("resolved_with_pedigree") => VexState::Fixed,
                Some("exploitable") => VexState::Affected,
                Some("in_triage") => VexState::UnderInvestigation,
                other => {
                    return Err(format!(
                        "{at}: analysis.state {other:?} is not a CycloneDX state"
                    ))
                }
            };
            let mut components = Vec::new();
            for af in x
                .get("affects")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let r = af.get("ref").and_then(Value::as_str).unwrap_or("");
                // A BOM-Link (`urn:cdx:…#ref`) names a component of another BOM by its ref.
                let local = r.rsplit('#').next().unwrap_or(r);
                match refs.get(local).or(refs.get(r)) {
                    Some(ids) => components.extend(ids.iter().cloned()),
                    None if r.starts_with("pkg:") || r.starts_with("cpe:") => {
                        components.push(r.to_string())
                    }
                    None => {
                        return Err(format!(
                            "{at}: affects ref `{r}` names no component of the document"
                        ))
                    }
                }
            }
            if components.is_empty() {
                return Err(format!(
                    "{at}: affects no component (a statement on a CVE alone is not applied)"
                ));
            }
            self.statements.push(VexStatement {
                vulnerability: id,
                aliases: Vec::new(),
                components,
                products: products.clone(),
                state,
                justification: a
                    .get("justification")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                detail: a.get("detail").and_then(Value::as_str).map(str::to_string),
                file: file.to_string(),
            });
        }
        Ok(())
    }

    /// The statement about vulnerability `id` (or one of `aliases`) in component `c` at `version`
    /// of `product`, when there is one. A statement naming a product applies only when the
    /// assessed product is given and is that product.
    /// `own` are the purls the evidence itself gave the component (a distribution package's
    /// `pkg:deb/ubuntu/busybox@…`), matched exactly as well.
    pub fn find(
        &self,
        ids: &[&str],
        c: &ComponentInfo,
        version: &str,
        own: &[String],
        product: Option<&str>,
    ) -> Option<&VexStatement> {
        self.statements.iter().find(|s| {
            let vuln = ids
                .iter()
                .any(|i| *i == s.vulnerability || s.aliases.iter().any(|a| a == i));
            let comp = s
                .components
                .iter()
                .any(|x| names_component(x, c, version) || own.iter().any(|o| same_purl(x, o)));
            let prod = s.products.is_empty()
                || product.is_some_and(|p| s.products.iter().any(|x| same_product(x, p)));
            vuln && comp && prod
        })
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A product's or component's identifiers: `@id`, `identifiers.purl`/`cpe23`, `purl`, `cpe`.
fn ident(p: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for k in ["@id", "purl", "cpe"] {
        if let Some(s) = p.get(k).and_then(Value::as_str) {
            v.push(s.to_string());
        }
    }
    if let Some(ids) = p.get("identifiers") {
        for k in ["purl", "cpe23", "cpe22"] {
            if let Some(s) = ids.get(k).and_then(Value::as_str) {
                v.push(s.to_string());
            }
        }
    }
    v
}

/// Whether identifier `x` (purl or CPE) names component `c` at `version`.
fn names_component(x: &str, c: &ComponentInfo, version: &str) -> bool {
    if x.starts_with("pkg:") {
        let (Some((t, ns, n)), Some((ct, cns, cn))) = (split_purl(x), split_purl(&c.purl)) else {
            return false;
        };
        let v = x
            .split(['?', '#'])
            .next()
            .and_then(|p| p.rsplit_once('@'))
            .map(|(_, v)| v);
        // A versionless purl means every version; otherwise the version must be this one.
        return t == ct
            && ns == cns
            && (n == cn || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(&n)) || n == c.name)
            && v.is_none_or(|v| v == version || v == crate::model::purl_escape(version));
    }
    if let Some((_, vendor, product, v, _)) = split_cpe(x) {
        return c.cpe.as_deref() == Some(&format!("{vendor}:{product}"))
            && (v == "*" || v == "-" || v == version);
    }
    false
}

/// Two purls name the same package version (qualifiers such as `arch` aside).
fn same_purl(x: &str, own: &str) -> bool {
    let ver = |p: &str| {
        p.split(['?', '#'])
            .next()
            .and_then(|b| b.rsplit_once('@'))
            .map(|(_, v)| v.to_string())
    };
    x.starts_with("pkg:")
        && split_purl(x).is_some()
        && split_purl(x) == split_purl(own)
        && ver(x).is_some()
        && ver(x) == ver(own)
}

fn same_product(x: &str, p: &str) -> bool {
    let base = |s: &str| s.split(['?', '#']).next().unwrap_or(s).to_ascii_lowercase();
    let (a, b) = (base(x), base(p));
    a == b || a.split('@').next() == Some(b.as_str()) || b.split('@').next() == Some(a.as_str())
}
