//! `iotassure catalog`: the provisions, conditions, schemes and profiles compiled into the tool.

use anyhow::{bail, Result};
use clap::{Subcommand, ValueEnum};
use iotassure_core::catalog::{catalog, oscal_catalog};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List provisions (default), or the items of a scheme, or the profiles.
    List {
        /// A scheme id (uk-cop, uk-psti, tec, owasp-iot-2018, bsi-checklist, en18031, cra-annex-i),
        /// `profiles`, or `conditions`.
        #[arg(long)]
        scheme: Option<String>,
        /// Print JSON instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Show one provision (e.g. 5.1-1) with its conditions and crosswalk, or a scheme item
    /// (e.g. uk-cop:1, TEC-3-rollback), or a profile.
    Show {
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export the catalogue: the full data as JSON, or the provisions as an OSCAL 1.1 catalog.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Json,
    Oscal,
}

pub fn run(cmd: Command) -> Result<u8> {
    let cat = catalog();
    match cmd {
        Command::List { scheme, json: true } => {
            let v = match scheme.as_deref() {
                None => serde_json::to_value(&cat.provisions)?,
                Some("profiles") => serde_json::Value::Array(
                    cat.profiles
                        .iter()
                        .map(|p| profile_json(cat, p))
                        .collect::<Result<_>>()?,
                ),
                Some("conditions") => serde_json::to_value(&cat.conditions)?,
                Some(s) => match cat.scheme(s) {
                    Some(scheme) => serde_json::to_value(scheme)?,
                    None => bail!(
                        "unknown scheme `{s}`; see `iotassure catalog list --scheme profiles`"
                    ),
                },
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Command::Show { id, json: true } => {
            let v = if let Some(p) = cat.provision(&id) {
                serde_json::json!({"provision": p, "crosswalk": cat.crosswalk(&p.id)})
            } else if let Some(p) = cat.profile(&id) {
                profile_json(cat, p)?
            } else if let Some(i) = cat.scheme_item(&id) {
                serde_json::json!({"item": i, "provisions": cat.item_provisions(i)})
            } else {
                return show(&id).map(|()| crate::EXIT_PASS);
            };
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Command::List { scheme: None, .. } => {
            println!("{:<8} {:<10} {:<9} TITLE", "ID", "STATUS", "CLAUSE");
            for p in &cat.provisions {
                println!(
                    "{:<8} {:<10} {:<9} {}",
                    p.id,
                    p.status_label(),
                    p.clause,
                    p.title
                );
            }
            let m = cat
                .provisions
                .iter()
                .filter(|p| p.status == iotassure_core::Status::M)
                .count();
            println!(
                "\n{} provisions ({} mandatory, {} recommended) of {}",
                cat.provisions.len(),
                m,
                cat.provisions.len() - m,
                cat.standard
            );
        }
        Command::List {
            scheme: Some(s), ..
        } if s == "profiles" => {
            for p in &cat.profiles {
                println!("{:<14} {}\n{:<14} {}", p.id, p.title, "", p.description);
            }
        }
        Command::List {
            scheme: Some(s), ..
        } if s == "conditions" => {
            for c in &cat.conditions {
                println!(
                    "{:>2}  {:<58} fact: {}{}",
                    c.id,
                    c.text,
                    if c.negated { "not " } else { "" },
                    c.fact
                );
            }
        }
        Command::List {
            scheme: Some(s), ..
        } => {
            let Some(scheme) = cat.scheme(&s) else {
                bail!(
                    "unknown scheme `{s}`; known: {}, profiles, conditions",
                    cat.schemes
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            println!("{} ({})", scheme.title, scheme.source);
            for i in &scheme.items {
                let target = if i.requirement.is_some() {
                    format!("own requirement ({})", i.parent.as_deref().unwrap_or("-"))
                } else {
                    cat.item_provisions(i).join(", ")
                };
                println!("{:<22} {:<55} → {}", i.id, i.title, target);
            }
        }
        Command::Show { id, .. } => show(&id)?,
        Command::Export {
            format: ExportFormat::Json,
        } => println!("{}", serde_json::to_string_pretty(cat)?),
        Command::Export {
            format: ExportFormat::Oscal,
        } => println!("{}", serde_json::to_string_pretty(&oscal_catalog(cat))?),
    }
    Ok(crate::EXIT_PASS)
}

/// A profile with its requirements resolved.
fn profile_json(
    cat: &iotassure_core::catalog::Catalog,
    p: &iotassure_core::catalog::Profile,
) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(p)?;
    v["requirements"] = serde_json::to_value(cat.profile_requirements(p))?;
    Ok(v)
}

fn show(id: &str) -> Result<()> {
    let cat = catalog();
    if let Some(p) = cat.provision(id) {
        let clause = cat
            .clause(&p.clause)
            .map(|c| c.title.as_str())
            .unwrap_or("");
        println!("{} {}  [{}]", p.id, p.title, p.status_label());
        println!("Clause {}: {clause}\n", p.clause);
        println!("Summary:     {}", p.summary);
        println!("Requirement: {}", p.requirement);
        for c in &p.conditions {
            if let Some(cond) = cat.condition(*c) {
                println!(
                    "Condition {}: {} (fact `{}`{})",
                    cond.id,
                    cond.text,
                    cond.fact,
                    if cond.negated { ", negated" } else { "" }
                );
            }
        }
        let ev: Vec<String> = p
            .evidence
            .iter()
            .map(|e| format!("{e:?}").to_lowercase())
            .collect();
        println!("Evidence:    {}", ev.join(", "));
        println!("Crosswalk:");
        for (scheme, items) in cat.crosswalk(&p.id) {
            let label = cat
                .scheme(&scheme)
                .map(|s| s.label.as_str())
                .unwrap_or(&scheme);
            println!("  {label:<9} {}", items.join(", "));
        }
        return Ok(());
    }
    if let Some(p) = cat.profile(id) {
        println!(
            "{}: {}\n{}\nrule: {:?}\nrequirements: {}",
            p.id,
            p.title,
            p.description,
            p.rule,
            cat.profile_requirements(p).join(", ")
        );
        return Ok(());
    }
    let item = cat
        .scheme_item(id)
        .map(|i| (id.split(':').next().unwrap_or(""), i))
        .or_else(|| {
            cat.schemes.iter().find_map(|s| {
                s.items
                    .iter()
                    .find(|i| i.id == id && i.requirement.is_some())
                    .map(|i| (s.id.as_str(), i))
            })
        });
    if let Some((scheme, i)) = item {
        println!("{scheme}:{} {}\n{}", i.id, i.title, i.text);
        if i.requirement.is_some() {
            println!(
                "Own requirement of {scheme}; related EN provisions: {}",
                i.provisions.join(", ")
            );
        } else {
            println!("Maps to: {}", cat.item_provisions(i).join(", "));
        }
        return Ok(());
    }
    bail!("`{id}` is not a provision (e.g. 5.1-1), profile (e.g. uk-psti) or scheme item (e.g. uk-cop:1); see `iotassure catalog list`")
}
