//! `iotassure tc report …` and `tc policy …`: the disclosure desk from the command line, for a
//! researcher filing and following a report and for a maker handling its reports.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde_json::{json, Value};

use super::tc::{enc, print, problem, query, Answer, Client};

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// File a report (anonymously without --token). Prints the tracking id and the follow-up
    /// secret, shown once: keep it.
    File {
        /// What it is about: a certificate id, or
        #[arg(long, group = "target")]
        certificate: Option<String>,
        /// a firmware image's SHA-256, or
        #[arg(long, group = "target")]
        firmware: Option<String>,
        /// a maker (organisation id or name).
        #[arg(long)]
        maker: Option<String>,
        #[arg(long)]
        title: String,
        /// The description (or --description-file).
        #[arg(long, conflicts_with = "description_file")]
        description: Option<String>,
        #[arg(long, value_name = "FILE")]
        description_file: Option<PathBuf>,
        #[arg(long, default_value = "")]
        affected_versions: String,
        /// A CVSS v3.x or v4.0 vector.
        #[arg(long)]
        cvss: Option<String>,
        /// How the maker can reach you.
        #[arg(long)]
        contact: Option<String>,
        /// A file to attach (up to 5, 10 MiB each).
        #[arg(long, value_name = "FILE")]
        attach: Vec<PathBuf>,
    },
    /// Follow a report by its secret; with --message, write on its thread.
    Follow {
        secret: String,
        #[arg(long)]
        message: Option<String>,
    },
    /// Reports, overdue first (maker: its own; researcher: those it filed; admin: all).
    List {
        #[arg(long)]
        state: Option<String>,
        /// Only reports with a deadline overdue now.
        #[arg(long)]
        overdue: bool,
    },
    /// One report with its deadlines and thread.
    Show { id: String },
    /// Move a report on: acknowledged, triaged (--valid), fix_planned, fixed (--fixed-version),
    /// disclosed, rejected, duplicate (--duplicate-of).
    Move {
        id: String,
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        valid: Option<bool>,
        #[arg(long)]
        fixed_version: Option<String>,
        #[arg(long)]
        duplicate_of: Option<String>,
    },
    /// Write on a report's thread (maker, admin, or its signed-in reporter).
    Message {
        id: String,
        #[arg(long)]
        body: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// The policy the desk applies to a maker's new reports, and where each figure comes from.
    Show { maker: String },
    /// Set a maker's policy (maker: its own; admin).
    Set {
        maker: String,
        #[arg(long)]
        ack_days: i64,
        #[arg(long)]
        update_days: i64,
        #[arg(long)]
        fix_days: i64,
        #[arg(long)]
        disclose_days: i64,
    },
}

pub(super) fn report(c: &Client, cmd: ReportCommand) -> Result<u8> {
    match cmd {
        ReportCommand::File {
            certificate,
            firmware,
            maker,
            title,
            description,
            description_file,
            affected_versions,
            cvss,
            contact,
            attach,
        } => {
            let description = match (description, description_file) {
                (Some(d), _) => d,
                (None, Some(p)) => std::fs::read_to_string(&p)
                    .with_context(|| format!("--description-file {}", p.display()))?,
                (None, None) => bail!("give --description or --description-file"),
            };
            let report = json!({
                "certificate": certificate, "firmware": firmware, "maker": maker,
                "title": title, "description": description, "affected_versions": affected_versions,
                "cvss": cvss, "contact": contact,
            });
            let v = if attach.is_empty() {
                c.json("POST", "/api/v1/reports", Some(report))?
            } else {
                multipart(c, &report, &attach)?
            };
            print(&v);
            eprintln!(
                "Keep the follow-up secret: it is shown once. Follow with: iotassure tc report follow {}",
                v.get("secret").and_then(Value::as_str).unwrap_or("SECRET")
            );
        }
        ReportCommand::Follow { secret, message } => {
            let path = format!("/api/v1/follow/{}", enc(&secret));
            let v = match message {
                Some(m) => c.json("POST", &format!("{path}/messages"), Some(json!({"body": m})))?,
                None => c.json("GET", &path, None)?,
            };
            print(&v);
        }
        ReportCommand::List { state, overdue } => {
            let q = query(&[("state", state), ("overdue", overdue.then(|| "true".into()))]);
            print(&c.json("GET", &format!("/api/v1/reports{q}"), None)?);
        }
        ReportCommand::Show { id } => {
            print(&c.json("GET", &format!("/api/v1/reports/{}", enc(&id)), None)?)
        }
        ReportCommand::Move {
            id,
            to,
            note,
            valid,
            fixed_version,
            duplicate_of,
        } => print(&c.json(
            "POST",
            &format!("/api/v1/reports/{}/transition", enc(&id)),
            Some(json!({"to": to, "note": note, "valid": valid, "fixed_version": fixed_version, "duplicate_of": duplicate_of})),
        )?),
        ReportCommand::Message { id, body } => print(&c.json(
            "POST",
            &format!("/api/v1/reports/{}/messages", enc(&id)),
            Some(json!({"body": body})),
        )?),
    }
    Ok(crate::EXIT_PASS)
}

pub(super) fn policy(c: &Client, cmd: PolicyCommand) -> Result<u8> {
    match cmd {
        PolicyCommand::Show { maker } => print(&c.json(
            "GET",
            &format!("/api/v1/orgs/{}/disclosure-policy", enc(&maker)),
            None,
        )?),
        PolicyCommand::Set {
            maker,
            ack_days,
            update_days,
            fix_days,
            disclose_days,
        } => print(&c.json(
            "PUT",
            &format!("/api/v1/orgs/{}/disclosure-policy", enc(&maker)),
            Some(json!({"ack_days": ack_days, "update_days": update_days, "fix_days": fix_days, "disclose_days": disclose_days})),
        )?),
    }
    Ok(crate::EXIT_PASS)
}

/// A filing with attachments: one `report` JSON part and an `attachment` part per file.
fn multipart(c: &Client, report: &Value, files: &[PathBuf]) -> Result<Value> {
    let boundary = format!("iotassure-desk-{}", std::process::id());
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\nContent-Type: application/json\r\n\r\n{report}\r\n"
    )
    .into_bytes();
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("--attach {}", f.display()))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().replace(['"', '\r', '\n'], ""))
            .unwrap_or_default();
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    match c.call_ct(
        "/api/v1/reports",
        body,
        &format!("multipart/form-data; boundary={boundary}"),
    )? {
        Answer::Ok(v) => Ok(v),
        Answer::Problem(s, v) => Err(problem(s, &v)),
    }
}
