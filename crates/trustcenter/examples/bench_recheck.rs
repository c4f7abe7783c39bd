//! Benchmark fixture and timer for the re-check target (DESIGN.md §6): 10,000 certified firmware
//! releases against 1,000 new advisories in ≤ 10 s, on SQLite (or `--db postgres://…`).
//!
//! The registry is filled through the same store (one transaction per 500 releases, rows as the
//! service writes them); the timed part is the real `recheck::load` the API calls: OSV
//! validation, storage, matching with the advisories crate, suspension of hit certificates and
//! the audit entries, in one transaction.
//!
//! cargo run --release -p iotassure-trustcenter --example bench_recheck -- [--firmware 10000] [--advisories 1000] [--db URL]

use std::time::Instant;

use iotassure_trustcenter::auth::Caller;
use iotassure_trustcenter::{recheck, server, util, Config, Role};
use serde_json::json;

/// Components a router image typically lists, with versions spread over real ranges.
const COMPONENTS: &[(&str, &[&str])] = &[
    (
        "busybox",
        &[
            "1.19.4", "1.22.1", "1.24.2", "1.30.1", "1.33.2", "1.35.0", "1.36.1",
        ],
    ),
    (
        "dropbear",
        &["2014.63", "2017.75", "2019.78", "2020.81", "2022.83"],
    ),
    (
        "openssl",
        &["1.0.1e", "1.0.2n", "1.1.1k", "1.1.1w", "3.0.13"],
    ),
    ("dnsmasq", &["2.45", "2.78", "2.80", "2.85", "2.89"]),
    ("lighttpd", &["1.4.35", "1.4.45", "1.4.55", "1.4.64"]),
    (
        "linux",
        &[
            "2.6.36", "3.10.14", "4.4.60", "4.14.180", "5.4.143", "5.10.176",
        ],
    ),
    ("hostapd", &["2.6", "2.9", "2.10"]),
    ("miniupnpd", &["1.9", "2.1", "2.2.1", "2.3.0"]),
    ("uclibc-ng", &["1.0.30", "1.0.38", "1.0.42"]),
    ("mosquitto", &["1.4.15", "1.6.12", "2.0.15"]),
    ("zlib", &["1.2.8", "1.2.11", "1.2.13"]),
    ("curl", &["7.29.0", "7.68.0", "7.88.1", "8.4.0"]),
];

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let n_fw: usize = arg("--firmware", "10000").parse()?;
    let n_adv: usize = arg("--advisories", "1000").parse()?;
    let tmp = tempfile::tempdir()?;
    // --data DIR: fill that folder's database (bench/admission.sh then serves it) and stop.
    let keep = std::env::args().any(|a| a == "--data");
    let data_dir = if keep {
        std::path::PathBuf::from(arg("--data", ""))
    } else {
        tmp.path().to_path_buf()
    };
    let db = arg(
        "--db",
        &format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("trustcenter.db").display()
        ),
    );
    let st = server::open(Config {
        data_dir: data_dir.clone(),
        db_url: Some(db),
        ..Default::default()
    })
    .await?;

    let t = Instant::now();
    let maker = util::new_id();
    let lab = util::new_id();
    let mut tx = st.store.write().await?;
    for (id, name, kind) in [(&maker, "Bench Maker", "maker"), (&lab, "Bench Lab", "lab")] {
        sqlx::query("INSERT INTO organisations (id, name, kind, webhook_url, created_at) VALUES ($1, $2, $3, NULL, $4)")
            .bind(id)
            .bind(name)
            .bind(kind)
            .bind(util::now())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let until = "2099-01-01T00:00:00.000000Z";
    for chunk in (0..n_fw).collect::<Vec<_>>().chunks(500) {
        let mut tx = st.store.write().await?;
        for &i in chunk {
            let (p, f, a, c) = (
                util::new_id(),
                util::new_id(),
                util::new_id(),
                util::new_id(),
            );
            let now = util::now();
            sqlx::query("INSERT INTO products (id, maker_id, model, hardware_version, created_at) VALUES ($1, $2, $3, 'A1', $4)")
                .bind(&p).bind(&maker).bind(format!("Model {i}")).bind(&now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO firmware (id, product_id, version, sha256, size, support_end, created_at) VALUES ($1, $2, '1.0', $3, 1, '2099-01-01', $4)")
                .bind(&f).bind(&p).bind(util::sha256_hex(format!("fw{i}").as_bytes())).bind(&now).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO assessments (id, firmware_id, submitted_by, report, report_sha256, profile, tool_version, generated_at, created_at) VALUES ($1, $2, $3, '{}', '', 'uk-psti', 'bench', $4, $4)")
                .bind(&a).bind(&f).bind(&lab).bind(&now).execute(&mut *tx).await?;
            for (k, (name, versions)) in COMPONENTS.iter().enumerate() {
                let v = versions[(i * 7 + k * 3) % versions.len()];
                sqlx::query("INSERT INTO components (firmware_id, name, version, purl, cpe) VALUES ($1, $2, $3, NULL, NULL)")
                    .bind(&f).bind(*name).bind(v).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO certificates (id, assessment_id, firmware_id, profile, level, verified, declared, status, status_reason, valid_from, valid_until, support_end, issued_by, issued_at, key_id, envelope, row_version) \
                         VALUES ($1, $2, $3, 'uk-psti', 3, 4, 0, 'valid', 'bench', $4, $5, '2099-01-01', $6, $4, '', '{}', 1)")
                .bind(&c).bind(&a).bind(&f).bind(&now).bind(until).bind(&lab).execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    if keep {
        let shas: Vec<String> = (0..n_fw)
            .map(|i| util::sha256_hex(format!("fw{i}").as_bytes()))
            .collect();
        std::fs::write(data_dir.join("shas.txt"), shas.join("\n") + "\n")?;
        eprintln!(
            "filled {n_fw} certified releases into {}",
            data_dir.display()
        );
        return Ok(());
    }
    eprintln!(
        "filled {n_fw} certified releases × {} components in {:.1} s",
        COMPONENTS.len(),
        t.elapsed().as_secs_f64()
    );

    // 1,000 advisories shaped like a real week of the feeds: most name packages no firmware here
    // ships (10% name one of the components above), and a component's advisory affects one
    // release branch (introduced at one version, fixed at the next), severities low to critical.
    // `--worst-case`: every advisory names a component, with `introduced 0` (all older versions).
    let worst = std::env::args().any(|a| a == "--worst-case");
    let vectors = [
        "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
        "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:L/I:L/A:N",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    ];
    let mut advisories = Vec::new();
    for i in 0..n_adv {
        let (name, events) = if worst {
            let (name, versions) = COMPONENTS[i % COMPONENTS.len()];
            let fixed = versions[(i / COMPONENTS.len()) % versions.len()];
            (
                name.to_string(),
                json!([{"introduced": "0"}, {"fixed": fixed}]),
            )
        } else if i % 10 == 0 {
            let (name, versions) = COMPONENTS[(i / 10) % COMPONENTS.len()];
            let k = (i / 10 / COMPONENTS.len()) % (versions.len() - 1);
            (
                name.to_string(),
                json!([{"introduced": versions[k]}, {"fixed": versions[k + 1]}]),
            )
        } else {
            (
                format!("other-package-{i}"),
                json!([{"introduced": "0"}, {"fixed": "2.0.0"}]),
            )
        };
        advisories.push(json!({
            "id": format!("BENCH-{i:05}"),
            "modified": "2026-12-01T00:00:00Z",
            "summary": "synthetic advisory for the re-check benchmark",
            "severity": [{"type": "CVSS_V3", "score": vectors[i % vectors.len()]}],
            "affected": [{"package": {"ecosystem": "Generic", "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}]
        }));
    }
    let body = serde_json::to_vec(&advisories)?;
    let who = Caller {
        role: Role::Certifier,
        org: Some(lab.clone()),
        token_id: Some("bench".into()),
    };
    let t = Instant::now();
    let loaded = recheck::load(&st, &who, &body)
        .await
        .map_err(|p| anyhow::anyhow!(p.detail))?;
    let first = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = recheck::load(&st, &who, &body)
        .await
        .map_err(|p| anyhow::anyhow!(p.detail))?;
    let second = t.elapsed().as_secs_f64();
    println!(
        "re-check: {} certified releases × {} advisories: {:.2} s ({} new matches, {} certificates suspended); again, nothing new: {:.2} s ({} new)",
        loaded.run.firmware, loaded.run.advisories, first, loaded.run.new_matches, loaded.run.suspended, second, again.run.new_matches
    );
    Ok(())
}
