//! Update mechanism (5.3-1, 5.3-2, 5.3-7, 5.3-9, 5.3-10; TEC rollback): sysupgrade, opkg and
//! custom OTA scripts; signature verification (usign/signify keys, opkg `check_signature`,
//! fwtool/ucert metadata, RSA or ECDSA verify calls in update binaries); `sysupgrade -n` from
//! removable media without a check; update URLs over plain HTTP; MD5- or CRC-only integrity;
//! anti-rollback evidence. Establishes the update facts (mechanism, network delivery,
//! automatic updates).

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{
    Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};

use super::Check;
use crate::text::{excerpt, strip_comment};
use crate::{Ctx, Root};

pub const CHECK: Check = Check {
    id: "5.3-9-fw-update",
    provisions: &[
        "5.3-1",
        "5.3-2",
        "5.3-7",
        "5.3-9",
        "5.3-10",
        "5.7-1",
        "TEC-3-rollback",
    ],
    run,
};

/// Words in update code that show a signature check.
const VERIFY_WORDS: &[&str] = &[
    "usign",
    "signify",
    "ucert",
    "verify_signature",
    "openssl dgst -verify",
    "openssl dgst -sha256 -verify",
    "gpg --verify",
    "gpgv",
    "check_signature",
    "verify_image_sig",
    "rsa_verify",
    "ecdsa_verify",
];
/// Whether a line of update code checks a signature. `fwtool` counts only when it extracts
/// the signature (`-s`): `fwtool -i` reads the JSON metadata (supported devices), which any
/// image builder can write, so a metadata check alone is not an integrity check.
fn verifies(line: &str) -> bool {
    VERIFY_WORDS.iter().any(|w| line.contains(w))
        || (line.contains("fwtool") && line.split_whitespace().any(|w| w == "-s"))
}

const VERIFY_IMPORTS: &[&str] = &[
    "RSA_verify",
    "ECDSA_verify",
    "ECDSA_do_verify",
    "EVP_DigestVerifyFinal",
    "EVP_VerifyFinal",
    "EVP_PKEY_verify",
    "mbedtls_pk_verify",
    "mbedtls_rsa_pkcs1_verify",
    "wc_RsaSSL_Verify",
    "wc_ecc_verify_hash",
    "ed25519_verify",
    "crypto_sign_open",
];
const DIGEST_ONLY_WORDS: &[&str] = &[
    "md5sum",
    "crc32",
    "cksum",
    "MD5Final",
    "md5VerifyDigest",
    "VerifyDigest",
];

fn push_fact(obs: &mut Observations, key: FactKey, value: bool, reason: String, ev: &Evidence) {
    if !obs.facts.iter().any(|f| f.key == key && f.value == value) {
        obs.facts.push(InferredFact {
            key,
            value,
            reason,
            evidence: vec![ev.clone()],
        });
    }
}

struct Mechanism {
    name: String,
    ev: Evidence,
    network: bool,
}

fn is_update_script(path: &str, text: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let named = p.contains("upgrade")
        || p.contains("update")
        || p.contains("ota")
        || p.contains("firmware")
        || p.contains("flash");
    let writes = text.contains("mtd write")
        || text.contains("mtd -r write")
        || text.contains("sysupgrade")
        || text.contains("dd if=") && text.contains("of=/dev/mtd");
    named && writes
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        let first = obs.findings.len();
        let mut mechs: Vec<Mechanism> = Vec::new();
        let ev_at = |p: &str, line: Option<u32>, ex: String| Evidence {
            location: root.location(p, line, None),
            excerpt: ex,
        };
        for (p, name) in [
            ("/sbin/sysupgrade", "sysupgrade"),
            ("/usr/sbin/sysupgrade", "sysupgrade"),
            ("/bin/opkg", "opkg"),
            ("/usr/bin/opkg", "opkg"),
            ("/bin/ipkg", "ipkg"),
            ("/usr/bin/swupdate", "swupdate"),
            ("/usr/bin/rauc", "rauc"),
            ("/usr/bin/mender", "mender"),
            ("/usr/bin/apt-get", "apt"),
            ("/sbin/apk", "apk"),
        ] {
            if root.exists(p) && !mechs.iter().any(|m| m.name == name) {
                mechs.push(Mechanism {
                    name: name.into(),
                    ev: ev_at(p, None, format!("{name} present")),
                    network: name != "sysupgrade",
                });
            }
        }
        // Custom OTA and upgrade scripts.
        let mut scripts: Vec<(String, String)> = Vec::new();
        for f in &root.files {
            if !f.is_text() || f.data.len() > 256 << 10 {
                continue;
            }
            examined += 1;
            let text = String::from_utf8_lossy(&f.data).into_owned();
            if is_update_script(&f.path, &text)
                || f.path.starts_with("/lib/upgrade/")
                || f.path.ends_with("/sysupgrade")
            {
                let net =
                    text.contains("wget ") || text.contains("curl ") || text.contains("tftp ");
                if is_update_script(&f.path, &text)
                    && !f.path.starts_with("/lib/upgrade/")
                    && f.base() != "sysupgrade"
                {
                    mechs.push(Mechanism {
                        name: format!("update script {}", f.path),
                        ev: ev_at(&f.path, None, "writes flash".into()),
                        network: net,
                    });
                }
                scripts.push((f.path.clone(), text));
            }
        }
        // Facts.
        for m in &mechs {
            push_fact(
                obs,
                FactKey::UpdateMechanism,
                true,
                format!("{} is in the image", m.name),
                &m.ev,
            );
            push_fact(
                obs,
                FactKey::SoftwareUpdateable,
                true,
                format!("{} can replace software", m.name),
                &m.ev,
            );
            if m.network {
                push_fact(
                    obs,
                    FactKey::UpdatesOverNetwork,
                    true,
                    format!("{} fetches updates over the network", m.name),
                    &m.ev,
                );
            }
        }
        opkg(root, obs);
        sysupgrade(root, &mechs, &scripts, obs);
        ota_urls(root, &scripts, obs);
        automatic(root, obs);
        verify_calls(root, obs);
        every_path(&mut obs.findings[first..]);
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

fn opkg(root: &Root<'_>, obs: &mut Observations) {
    let Some((f, text)) = root
        .text("/etc/opkg.conf")
        .or_else(|| root.text("/etc/ipkg.conf"))
    else {
        return;
    };
    let mut sig: Option<(u32, String)> = None;
    for (i, l) in text.lines().enumerate() {
        let c = strip_comment(l).trim().to_string();
        if c.starts_with("option check_signature") {
            let v = c.split_whitespace().nth(2).unwrap_or("1");
            if v != "0" {
                sig = Some((i as u32 + 1, c.clone()));
            }
        }
    }
    let keys: Vec<String> = root
        .files
        .iter()
        .filter(|k| {
            (k.path.starts_with("/etc/opkg/keys/") || k.path.starts_with("/etc/opkg/keys"))
                && !k.data.is_empty()
        })
        .map(|k| k.path.clone())
        .collect();
    let mut feeds = Vec::new();
    for p in [
        "/etc/opkg.conf",
        "/etc/opkg/distfeeds.conf",
        "/etc/opkg/customfeeds.conf",
        "/etc/ipkg.conf",
    ] {
        if let Some((ff, t)) = root.text(p) {
            for (i, l) in t.lines().enumerate() {
                let c = strip_comment(l).trim();
                if (c.starts_with("src/gz") || c.starts_with("src ")) && c.contains("://") {
                    feeds.push((ff.path.clone(), i as u32 + 1, c.to_string()));
                }
            }
        }
    }
    let http = feeds
        .iter()
        .filter(|(_, _, l)| l.contains("http://"))
        .count();
    let ev = Evidence {
        location: root.location(&f.path, sig.as_ref().map(|s| s.0), None),
        excerpt: sig
            .as_ref()
            .map(|s| s.1.clone())
            .unwrap_or_else(|| "no option check_signature".into()),
    };
    if !feeds.is_empty() {
        push_fact(
            obs,
            FactKey::UpdatesOverNetwork,
            true,
            format!("opkg feeds configured ({})", feeds[0].2),
            &ev,
        );
    }
    match (&sig, keys.is_empty()) {
        (Some(_), false) => {
            let mut fd = Finding::new(CHECK.id, &["5.3-10", "5.3-7"], Outcome::Pass, Severity::Info, Source::Firmware,
                format!("opkg verifies package-list signatures (check_signature, {} usign key(s))", keys.len()))
                .detail(format!("opkg checks the usign (Ed25519) signature of each feed's package list, and package hashes against it, before installing. This covers packages only; firmware images are judged separately.{}", if http > 0 { " Feeds use plain HTTP, which the signatures make tolerable for integrity but not for confidentiality." } else { "" }))
                .evidence(ev.location.clone(), ev.excerpt.clone());
            for k in keys.iter().take(3) {
                fd = fd.evidence(root.location(k, None, None), "usign public key");
            }
            obs.findings.push(fd);
        }
        (Some(_), true) => obs.findings.push(
            Finding::new(CHECK.id, &["5.3-10"], Outcome::Inconclusive, Severity::Medium, Source::Firmware, "opkg has check_signature but no keys in /etc/opkg/keys")
                .detail("Without trusted keys every signature check fails or is skipped, depending on the opkg build.")
                .evidence(ev.location, ev.excerpt),
        ),
        (None, _) if !feeds.is_empty() => {
            let mut fd = Finding::new(CHECK.id, &["5.3-9", "5.3-10"], Outcome::Fail, Severity::High, Source::Firmware,
                format!("opkg installs packages from {} feed(s){} without signature verification", feeds.len(), if http > 0 { " over plain HTTP" } else { "" }))
                .detail("opkg.conf has no `option check_signature`, so package lists and packages are accepted unauthenticated; whoever controls the network path or the mirror can install code.")
                .evidence(ev.location, ev.excerpt);
            let (p, n, l) = &feeds[0];
            fd = fd.evidence(root.location(p, Some(*n), None), excerpt(l));
            obs.findings.push(fd);
        }
        _ => {}
    }
}

fn sysupgrade(
    root: &Root<'_>,
    mechs: &[Mechanism],
    scripts: &[(String, String)],
    obs: &mut Observations,
) {
    // `sysupgrade -n <file on USB>`: flashing from removable media, settings discarded.
    for (p, text) in scripts.iter().map(|(p, t)| (p.clone(), t.clone())).chain(
        root.files
            .iter()
            .filter(|f| f.is_text() && f.data.len() < 256 << 10 && f.path.starts_with("/etc/"))
            .map(|f| {
                (
                    f.path.clone(),
                    String::from_utf8_lossy(&f.data).into_owned(),
                )
            }),
    ) {
        for (i, line) in text.lines().enumerate() {
            let c = strip_comment(line);
            if c.contains("sysupgrade")
                && c.split_whitespace().any(|w| w == "-n")
                && (c.contains("/mnt/")
                    || c.contains("/media/")
                    || c.contains("usb")
                    || c.contains("$"))
            {
                let checked = text.contains("usign")
                    || text.contains("signify")
                    || text.contains("-verify")
                    || text.contains("sha256sum -c");
                if !checked {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.3-9", "5.3-10", "5.7-1"], Outcome::Fail, Severity::High, Source::Firmware,
                            format!("{p} flashes an image with `sysupgrade -n` without checking it"))
                            .detail("An image found on removable media is written to flash with no signature or checksum verification in the script: anyone with physical access can install arbitrary firmware (the LibraryBox pattern).")
                            .evidence(root.location(&p, Some(i as u32 + 1), None), excerpt(line)),
                    );
                }
            }
        }
    }
    let Some(m) = mechs.iter().find(|m| m.name == "sysupgrade") else {
        return;
    };
    let verify: Vec<(String, u32, String)> = scripts
        .iter()
        .filter(|(p, _)| p.starts_with("/lib/upgrade/") || p.ends_with("/sysupgrade"))
        .flat_map(|(p, t)| {
            t.lines().enumerate().filter_map(move |(i, l)| {
                let c = strip_comment(l);
                verifies(c).then(|| (p.clone(), i as u32 + 1, l.to_string()))
            })
        })
        .collect();
    let has_keys = root.files.iter().any(|f| {
        (f.path.starts_with("/etc/opkg/keys/")
            || f.path.starts_with("/etc/ucert")
            || f.path.contains("/usign/"))
            && !f.data.is_empty()
    });
    if verify.is_empty() {
        obs.findings.push(
            Finding::new(CHECK.id, &["5.3-9", "5.3-10", "5.7-1"], Outcome::Fail, Severity::High, Source::Firmware, "sysupgrade installs firmware images without verifying a signature")
                .detail(format!("sysupgrade and its /lib/upgrade scripts ({} files) call no signature tool (usign, ucert, signify, fwtool, openssl -verify); an image is checked only for its format (platform_check_image) before it is flashed, so any image that looks right is booted.", scripts.iter().filter(|(p, _)| p.starts_with("/lib/upgrade/") || p.ends_with("/sysupgrade")).count()))
                .evidence(m.ev.location.clone(), m.ev.excerpt.clone()),
        );
    } else {
        let (p, n, l) = &verify[0];
        obs.findings.push(
            Finding::new(CHECK.id, &["5.3-9", "5.3-10", "5.7-1"], if has_keys { Outcome::Pass } else { Outcome::Inconclusive }, Severity::Info, Source::Firmware,
                format!("sysupgrade calls a signature check{}", if has_keys { " and trusted keys are present" } else { " (no trusted keys found)" }))
                .detail("The upgrade scripts verify image metadata or signatures before flashing. Whether a failed check is enforced (not only warned about) needs a device test.")
                .evidence(root.location(p, Some(*n), None), excerpt(l)),
        );
    }
}

/// Provisions about the update mechanism as a whole: a PASS on one of them speaks for every
/// way the image can be updated.
const UPDATE_PROVISIONS: &[&str] = &["5.3-7", "5.3-9", "5.3-10"];

/// A PASS earned by one update path (opkg verifies package signatures) does not hold while
/// another path of the same image fails (sysupgrade flashes unsigned images): the PASS becomes
/// information naming the failing path, and the failing paths carry the provisions the PASS
/// claimed, since an update mechanism is as secure as its weakest path.
fn every_path(findings: &mut [Finding]) {
    let on_update = |f: &Finding| {
        f.check == CHECK.id
            && f.provisions
                .iter()
                .any(|p| UPDATE_PROVISIONS.contains(&p.as_str()))
    };
    let failing: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].outcome == Outcome::Fail && on_update(&findings[i]))
        .collect();
    if failing.is_empty() {
        return;
    }
    let failing_titles: Vec<String> = failing.iter().map(|&i| findings[i].title.clone()).collect();
    let mut claimed: Vec<String> = Vec::new();
    for f in findings.iter_mut() {
        if f.outcome != Outcome::Pass || !on_update(f) {
            continue;
        }
        for p in &f.provisions {
            if UPDATE_PROVISIONS.contains(&p.as_str()) && !claimed.contains(p) {
                claimed.push(p.clone());
            }
        }
        f.outcome = Outcome::Info;
        f.title = format!("{} — but not on every update path", f.title);
        let why = format!(
            " This path alone does not make the update mechanism secure: another path of the image fails ({}).",
            failing_titles.join("; ")
        );
        f.detail = Some(format!("{}{why}", f.detail.take().unwrap_or_default()));
    }
    for &i in &failing {
        // Only the paths that install code without authenticating it answer for 5.3-7.
        let f = &mut findings[i];
        if !f.provisions.iter().any(|p| p == "5.3-10") {
            continue;
        }
        for p in &claimed {
            if !f.provisions.contains(p) {
                f.provisions.push(p.clone());
            }
        }
    }
}

/// A literal plain-HTTP URL (not a `http://*` pattern).
fn http_url(c: &str) -> bool {
    c.match_indices("http://")
        .any(|(i, _)| c[i + 7..].starts_with(|ch: char| ch.is_ascii_alphanumeric() || ch == '$'))
}

fn ota_urls(root: &Root<'_>, scripts: &[(String, String)], obs: &mut Observations) {
    let mut n = 0;
    for (p, text) in scripts {
        // sysupgrade's own scripts are judged as a whole (signature or not).
        if p.starts_with("/lib/upgrade/") || p.ends_with("/sysupgrade") {
            continue;
        }
        let mut digest_reported = false;
        for (i, line) in text.lines().enumerate() {
            let c = strip_comment(line);
            if http_url(c)
                && (c.contains("wget")
                    || c.contains("curl")
                    || c.contains("URL")
                    || c.contains("url"))
            {
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.3-10", "5.5-1"], Outcome::Fail, Severity::Medium, Source::Firmware, format!("update fetched over plain HTTP in {p}"))
                        .detail("The update is downloaded without TLS; unless a signature is verified after download, anyone on the path can substitute it.")
                        .evidence(root.location(p, Some(i as u32 + 1), None), excerpt(line)),
                );
                n += 1;
            }
            if !digest_reported
                && DIGEST_ONLY_WORDS.iter().any(|w| c.contains(w))
                && !text.lines().any(verifies)
            {
                digest_reported = true;
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.3-9", "5.3-7"], Outcome::Fail, Severity::Medium, Source::Firmware, format!("update integrity is a bare checksum in {p}"))
                        .detail("A checksum (MD5, CRC) detects corruption but not tampering: anyone can recompute it for a modified image.")
                        .evidence(root.location(p, Some(i as u32 + 1), None), excerpt(line)),
                );
                n += 1;
            }
            if n >= 10 {
                return;
            }
        }
    }
}

/// Cron jobs or scripts that update automatically.
fn automatic(root: &Root<'_>, obs: &mut Observations) {
    for f in &root.files {
        if !(f.path.contains("cron")
            || f.path.contains("autoupdate")
            || f.path.contains("auto_upgrade"))
            || !f.is_text()
        {
            continue;
        }
        let text = String::from_utf8_lossy(&f.data);
        for (i, line) in text.lines().enumerate() {
            let c = strip_comment(line);
            if c.contains("opkg upgrade")
                || c.contains("sysupgrade")
                || c.contains("autoupdate")
                || c.contains("auto_upgrade")
                || c.contains("ota") && c.contains("check")
            {
                let ev = Evidence {
                    location: root.location(&f.path, Some(i as u32 + 1), None),
                    excerpt: excerpt(line),
                };
                push_fact(
                    obs,
                    FactKey::AutomaticUpdatesOrNotifications,
                    true,
                    format!("{} runs an update job", f.path),
                    &ev,
                );
                return;
            }
        }
    }
}

/// Signature-verification calls and bare digests in update-related binaries; rollback hints.
fn verify_calls(root: &Root<'_>, obs: &mut Observations) {
    let mut sig: Vec<(String, String)> = Vec::new();
    let mut rollback: Vec<(Location, String)> = Vec::new();
    for f in &root.files {
        let Some(e) = &f.elf else { continue };
        let lower = f.path.to_ascii_lowercase();
        let update_bin = ["upgrade", "update", "ota", "fw", "firmware", "cmm", "httpd"]
            .iter()
            .any(|w| lower.rsplit('/').next().unwrap_or("").contains(w));
        if !update_bin {
            continue;
        }
        if let Some(i) = e
            .imports
            .iter()
            .find(|i| VERIFY_IMPORTS.contains(&i.as_str()))
        {
            sig.push((f.path.clone(), i.clone()));
        }
        for w in [
            "anti_rollback",
            "antirollback",
            "rollback_version",
            "secure_version",
            "downgrade",
        ] {
            if let Some(p) = memchr::memmem::find(&f.data, w.as_bytes()) {
                rollback.push((root.location(&f.path, None, Some(p as u64)), w.to_string()));
                break;
            }
        }
    }
    if !sig.is_empty() {
        let mut fd = Finding::new(CHECK.id, &["5.3-9"], Outcome::Info, Severity::Info, Source::Firmware, format!("signature-verification calls in update code: {}", sig.iter().map(|(p, i)| format!("{p} ({i})")).collect::<Vec<_>>().join(", ")))
            .detail("An update binary imports a public-key verify function. That it is called on every image (and a failure stops the update) needs reverse engineering or a device test.");
        for (p, i) in sig.iter().take(5) {
            fd = fd.evidence(root.location(p, None, None), format!("imports {i}"));
        }
        obs.findings.push(fd);
    }
    if !rollback.is_empty() {
        let mut fd = Finding::new(CHECK.id, &["TEC-3-rollback", "5.3-9"], Outcome::Info, Severity::Info, Source::Firmware, "anti-rollback evidence in update code")
            .detail("Strings about rollback or secure versions suggest a version check on updates; enforcement needs a device test.");
        for (l, w) in rollback.into_iter().take(5) {
            fd = fd.evidence(l, w);
        }
        obs.findings.push(fd);
    }
}
