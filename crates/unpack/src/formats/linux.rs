//! The Linux kernel's own identification inside a decompressed kernel: the `linux_banner`
//! ("Linux version 3.18.9 (builder@host) (gcc …) #1 …") and, for kernels built without it
//! (DD-WRT), the `init_uts_ns` record: six 65-byte fields, sysname "Linux", nodename "(none)",
//! release, version, machine, domain.

use iotassure_core::layout::Confidence;
use memchr::memmem;

use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "linux-kernel",
    kind: Kind::Header,
    anchor: Anchor::Weak,
    magics: &[
        Magic {
            bytes: b"Linux version ",
            at: 0,
        },
        Magic {
            bytes: b"(none)\0",
            at: 0,
        },
    ],
    identify,
    extract: None,
};

const UTS_FIELD: usize = 65;

fn field(d: &[u8], at: usize, len: usize) -> Option<String> {
    let f = d.get(at..at + len)?;
    let end = f
        .iter()
        .position(|&b| b == 0 || b == b'\n')
        .unwrap_or(f.len());
    let f = &f[..end];
    f.iter()
        .all(|&b| (0x20..0x7f).contains(&b))
        .then(|| String::from_utf8_lossy(f).to_string())
}

/// The version in a banner: "Linux version 2.4.25-LSDK-5.0.0-RC5 (…" → "2.4.25-LSDK-5.0.0-RC5".
pub fn banner_version(banner: &str) -> Option<String> {
    let v = banner.strip_prefix("Linux version ")?.split(' ').next()?;
    (v.chars().next()?.is_ascii_digit()).then(|| v.to_string())
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    if d.get(s..s + 6)? == b"Linux " {
        let banner = field(d, s, 512)?;
        let version = banner_version(&banner)?;
        return Some(
            Chunk::new(FORMAT.id, "linux-banner", s)
                .size(banner.len())
                .describe(format!("Linux kernel version banner: {banner}"))
                .confidence(Confidence::High)
                .fact("linux_version", version)
                .fact("banner", banner),
        );
    }
    // init_uts_ns: the "(none)" nodename is one field after "Linux".
    let start = s.checked_sub(UTS_FIELD)?;
    if d.get(start..start + 6)? != b"Linux\0" {
        return None;
    }
    let release = field(d, start + 2 * UTS_FIELD, UTS_FIELD)?;
    let version = field(d, start + 3 * UTS_FIELD, UTS_FIELD).unwrap_or_default();
    let machine = field(d, start + 4 * UTS_FIELD, UTS_FIELD).unwrap_or_default();
    if !release.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(
        Chunk::new(FORMAT.id, "linux-uts", start)
            .size(5 * UTS_FIELD)
            .describe(format!(
                "Linux kernel identification (utsname): release {release}, version \"{version}\", machine \"{machine}\""
            ))
            .confidence(Confidence::High)
            .fact("linux_version", release)
            .fact("uts_version", version)
            .fact("machine", machine),
    )
}

/// Whether a decompressed blob is a Linux kernel.
pub fn is_kernel(d: &[u8]) -> bool {
    if memmem::find(d, b"Linux version ").is_some_and(|i| identify(d, i).is_some()) {
        return true;
    }
    memmem::find_iter(d, b"(none)\0").any(|i| identify(d, i).is_some())
}
