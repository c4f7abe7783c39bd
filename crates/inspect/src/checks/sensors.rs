//! The sensors a firmware image shows (5.8-3): cameras, microphones and environmental sensors,
//! from the drivers and stacks it ships. The documents decide 5.8-3 ("sensing capabilities are
//! documented"); this inventory is what they are held against (`5.8-3-sensors-declared`, in the
//! verdict stage), so a sensor reported here that the documents leave out FAILs there.
//!
//! Precision matters more than recall: a FAIL says the maker hid a camera or a microphone. So
//! only evidence that names a sensing device counts, never a subsystem that also serves other
//! hardware:
//! - ALSA (`snd-*`, aplay/arecord, one binary for both) drives speakers as well as microphones:
//!   only a digital-microphone codec driver or a microphone part number is a microphone.
//! - ffmpeg and GStreamer transcode; I2S is a bus (MicroPython ships its driver on every ESP32
//!   build): neither is a sensor.
//! - A kernel image's built-in drivers are a distribution's choice, not the board's; hwmon
//!   temperature monitors watch the board, not the surroundings. Neither is read.
//! - Tasmota-style microcontroller builds compile in drivers for sensors the device may not have,
//!   so environmental sensor names in a flat image are not read either.
//!
//! What counts: the V4L2 / USB video stack and image-sensor drivers as kernel modules, camera
//! streaming daemons, `/dev/videoN` in the boot scripts and configuration, Espressif's
//! esp32-camera driver in a flat image, digital-microphone drivers and MEMS microphone part
//! numbers, and IIO temperature/humidity sensor modules.

use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};

use super::Check;
use crate::text::{excerpt, line_of, printable_runs};
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.8-3-fw-sensors",
    provisions: &["5.8-3"],
    run,
};

/// The title every inventory finding starts with; the verdict stage reads the kind after it.
pub const TITLE_PREFIX: &str = "sensing capability in the firmware: ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Camera,
    Microphone,
    Climate,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Camera => "camera",
            Kind::Microphone => "microphone",
            Kind::Climate => "temperature/humidity sensor",
        }
    }
}

/// Kernel module stems of the video capture stack.
const VIDEO_STACK: &[&str] = &[
    "uvcvideo",
    "videodev",
    "v4l2-common",
    "videobuf2-core",
    "videobuf2-v4l2",
    "gspca_main",
];

/// Image-sensor driver families: a prefix and how many digits may follow (ov2640, imx219,
/// gc2053, gc032a, sc2336, ar0130).
const IMAGE_SENSORS: &[(&str, usize, usize)] = &[
    ("ov", 4, 4),
    ("imx", 3, 3),
    ("gc", 3, 4),
    ("sc", 4, 4),
    ("ar0", 3, 3),
    ("jxf", 2, 2),
    ("mis", 4, 4),
];

/// IIO / hwmon drivers of ambient temperature and humidity sensors (not board monitors).
const CLIMATE: &[&str] = &[
    "dht11", "hdc100x", "hdc2010", "si7005", "si7020", "sht15", "sht21", "sht3x", "htu21",
    "hts221", "am2315", "bme680",
];

/// MEMS microphone part numbers (I2S or PDM): a name no other part has.
const MIC_PARTS: &[&str] = &[
    "inmp441",
    "sph0645",
    "ics43434",
    "ics-43434",
    "msm261",
    "spm1423",
    "sph0690",
];

/// Camera streaming daemons and capture tools, by executable name.
const CAMERA_TOOLS: &[&str] = &["mjpg_streamer", "uvc_stream", "v4l2-ctl", "fswebcam"];

/// `ov2640` is an image sensor: a known prefix, exactly `digits` digits, then at most a short
/// letter suffix (`ov5640`, `gc032a`, `sc2336p`).
fn image_sensor(stem: &str) -> bool {
    IMAGE_SENSORS.iter().any(|(p, min, max)| {
        stem.strip_prefix(p).is_some_and(|rest| {
            let d = rest.bytes().take_while(u8::is_ascii_digit).count();
            (*min..=*max).contains(&d)
                && rest[d..].len() <= 2
                && rest[d..].bytes().all(|b| b.is_ascii_lowercase())
        })
    })
}

/// A kernel module file's stem, `-` and `_` folded (kbuild treats them alike).
fn module_stem(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let stem = base
        .strip_suffix(".ko")
        .or_else(|| base.strip_suffix(".ko.xz"))
        .or_else(|| base.strip_suffix(".ko.gz"))
        .or_else(|| {
            base.strip_suffix(".o")
                .filter(|_| path.contains("/lib/modules/"))
        })?;
    Some(stem.to_ascii_lowercase().replace('_', "-"))
}

fn module_kind(stem: &str) -> Option<(Kind, String)> {
    if VIDEO_STACK.iter().any(|m| m.replace('_', "-") == stem) || stem.starts_with("gspca-") {
        return Some((Kind::Camera, format!("video capture driver {stem}")));
    }
    if image_sensor(stem) {
        return Some((Kind::Camera, format!("image sensor driver {stem}")));
    }
    if stem.starts_with("snd-") && stem.contains("dmic") {
        return Some((
            Kind::Microphone,
            format!("digital microphone driver {stem}"),
        ));
    }
    if MIC_PARTS.iter().any(|p| stem.contains(p)) {
        return Some((Kind::Microphone, format!("microphone driver {stem}")));
    }
    if CLIMATE.iter().any(|c| c.replace('_', "-") == stem) {
        return Some((Kind::Climate, format!("environmental sensor driver {stem}")));
    }
    None
}

fn in_bin(path: &str) -> bool {
    [
        "/bin/",
        "/sbin/",
        "/usr/bin/",
        "/usr/sbin/",
        "/usr/local/bin/",
    ]
    .iter()
    .any(|d| path.starts_with(d))
}

/// `/dev/video0`: a video device node named in a script or configuration.
fn video_node(text: &str) -> Option<usize> {
    text.match_indices("/dev/video").find_map(|(i, m)| {
        text[i + m.len()..]
            .starts_with(|c: char| c.is_ascii_digit())
            .then_some(i)
    })
}

/// Espressif's esp32-camera driver: its HAL tag with one of its own messages or pin names.
fn esp32_camera(data: &[u8]) -> Option<(usize, String)> {
    let runs = printable_runs(data, 5);
    let hal = runs.iter().find(|(_, s)| s.contains("cam_hal"))?;
    let own = runs.iter().find(|(_, s)| {
        s.contains("Camera probe failed") || s.contains("camera_xclk") || s.contains("esp_camera")
    })?;
    let sensors: Vec<&str> = runs
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| s.len() <= 8 && image_sensor(&s.to_ascii_lowercase()))
        .take(6)
        .collect();
    Some((
        hal.0,
        format!(
            "{} … {}{}",
            excerpt(hal.1),
            excerpt(own.1),
            if sensors.is_empty() {
                String::new()
            } else {
                format!(" (sensor drivers: {})", sensors.join(", "))
            }
        ),
    ))
}

fn mic_part(data: &[u8]) -> Option<(usize, String)> {
    printable_runs(data, 6).into_iter().find_map(|(o, s)| {
        let l = s.to_ascii_lowercase();
        MIC_PARTS
            .iter()
            .any(|p| l.contains(p))
            .then(|| (o, excerpt(s)))
    })
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    let mut seen: Vec<(Kind, String, Location, String)> = Vec::new();
    for root in &ctx.roots {
        for f in &root.files {
            examined += 1;
            let lower = f.path.to_ascii_lowercase();
            if let Some((kind, what)) = module_stem(&lower).and_then(|s| module_kind(&s)) {
                seen.push((
                    kind,
                    what,
                    root.location(&f.path, None, None),
                    f.path.clone(),
                ));
                continue;
            }
            let base = lower.rsplit('/').next().unwrap_or("");
            if in_bin(&lower) && CAMERA_TOOLS.contains(&base) {
                seen.push((
                    Kind::Camera,
                    format!("camera streaming tool {base}"),
                    root.location(&f.path, None, None),
                    f.path.clone(),
                ));
                continue;
            }
            if (base.starts_with("libv4l2.so") || base.starts_with("libuvc.so")) && !f.is_text() {
                seen.push((
                    Kind::Camera,
                    format!("video capture library {base}"),
                    root.location(&f.path, None, None),
                    f.path.clone(),
                ));
                continue;
            }
            let configured = f.path.starts_with("/etc/") || f.path.starts_with("/usr/share/");
            if configured && f.is_text() && f.data.len() <= 1 << 20 {
                let text = String::from_utf8_lossy(&f.data);
                if let Some(i) = video_node(&text) {
                    let line = line_of(&f.data, i);
                    let shown = text.lines().nth(line as usize - 1).unwrap_or("");
                    seen.push((
                        Kind::Camera,
                        "a video device node (/dev/videoN) in the configuration".into(),
                        root.location(&f.path, Some(line), None),
                        excerpt(shown),
                    ));
                }
            }
        }
    }
    for b in ctx.blobs.iter().filter(|b| !b.is_kernel) {
        examined += 1;
        let at = |off: usize| Location::Image {
            offset: off as u64,
            length: None,
            provenance: b.blob.provenance.clone(),
        };
        if let Some((off, ex)) = esp32_camera(&b.data) {
            seen.push((Kind::Camera, "esp32-camera driver".into(), at(off), ex));
        }
        if let Some((off, ex)) = mic_part(&b.data) {
            seen.push((Kind::Microphone, "MEMS microphone part".into(), at(off), ex));
        }
    }
    for kind in [Kind::Camera, Kind::Microphone, Kind::Climate] {
        let of: Vec<&(Kind, String, Location, String)> =
            seen.iter().filter(|s| s.0 == kind).collect();
        let Some(first) = of.first() else { continue };
        let mut whats: Vec<&str> = of.iter().map(|s| s.1.as_str()).collect();
        whats.dedup();
        let mut f = Finding::new(
            CHECK.id,
            CHECK.provisions,
            Outcome::Info,
            Severity::Info,
            Source::Firmware,
            format!("{TITLE_PREFIX}{} ({})", kind.as_str(), whats.iter().take(3).copied().collect::<Vec<_>>().join("; ")),
        )
        .detail(format!(
            "The image ships {} piece(s) of {} support. 5.8-3 asks that every external sensing capability be documented; this is held against the documents given.",
            of.len(),
            first.0.as_str()
        ));
        for s in of.iter().take(5) {
            f = f.evidence(s.2.clone(), s.3.clone());
        }
        obs.findings.push(f);
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_sensor_names_and_look_alikes() {
        for s in [
            "ov2640", "ov5640", "imx219", "gc0308", "gc032a", "sc2336", "ar0130",
        ] {
            assert!(image_sensor(s), "{s}");
        }
        for s in [
            "sc16is7xx",
            "imx2-wdt",
            "ov",
            "gcc",
            "scsi-mod",
            "ov56401234",
            "oval",
        ] {
            assert!(!image_sensor(s), "{s}");
        }
    }

    #[test]
    fn audio_playback_is_not_a_microphone() {
        for m in ["snd-usb-audio", "snd-soc-core", "snd-pcm", "snd-hda-intel"] {
            assert_eq!(module_kind(m), None, "{m}");
        }
        assert_eq!(
            module_kind("snd-soc-dmic").map(|k| k.0),
            Some(Kind::Microphone)
        );
        assert_eq!(module_kind("uvcvideo").map(|k| k.0), Some(Kind::Camera));
        assert_eq!(module_kind("lm75"), None, "a board monitor");
    }

    #[test]
    fn video_nodes_need_a_number() {
        assert!(video_node("ffmpeg -i /dev/video0 -f mjpeg").is_some());
        assert!(video_node("mknod /dev/video c 81 0").is_none());
    }
}
