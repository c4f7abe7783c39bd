//! Markdown: a summary, table B.1 with verdicts, the roll-ups, and the findings with evidence.

use std::fmt::Write;

use iotassure_assess::model::Report;
use iotassure_assess::statement::{md_cell, md_text};

use crate::basis_str;

/// Table B.1 with the verdicts: one row per EN 303 645 provision.
pub fn table_b1(r: &Report) -> String {
    let mut s = String::new();
    s.push_str("| Provision | Status | Stated support | Verdict | Basis | Reason |\n|---|---|---|---|---|---|\n");
    for v in r.verdicts.iter().filter(|v| v.scheme == "en303645") {
        let stated = v
            .statement
            .as_ref()
            .and_then(|e| e.support)
            .map(|s| s.as_str())
            .unwrap_or("");
        // A PASS resting on the declaration alone is not bold, and says so.
        let verdict = if crate::front::class(v) == "declared" {
            crate::front::label(v)
        } else {
            format!("**{}**", v.label())
        };
        let _ = writeln!(
            s,
            "| {} {} | {} | {} | {} | {} | {} |",
            v.id,
            md_cell(&v.title),
            v.status_label,
            stated,
            verdict,
            basis_str(v.basis),
            md_cell(&v.reason)
        );
    }
    s
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# iotassure assessment report\n");
    if let Some(e) = &r.engagement {
        let _ = writeln!(s, "- **Report:** {}", md_text(&e.report_id));
        if !e.lab.is_empty() {
            let _ = writeln!(s, "- **Lab:** {}", md_text(&e.lab));
        }
        if !e.client.is_empty() {
            let _ = writeln!(s, "- **Client:** {}", md_text(&e.client));
        }
    }
    let p = &r.subject.product;
    if !p.model.is_empty() || !p.manufacturer.is_empty() {
        let _ = writeln!(
            s,
            "- **Product:** {} {} (hardware {}, firmware {})",
            md_text(&p.manufacturer),
            md_text(&p.model),
            md_text(or_dash(&p.hardware_version)),
            md_text(or_dash(&p.firmware_version))
        );
    }
    if let Some(fw) = &r.subject.firmware {
        let _ = writeln!(
            s,
            "- **Firmware image:** {} ({} bytes, sha256 `{}`)",
            md_code(&fw.input),
            fw.size,
            or_dash(&fw.sha256)
        );
        let _ = writeln!(
            s,
            "- **Unpacked:** {} files, {} directories, {} symlinks, {} special{}",
            fw.files,
            fw.dirs,
            fw.symlinks,
            fw.special,
            if fw.partial {
                " — **partial** (see problems below)"
            } else {
                ""
            }
        );
    }
    if let Some(d) = &r.subject.device {
        let _ = writeln!(s, "- **Live device:** {}", md_text(d));
    }
    for d in &r.subject.documents {
        let _ = writeln!(s, "- **Document:** {}", md_text(d));
    }
    if let Some(st) = &r.statement {
        let _ = writeln!(
            s,
            "- **Conformance statement:** {} ({} diagnostics)",
            md_code(&st.file),
            st.diagnostics.len()
        );
    }
    let _ = writeln!(
        s,
        "- **Generated:** {} by {} {} (catalogue {})",
        r.generated_at, r.tool.name, r.tool.version, r.tool.catalog_version
    );

    let _ = writeln!(s, "\n## Summary\n");
    if let Some(sel) = r.selected() {
        let _ = writeln!(
            s,
            "Selected profile **{}** ({}): **{}**\n",
            sel.id,
            sel.title,
            sel.outcome.as_str()
        );
    }
    let c = r.en_counts();
    let _ = writeln!(
        s,
        "All {} EN 303 645 provisions: {}.\n",
        c.total(),
        c.summary()
    );
    let _ = writeln!(
        s,
        "A *declared* PASS rests on the maker's statement alone; a *verified* one on evidence. JUSTIFIED is a recommendation not met, with the justification clause 4 asks for: not a failure, and accepted by the profiles whose rule allows it (en303645-mr).\n"
    );
    let _ = writeln!(
        s,
        "| Profile | Outcome | Pass (of them declared) | Fail | Justified | Inconclusive | N/A |\n|---|---|---|---|---|---|---|"
    );
    for p in &r.profiles {
        let _ = writeln!(
            s,
            "| {} | {} | {} ({}) | {} | {} | {} | {} |",
            p.id,
            p.outcome.as_str(),
            p.counts.pass,
            p.counts.pass_declared,
            p.counts.fail,
            p.counts.justified,
            p.counts.inconclusive,
            p.counts.not_applicable
        );
    }
    let _ = writeln!(s, "\n## Scope\n");
    for line in crate::front::scope(r) {
        let _ = writeln!(s, "- {}", md_text(&line));
    }
    let _ = writeln!(s, "\n## Limitations\n");
    for line in crate::front::limitations(r) {
        let _ = writeln!(s, "- {}", md_text(&line));
    }

    let _ = writeln!(
        s,
        "\n## Device profile (facts deciding the Annex B conditions)\n"
    );
    if r.facts.is_empty() {
        let _ = writeln!(s, "No facts declared or inferred.");
    } else {
        let _ = writeln!(s, "| Fact | Value | Origin | Why |\n|---|---|---|---|");
        for f in &r.facts {
            let why = match &f.contradiction {
                Some(c) => format!("{} — **contradiction:** {c}", f.reason),
                None => f.reason.clone(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:?} | {} |",
                f.key,
                f.value,
                f.origin,
                md_cell(&why)
            );
        }
    }

    let _ = writeln!(
        s,
        "\n## Table B.1 (implementation conformance statement) with verdicts\n"
    );
    s.push_str(&table_b1(r));

    let own: Vec<_> = r
        .verdicts
        .iter()
        .filter(|v| v.scheme != "en303645")
        .collect();
    if !own.is_empty() {
        let _ = writeln!(s, "\n## Requirements of other schemes\n");
        let _ = writeln!(s, "| Requirement | Verdict | Reason |\n|---|---|---|");
        for v in own {
            let _ = writeln!(
                s,
                "| {} {} | **{}** | {} |",
                v.id,
                md_cell(&v.title),
                crate::front::label(v),
                md_cell(&v.reason)
            );
        }
    }

    for p in r.profiles.iter().filter(|p| !p.lines.is_empty()) {
        let _ = writeln!(s, "\n## {}\n", p.title);
        let _ = writeln!(
            s,
            "| Item | Verdict | Pass (of them declared) | Fail | Justified | Inconclusive | N/A |\n|---|---|---|---|---|---|---|"
        );
        for l in &p.lines {
            let _ = writeln!(
                s,
                "| {} {} | **{}** | {} ({}) | {} | {} | {} | {} |",
                l.item,
                md_cell(&l.title),
                l.verdict.as_str(),
                l.counts.pass,
                l.counts.pass_declared,
                l.counts.fail,
                l.counts.justified,
                l.counts.inconclusive,
                l.counts.not_applicable
            );
        }
    }

    let _ = writeln!(s, "\n## Findings\n");
    let (order, number) = crate::front::reading_order(r);
    for i in order {
        let f = &r.findings[i];
        let _ = writeln!(
            s,
            "### [{}] {} — {}\n\n- check `{}` ({}), provisions {}, severity {}{}",
            number[i],
            format!("{:?}", f.outcome).to_uppercase(),
            md_text(&f.title),
            f.check,
            f.source.as_str(),
            f.provisions.join(", "),
            f.severity.as_str(),
            if f.heuristic { ", heuristic" } else { "" }
        );
        if let Some(d) = &f.detail {
            let _ = writeln!(s, "- {}", md_text(d));
        }
        for e in &f.evidence {
            let _ = writeln!(
                s,
                "- at {}: {}",
                md_code(&e.location.cite()),
                md_code(&e.excerpt)
            );
        }
        s.push('\n');
    }

    if let Some(fw) = &r.subject.firmware {
        let _ = writeln!(s, "## Firmware layout\n\n| Parent | Offset | Size | Format | Description |\n|---|---|---|---|---|");
        for l in &fw.layout {
            let _ = writeln!(
                s,
                "| {} | 0x{:x} | {} | {} | {} |",
                md_cell(&l.parent),
                l.offset,
                l.size,
                md_cell(&l.format),
                md_cell(&l.description)
            );
        }
        if !fw.problems.is_empty() || !fw.limits_hit.is_empty() {
            let _ = writeln!(s, "\n### Unpack problems\n");
            for p in &fw.problems {
                let _ = writeln!(
                    s,
                    "- {} @0x{:x} {}: {}",
                    md_text(&p.parent),
                    p.offset,
                    md_text(&p.format),
                    md_text(&p.message)
                );
            }
            for l in &fw.limits_hit {
                let _ = writeln!(s, "- limit: {}", md_text(l));
            }
        }
    }
    s
}

/// A code span that no content can leave: the fence is longer than any run of backticks in
/// it (CommonMark), and control characters are replaced.
fn md_code(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in clean.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{clean}{pad}{fence}")
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}
