//! TS 103 701 5.7-1-2a ("modified software is detected") on the emulated device: the image's
//! own update verification is run, in a sealed sandbox, on a modified copy of the image, and on
//! the unmodified image as a control.
//!
//! What runs is OpenWrt's `sysupgrade -T FILE` ("verify image and config, do not flash"), the
//! same check the web flash page and `ubus call system upgrade` go through, under QEMU in the
//! sandbox of [`crate::sandbox`]. The web path (LuCI through uhttpd) needs ubusd, rpcd and a
//! session; it ends in this very check, so the check itself is what is run. Nothing is ever
//! flashed: `-T` exits before any write, and the sandbox has no flash to write to.
//!
//! The modified copy keeps the vendor header and changes 64 bytes inside the root filesystem
//! area, so a signature or checksum over the image would catch it. The emulated device is given
//! what its check reads from the hardware: the board name (`/tmp/sysinfo/board_name`, which
//! preinit derives from the CPU; here the board label the image's own `platform.sh` knows that
//! the image's file name carries) and its flash (`/proc/mtd` naming a `firmware` partition, and
//! `/dev/mtdblock1` holding the unmodified image it runs). The control decides whether the
//! result means anything: if the unmodified image is refused, the emulated device cannot tell a
//! modification, and the unit stays INCONCLUSIVE with the check's own output.

use std::path::Path;
use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};
use iotassure_core::progress::Progress;
use iotassure_core::tree::{read_limited, RootfsView};
use serde::Serialize;

use crate::sandbox::{Job, Limits, Sandbox};

pub const CHECK: &str = "5.7-1-emu-update-check";
const PROV: &[&str] = &["5.7-1"];
/// How many bytes the modified copy changes.
const CHANGED: usize = 64;
/// Images larger than this are not copied into the sandbox.
const MAX_IMAGE: u64 = 64 << 20;

/// What was run and what came of it (written into emulation.json).
#[derive(Debug, Clone, Serialize)]
pub struct UpdateCheck {
    /// The command run in the sandbox, e.g. `sysupgrade -T`.
    pub method: String,
    pub board: Option<String>,
    /// The image offset and length of the bytes the modified copy changes.
    pub changed_at: Option<(u64, usize)>,
    /// Exit status and last output of the check on the unmodified image (the control).
    pub original: Option<(Option<i32>, String)>,
    pub modified: Option<(Option<i32>, String)>,
    pub outcome: String,
    pub seconds: f64,
}

/// The image with `CHANGED` bytes inverted inside the root filesystem that starts at `at`:
/// halfway into what follows it, and never in its first 4 KiB (its superblock).
pub fn modify(image: &[u8], at: u64) -> Option<(Vec<u8>, u64)> {
    let at = usize::try_from(at).ok()?;
    let rest = image.len().checked_sub(at)?;
    if rest < 8192 + CHANGED {
        return None;
    }
    let off = at + (rest / 2).max(4096);
    let mut m = image.to_vec();
    for b in &mut m[off..off + CHANGED] {
        *b = !*b;
    }
    Some((m, off as u64))
}

/// The root filesystem's offset in the image, when it sits directly in it
/// (`image @0x117790 squashfs-4.0-xz`). One nested in a container is refused: changing it in
/// place would break the container, not test the device.
fn direct_offset(provenance: &str) -> Result<u64, String> {
    let offs: Vec<&str> = provenance
        .split('@')
        .skip(1)
        .filter_map(|s| s.split_whitespace().next())
        .collect();
    match offs.as_slice() {
        [one] => one
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("no offset in `{provenance}`")),
        _ => Err(format!(
            "the root filesystem is nested in a container ({provenance}): changing it in place would break the container, which is not what the device's check is asked about"
        )),
    }
}

/// The board labels of the image's `platform_check_image` (`tl-wr841n-v9 | \`), keeping
/// those the image's file name names; the longest first.
fn boards(platform_sh: &str, image_name: &str) -> Vec<String> {
    let name = image_name.to_ascii_lowercase();
    let mut out: Vec<String> = platform_sh
        .lines()
        .map(|l| {
            l.trim()
                .trim_end_matches('\\')
                .trim()
                .trim_end_matches([')', '|'])
                .trim()
        })
        .filter(|l| {
            l.len() >= 4
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
                && l.bytes().any(|b| b == b'-')
        })
        .filter(|l| name.contains(l))
        .map(str::to_string)
        .collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.len()));
    out.dedup();
    out
}

/// Marks the stand-ins' failure in the job's output.
const NO_STAND_IN: &str = "iotassure: /proc/mtd stand-in not mounted";

/// The sandbox job: the device's stand-ins (board name, flash), then the check on the
/// unmodified image and on the modified one, one after the other in the same environment (the
/// stand-in is a mount every process of the sandbox shares). The board label is checked to be
/// `[a-z0-9._-]`, so it is safe inside the script.
fn job(board: &str) -> Job {
    let script = format!(
        "mkdir -p /tmp/sysinfo /tmp/iotassure-proc\n\
         echo {board} > /tmp/sysinfo/board_name; echo {board} > /tmp/sysinfo/model\n\
         # /proc/mtd as the device's flash shows it: the running firmware in partition 1.\n\
         if mount -t tmpfs iotassure /tmp/iotassure-proc && mkdir /tmp/iotassure-proc/.real && mount -o rbind /proc /tmp/iotassure-proc/.real; then\n\
           for n in $(ls /proc); do [ -e /tmp/iotassure-proc/$n ] || ln -s .real/$n /tmp/iotassure-proc/$n; done\n\
           printf 'dev:    size   erasesize  name\\nmtd0: 00020000 00010000 \"u-boot\"\\nmtd1: 003d0000 00010000 \"firmware\"\\n' > /tmp/iotassure-proc/mtd\n\
           mount -o rbind /tmp/iotassure-proc /proc || echo '{NO_STAND_IN}'\n\
         else echo '{NO_STAND_IN}'; fi\n\
         grep -q '\"firmware\"' /proc/mtd || echo '{NO_STAND_IN}'\n\
         for which in original modified; do\n\
           echo \"== iotassure: sysupgrade -T $which\"\n\
           /sbin/sysupgrade -T /iotassure-update/$which.bin\n\
           echo \"== iotassure: exit $which $?\"\n\
         done\n"
    );
    Job {
        name: "update-check".into(),
        prep: Vec::new(),
        argv: vec!["/bin/sh".into(), "-c".into(), script],
    }
}

/// The exit status and output of the check on `which`, from the job's output.
fn result_of(output: &str, which: &str) -> (Option<i32>, String) {
    let start = format!("== iotassure: sysupgrade -T {which}");
    let end = format!("== iotassure: exit {which} ");
    let Some(a) = output.find(&start) else {
        return (None, String::new());
    };
    let body = &output[a + start.len()..];
    match body.find(&end) {
        Some(b) => {
            let code = body[b + end.len()..]
                .lines()
                .next()
                .and_then(|l| l.trim().parse().ok());
            (code, body[..b].trim().to_string())
        }
        None => (None, body.trim().to_string()),
    }
}

fn inconclusive(why: impl Into<String>, u: &mut UpdateCheck) -> Observations {
    let why = why.into();
    u.outcome = format!("inconclusive: {why}");
    let mut obs = Observations::default();
    obs.findings.push(
        Finding::new(
            CHECK,
            PROV,
            Outcome::Inconclusive,
            Severity::Info,
            Source::Emulation,
            "the emulated device's update check could not be put to a modified image",
        )
        .detail(why.clone()),
    );
    obs.skipped(CHECK, Source::Emulation, PROV, why);
    obs
}

/// Runs the probe on `image` (whose unpacked tree is `tree`, its root filesystem `view`) in a
/// fresh folder under `work`, removed at the end.
pub fn run(
    image: &Path,
    view: &RootfsView<'_>,
    work: &Path,
    limits: Limits,
    progress: &dyn Progress,
) -> (UpdateCheck, Observations) {
    let started = Instant::now();
    let mut u = UpdateCheck {
        method: "sysupgrade -T".into(),
        board: None,
        changed_at: None,
        original: None,
        modified: None,
        outcome: String::new(),
        seconds: 0.0,
    };
    let dir = work.join(format!(".iotassure-update-probe-{}", std::process::id()));
    let obs = match run_in(image, view, &dir, limits, progress, &mut u) {
        Ok(o) => o,
        Err(why) => inconclusive(why, &mut u),
    };
    let _ = std::fs::remove_dir_all(&dir);
    u.seconds = started.elapsed().as_secs_f64();
    (u, obs)
}

fn run_in(
    image: &Path,
    view: &RootfsView<'_>,
    dir: &Path,
    limits: Limits,
    progress: &dyn Progress,
    u: &mut UpdateCheck,
) -> Result<Observations, String> {
    if view.resolve("/sbin/sysupgrade").is_none() {
        return Err("the image has no update verification this probe can run (no /sbin/sysupgrade; vendor update checks are not driven yet)".into());
    }
    let (_, platform) = view
        .read("/lib/upgrade/platform.sh", 1 << 20)
        .map_err(|e| format!("/lib/upgrade/platform.sh: {e}"))?;
    let file_name = image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let board = boards(&String::from_utf8_lossy(&platform), &file_name)
        .into_iter()
        .next()
        .ok_or_else(|| format!("which board the image is for could not be told: none of the boards /lib/upgrade/platform.sh checks is named in the file name `{file_name}`, and the check reads the board from the hardware"))?;
    u.board = Some(board.clone());
    let bytes =
        read_limited(image, MAX_IMAGE + 1).map_err(|e| format!("{}: {e}", image.display()))?;
    if bytes.len() as u64 > MAX_IMAGE {
        return Err(format!(
            "{}: larger than {} MiB",
            image.display(),
            MAX_IMAGE >> 20
        ));
    }
    let at = direct_offset(&view.rootfs.provenance)?;
    let (modified, off) = modify(&bytes, at)
        .ok_or_else(|| format!("the root filesystem at 0x{at:x} leaves too few bytes to change"))?;
    u.changed_at = Some((off, CHANGED));

    std::fs::create_dir(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let root = dir.join("root");
    progress.stage("emulation: copying the root filesystem for the update check");
    let copied = crate::rootcopy::materialise(view, &root, crate::rootcopy::CopyLimits::default())
        .map_err(|e| format!("copying the root filesystem: {e}"))?;
    let arch = copied
        .arch
        .ok_or("no ELF program for a supported CPU in the root filesystem")?;
    let put = |rel: &str, data: &[u8]| -> Result<(), String> {
        let p = root.join(rel);
        // The copy is the image's: never write through a link it holds.
        if std::fs::symlink_metadata(&p).is_ok() {
            std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        std::fs::write(&p, data).map_err(|e| format!("{}: {e}", p.display()))
    };
    if std::fs::symlink_metadata(root.join("iotassure-update")).is_ok()
        || std::fs::symlink_metadata(root.join("dev")).is_ok_and(|m| !m.is_dir())
    {
        return Err(
            "the image's root already holds /iotassure-update or a non-directory /dev".into(),
        );
    }
    put("iotassure-update/original.bin", &bytes)?;
    put("iotassure-update/modified.bin", &modified)?;
    put("dev/mtdblock1", &bytes)?;

    progress.stage(&format!(
        "emulation: sysupgrade -T on the unmodified and the modified image (board {board})"
    ));
    let mut sb = Sandbox::start(
        &root,
        &dir.join("state"),
        arch,
        vec![job(&board)],
        &[],
        limits,
    )
    .map_err(|e| e.to_string())?;
    let deadline = Duration::from_secs(45).min(sb.remaining());
    while sb.started.elapsed() < deadline && sb.job(0).exit.is_none() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let job = sb.job(0);
    sb.stop();
    let out = job.output;
    if out.contains(NO_STAND_IN) {
        return Err(format!(
            "the emulated device's flash (/proc/mtd) could not be stood in, so its check cannot read the hardware id: {}",
            out.lines().take(4).collect::<Vec<_>>().join(" | ")
        ));
    }
    let (o, m) = (result_of(&out, "original"), result_of(&out, "modified"));
    u.original = Some(o.clone());
    u.modified = Some(m.clone());
    let last = |s: &str| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>()
    };
    let changed = Location::Image {
        offset: off,
        length: Some(CHANGED as u64),
        provenance: format!("{} (the modified copy; bytes inverted)", file_name),
    };
    let what = format!(
        "`sysupgrade -T` (the image's own check, from /sbin/sysupgrade and /lib/upgrade/platform.sh, board {board}) was run under QEMU in the sealed sandbox on the unmodified image and on a copy with {CHANGED} bytes inverted at 0x{off:x}, inside the root filesystem at 0x{at:x} (the vendor header kept). Nothing was flashed: -T stops after the verification."
    );
    let mut obs = Observations::default();
    let f = match (o.0, m.0) {
        (Some(0), Some(0)) => {
            u.outcome = "accepted".into();
            Finding::new(CHECK, PROV, Outcome::Fail, Severity::High, Source::Emulation,
                "a modified image passes the device's own update check (sysupgrade -T) on the emulated device")
            .detail(format!("{what} Both were accepted (exit 0): the update path does not verify the image's integrity, so modified software would be installed.{}", if last(&m.1).is_empty() { String::new() } else { format!(" Last output: {}", last(&m.1)) }))
        }
        (Some(0), Some(c)) => {
            u.outcome = "refused".into();
            Finding::new(CHECK, PROV, Outcome::Pass, Severity::Info, Source::Emulation,
                "the device's own update check refuses a modified image on the emulated device")
            .detail(format!("{what} The unmodified image was accepted and the modified one refused (exit {c}): {}", last(&m.1)))
        }
        (None, _) | (_, None) => {
            return Err(match job.exit {
                Some(c) => format!(
                    "the check script stopped before both checks ran (exit {c}); its output: {}",
                    out.lines().take(4).collect::<Vec<_>>().join(" | ")
                ),
                None => format!(
                    "the check did not finish within {} s (original: {}; modified: {})",
                    deadline.as_secs(),
                    last(&o.1),
                    last(&m.1)
                ),
            })
        }
        (Some(c), _) => {
            return Err(format!(
                "the check refused the unmodified image too (exit {c}: {}), so the emulated device cannot tell a modification. {what}",
                last(&o.1)
            ))
        }
    };
    obs.findings.push(f.evidence(
        changed,
        format!(
            "{CHANGED} bytes inverted; sysupgrade -T exit {:?} (original {:?})",
            m.0, o.0
        ),
    ));
    obs.ran(CHECK, Source::Emulation, PROV, 2);
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modified_copy_changes_the_root_filesystem_only() {
        let image: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (m, off) = modify(&image, 0x10000).unwrap();
        assert_eq!(m.len(), image.len());
        assert_eq!(m[..0x10000], image[..0x10000], "the header is kept");
        let diff: Vec<usize> = (0..m.len()).filter(|&i| m[i] != image[i]).collect();
        assert_eq!(diff.len(), CHANGED);
        assert_eq!(diff[0] as u64, off);
        assert!(off >= 0x10000 + 4096);
        assert!(modify(&image, 199_000).is_none());
    }

    #[test]
    fn offsets_and_boards() {
        assert_eq!(
            direct_offset("image @0x117790 squashfs-4.0-xz").unwrap(),
            0x117790
        );
        assert!(direct_offset("image @0x40 trx → @0x1000 squashfs").is_err());
        let sh = "case \"$board\" in\n\tall0315n | \\\n\ttl-wr841n-v8 | \\\n\ttl-wr841n-v9 | \\\n\ttl-wr941nd)\n";
        assert_eq!(
            boards(
                sh,
                "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin"
            ),
            ["tl-wr841n-v9"]
        );
        assert!(boards(sh, "firmware.bin").is_empty());
        let out = "== iotassure: sysupgrade -T original\n== iotassure: exit original 0\n== iotassure: sysupgrade -T modified\nInvalid image\n== iotassure: exit modified 1\n";
        assert_eq!(result_of(out, "original"), (Some(0), String::new()));
        assert_eq!(
            result_of(out, "modified"),
            (Some(1), "Invalid image".into())
        );
        assert_eq!(result_of("", "modified").0, None);
    }
}
