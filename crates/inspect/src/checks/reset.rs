//! Data deletion (5.11-1): a factory-reset path (OpenWrt firstboot and jffs2reset, an erase of
//! the writable overlay or of nvram, a reset-button handler) is evidence about user-data
//! erasure, not a verdict. The id keeps its old name; sensors moved to `sensors.rs`.

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};

use super::Check;
use crate::text::{excerpt, strip_comment};
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.11-1-fw-reset-sensors",
    provisions: &["5.11-1", "TEC-11-factory-reset"],
    run,
};

const RESET_FILES: &[&str] = &[
    "/sbin/firstboot",
    "/sbin/jffs2reset",
    "/sbin/jffs2mark",
    "/usr/sbin/factoryreset",
    "/sbin/factory_reset",
    "/etc/rc.button/reset",
];
const RESET_CODE: &[&str] = &[
    "jffs2reset",
    "firstboot -y",
    "mtd erase rootfs_data",
    "mtd -r erase rootfs_data",
    "erase rootfs_data",
    "nvram erase",
    "erase nvram",
    "mtd erase nvram",
    "restore_default",
    "factory_reset",
    "factory-reset",
];

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        let mut ev = Vec::new();
        for p in RESET_FILES {
            if root.exists(p) {
                ev.push((root.location(p, None, None), format!("{p} present")));
            }
        }
        for f in &root.files {
            if !f.is_text()
                || f.data.len() > 256 << 10
                || !(f.path.starts_with("/etc/")
                    || f.path.starts_with("/sbin/")
                    || f.path.starts_with("/lib/")
                    || f.path.starts_with("/usr/"))
            {
                continue;
            }
            examined += 1;
            if ev.len() >= 6 {
                continue;
            }
            let text = String::from_utf8_lossy(&f.data);
            for (i, line) in text.lines().enumerate() {
                let code = strip_comment(line);
                if RESET_CODE.iter().any(|p| code.contains(p)) {
                    ev.push((
                        root.location(&f.path, Some(i as u32 + 1), None),
                        excerpt(line),
                    ));
                    break;
                }
            }
        }
        if !ev.is_empty() {
            let mut f = Finding::new(CHECK.id, &["5.11-1", "TEC-11-factory-reset"], Outcome::Info, Severity::Info, Source::Firmware, "factory-reset path present")
                .detail("The image has a way to return to factory state (erasing the writable configuration). Whether it is simple for the user and removes all personal data and credentials needs the documentation or a device test.");
            for (loc, ex) in ev.into_iter().take(6) {
                f = f.evidence(loc, ex);
            }
            obs.findings.push(f);
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}
