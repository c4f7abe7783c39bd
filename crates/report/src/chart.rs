//! An inline SVG chart of verdicts per clause (stacked bars), so the HTML needs no script.

use std::fmt::Write;

use iotassure_assess::model::{Counts, Report};
use iotassure_core::catalog::catalog;

/// The colours of the report's badges. A PASS that rests on the maker's declaration alone is a
/// pale green, never the solid green of a verified one.
const FAIL: &str = "#c62828";
const JUSTIFIED: &str = "#6d4c41";
const INCONCLUSIVE: &str = "#f9a825";
const PASS: &str = "#2e7d32";
const DECLARED: &str = "#81c784";
const NA: &str = "#9e9e9e";

pub fn per_clause(r: &Report) -> String {
    let cat = catalog();
    let rows: Vec<(String, String, Counts)> = cat
        .clauses
        .iter()
        .map(|c| {
            let mut counts = Counts::default();
            for v in r
                .verdicts
                .iter()
                .filter(|v| cat.provision(&v.id).is_some_and(|p| p.clause == c.id))
            {
                counts.add(v);
            }
            (c.id.clone(), c.title.clone(), counts)
        })
        .collect();
    let max = rows
        .iter()
        .map(|(_, _, c)| c.total())
        .max()
        .unwrap_or(1)
        .max(1);
    let (label_w, bar_w, row_h) = (330.0, 420.0, 22.0);
    let height = rows.len() as f64 * row_h + 40.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" role="img" aria-label="Verdicts per clause" font-family="sans-serif" font-size="12">"#,
        label_w + bar_w + 60.0
    );
    for (i, (id, title, c)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let _ = write!(
            s,
            r#"<text x="0" y="{}">{} {}</text>"#,
            y + 14.0,
            esc(id),
            esc(&shorten(title, 44))
        );
        let mut x = label_w;
        for (n, class, name) in [
            (c.fail, FAIL, "FAIL"),
            (c.justified, JUSTIFIED, "JUSTIFIED"),
            (c.inconclusive, INCONCLUSIVE, "INCONCLUSIVE"),
            (c.pass - c.pass_declared, PASS, "PASS (verified)"),
            (c.pass_declared, DECLARED, "PASS (declared only)"),
            (c.not_applicable, NA, "N/A"),
        ] {
            if n == 0 {
                continue;
            }
            let w = bar_w * n as f64 / max as f64;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="{}" fill="{class}"><title>{id}: {n} {name}</title></rect>"#,
                row_h - 6.0
            );
            if w > 14.0 {
                let _ = write!(
                    s,
                    r##"<text x="{:.1}" y="{}" fill="{}" text-anchor="middle">{n}</text>"##,
                    x + w / 2.0,
                    y + 12.0,
                    if class == DECLARED || class == INCONCLUSIVE {
                        "#212121"
                    } else {
                        "#fff"
                    }
                );
            }
            x += w;
        }
    }
    let ly = rows.len() as f64 * row_h + 24.0;
    let mut lx = 0.0;
    for (color, name) in [
        (FAIL, "FAIL"),
        (JUSTIFIED, "JUSTIFIED"),
        (INCONCLUSIVE, "INCONCLUSIVE"),
        (PASS, "PASS verified"),
        (DECLARED, "PASS declared"),
        (NA, "N/A"),
    ] {
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{ly}">{name}</text>"#,
            ly - 9.0,
            lx + 14.0
        );
        lx += 14.0 + name.len() as f64 * 7.5 + 12.0;
    }
    s.push_str("</svg>");
    s
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n).collect::<String>())
    } else {
        s.to_string()
    }
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
