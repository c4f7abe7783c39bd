//! Files a device writes at first boot from its NVRAM defaults, written the way the image's own
//! code writes them, so services that read them (login reads /etc/passwd) behave as on the
//! device. Only what the image itself states is used: the default table it ships
//! (`etc/defaults.bin`, DD-WRT's format) and the format string its init code fills in. This is
//! the part of the NVRAM stand-in that needs no code running in the emulator; programs that
//! call `nvram_get` are answered by the preloaded library ([`crate::standin`]).

use iotassure_core::tree::{EntryKind, RootfsView};

/// A file to write into the sandbox's /tmp before any service starts.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Absolute path inside the device, always under /tmp/.
    pub path: String,
    pub data: Vec<u8>,
    /// Where its content comes from.
    pub why: String,
}

/// The device path a symlink points at, made absolute.
fn absolute(link: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        link.trim_start_matches('/').split('/').collect()
    };
    if !target.starts_with('/') {
        parts.pop();
    }
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn nvram_defaults(view: &RootfsView<'_>) -> Vec<(String, String)> {
    crate::standin::defaults(view).0
}

/// The first NUL-terminated string starting with `prefix` in an ELF file of the image.
fn format_string(view: &RootfsView<'_>, prefix: &[u8]) -> Option<(String, String)> {
    for (path, e) in view.files() {
        if e.size > 8 << 20
            || !(path.starts_with("/lib/")
                || path.starts_with("/sbin/")
                || path.starts_with("/usr/"))
        {
            continue;
        }
        let Ok(data) = view.read_entry(e, 8 << 20) else {
            continue;
        };
        if !data.starts_with(b"\x7fELF") {
            continue;
        }
        if let Some(i) = data.windows(prefix.len()).position(|w| w == prefix) {
            let end = data[i..].iter().position(|&b| b == 0).map(|n| i + n)?;
            if end - i > 256 {
                continue;
            }
            return Some((String::from_utf8_lossy(&data[i..end]).into_owned(), path));
        }
    }
    None
}

pub fn seeds(view: &RootfsView<'_>) -> Vec<Seed> {
    let mut out = Vec::new();
    // /etc/passwd built at boot from the NVRAM password (DD-WRT and its kin).
    if let Some(e) = view.lstat("/etc/passwd") {
        if let EntryKind::Symlink { target } = &e.kind {
            let to = absolute("/etc/passwd", target);
            if to.starts_with("/tmp/") && view.resolve("/etc/passwd").is_none() {
                let nv = nvram_defaults(view);
                let pass = nv
                    .iter()
                    .find(|(k, _)| k == "http_passwd")
                    .map(|(_, v)| v.clone());
                let fmt = format_string(view, b"root:%s:0:0:");
                if let (Some(pass), Some((fmt, from))) = (pass, fmt) {
                    if !pass.contains(['\n', ':']) && fmt.matches("%s").count() == 1 {
                        out.push(Seed {
                            path: to,
                            data: format!("{}\n", fmt.replace("%s", &pass)).into_bytes(),
                            why: format!(
                                "/etc/passwd links into /tmp and is made at boot: written from the NVRAM default http_passwd (/etc/defaults.bin) with the format string `{fmt}` found in {from}"
                            ),
                        });
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_targets_become_device_paths() {
        assert_eq!(
            absolute("/etc/passwd", "../tmp/etc/passwd"),
            "/tmp/etc/passwd"
        );
        assert_eq!(absolute("/etc/passwd", "/tmp/passwd"), "/tmp/passwd");
        assert_eq!(absolute("/etc/passwd", "../../../tmp/x"), "/tmp/x");
    }
}
