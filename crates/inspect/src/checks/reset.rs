//! Data deletion and sensors (5.11-1, 5.8-3): a factory-reset path (OpenWrt firstboot and
//! jffs2reset, an erase of the writable overlay or of nvram, a reset-button handler) is
//! evidence about user-data erasure; camera and microphone drivers and tools are sensing
//! capabilities the maker must document. Both are evidence, not verdicts.

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};

use super::Check;
use crate::text::{excerpt, strip_comment};
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.11-1-fw-reset-sensors",
    provisions: &["5.11-1", "5.8-3", "TEC-11-factory-reset"],
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

/// (pattern in a module or binary path, capability).
const SENSORS: &[(&str, &str)] = &[
    ("uvcvideo", "camera (USB video class driver)"),
    ("videodev", "camera (V4L2 video device core)"),
    ("gspca", "camera (gspca webcam driver)"),
    ("v4l2", "camera (V4L2)"),
    ("/ov5640", "camera sensor (OV5640)"),
    ("/ov2640", "camera sensor (OV2640)"),
    ("/imx", "camera sensor (Sony IMX)"),
    ("snd-usb-audio", "microphone or audio capture (USB audio)"),
    ("snd_usb_audio", "microphone or audio capture (USB audio)"),
    ("snd-soc", "audio codec (ALSA SoC)"),
    ("/arecord", "audio capture tool (arecord)"),
    ("/ffmpeg", "media capture tool (ffmpeg)"),
    ("/gst-launch", "media pipeline (GStreamer)"),
    ("/mjpg_streamer", "camera streaming (mjpg-streamer)"),
    ("/motion", "camera motion detection (motion)"),
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
            let base = f.path.to_ascii_lowercase();
            if let Some((_, what)) = SENSORS.iter().find(|(pat, _)| {
                base.contains(pat)
                    && (base.ends_with(".ko") || base.contains("/bin/") || base.contains("/sbin/"))
            }) {
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.8-3"], Outcome::Info, Severity::Info, Source::Firmware, format!("sensing capability: {what}"))
                        .detail("A camera or microphone must be described in the user documentation (5.8-3); this is evidence for that check, which reads the maker's documents.")
                        .evidence(root.location(&f.path, None, None), f.path.clone()),
                );
            }
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
