//! Default configuration tables that become the device's settings at first boot: nvram
//! defaults (DD-WRT's binary `etc/defaults.bin`, text `key=value` tables) and XML default
//! configurations (compressed or not). Credentials and service switches live here on
//! devices that build /etc/passwd and their service list at run time.

use std::io::Read;

use crate::Root;

#[derive(Debug, Clone)]
pub struct Var {
    pub key: String,
    pub value: String,
    pub path: String,
    /// Line (text tables) or byte offset (binary tables).
    pub line: Option<u32>,
    pub offset: Option<u64>,
}

/// DD-WRT `defaults.bin`: u32 LE count, then per entry a length-prefixed key (u8) and value
/// (u8, or two bytes `0x80|low7, high` when longer than 127).
pub fn parse_ddwrt_bin(data: &[u8]) -> Option<Vec<(String, String, u64)>> {
    let count = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    if count == 0 || count > 100_000 {
        return None;
    }
    let mut p = 4usize;
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let at = p as u64;
        let kl = *data.get(p)? as usize;
        // The count includes an empty terminating entry.
        if kl == 0 && out.len() + 1 == count {
            break;
        }
        let key = data.get(p + 1..p + 1 + kl)?;
        p += 1 + kl;
        let mut vl = *data.get(p)? as usize;
        if vl & 0x80 != 0 {
            vl = (vl & 0x7f) | ((*data.get(p + 1)? as usize) << 7);
            p += 2;
        } else {
            p += 1;
        }
        let val = data.get(p..p + vl)?;
        p += vl;
        if kl == 0
            || !key
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-:".contains(b))
        {
            return None;
        }
        out.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(val).into_owned(),
            at,
        ));
    }
    Some(out)
}

fn looks_like_nvram_text(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    (base.contains("nvram") || base.starts_with("default"))
        && !base.ends_with(".sh")
        && !base.ends_with(".so")
        && !base.ends_with(".js")
        && !base.ends_with(".htm")
        && !base.ends_with(".html")
}

/// Which kind of default table a path may hold, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// DD-WRT's binary `defaults.bin` (or `*nvram.bin`).
    Binary,
    /// A text `key=value` table (`nvram.ini`, `default_nvram`, ...).
    Text,
}

pub fn table_kind(path: &str) -> Option<TableKind> {
    let base = path.rsplit('/').next().unwrap_or("");
    if base == "defaults.bin" || base.ends_with("nvram.bin") {
        Some(TableKind::Binary)
    } else if looks_like_nvram_text(path) {
        Some(TableKind::Text)
    } else {
        None
    }
}

/// A text `key=value` table: (key, value, line). None when the file is not text, or reads
/// as a script with a few assignments rather than a table.
pub fn parse_text_table(data: &[u8]) -> Option<Vec<(String, String, u32)>> {
    if data.len() >= 1 << 20 || !crate::text::is_text(data) {
        return None;
    }
    let text = String::from_utf8_lossy(data);
    let vars: Vec<(String, String, u32)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (k, v) = l.trim().split_once('=')?;
            let ok = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.:".contains(&b));
            ok.then(|| (k.to_string(), v.trim_matches('"').to_string(), i as u32 + 1))
        })
        .collect();
    (vars.len() >= 10 && vars.len() * 2 >= text.lines().count()).then_some(vars)
}

/// The (key, value) pairs of a default table at `path`, binary or text.
pub fn parse_table(path: &str, data: &[u8]) -> Option<Vec<(String, String)>> {
    let binary = table_kind(path) == Some(TableKind::Binary);
    if binary {
        if let Some(v) = parse_ddwrt_bin(data) {
            return Some(v.into_iter().map(|(k, v, _)| (k, v)).collect());
        }
    }
    if looks_like_nvram_text(path) {
        return parse_text_table(data).map(|v| v.into_iter().map(|(k, v, _)| (k, v)).collect());
    }
    None
}

/// Every nvram default of a root filesystem.
pub fn defaults(root: &Root<'_>) -> Vec<Var> {
    let mut out = Vec::new();
    for f in &root.files {
        if table_kind(&f.path) == Some(TableKind::Binary) {
            if let Some(vars) = parse_ddwrt_bin(&f.data) {
                out.extend(vars.into_iter().map(|(key, value, off)| Var {
                    key,
                    value,
                    path: f.path.clone(),
                    line: None,
                    offset: Some(off),
                }));
                continue;
            }
        }
        if looks_like_nvram_text(&f.path) {
            if let Some(vars) = parse_text_table(&f.data) {
                out.extend(vars.into_iter().map(|(key, value, line)| Var {
                    key,
                    value,
                    path: f.path.clone(),
                    line: Some(line),
                    offset: None,
                }));
            }
        }
    }
    out
}

/// Text of a default-configuration file, gunzipped when it is gzip (bounded).
pub fn maybe_gunzip(data: &[u8]) -> Option<Vec<u8>> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(16 << 20)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddwrt_binary_table() {
        let mut d = 3u32.to_le_bytes().to_vec();
        for (k, v) in [
            ("http_passwd", "bJz7PcC1rCRJQ".to_string()),
            ("telnetd_enable", "1".into()),
            ("long", "x".repeat(200)),
        ] {
            d.push(k.len() as u8);
            d.extend(k.as_bytes());
            if v.len() > 127 {
                d.push(0x80 | (v.len() & 0x7f) as u8);
                d.push((v.len() >> 7) as u8);
            } else {
                d.push(v.len() as u8);
            }
            d.extend(v.as_bytes());
        }
        let vars = parse_ddwrt_bin(&d).unwrap();
        assert_eq!(vars[0].1, "bJz7PcC1rCRJQ");
        assert_eq!(vars[2].1.len(), 200);
        assert!(parse_ddwrt_bin(&d[..d.len() - 3]).is_none(), "truncated");
        assert!(parse_ddwrt_bin(b"\xff\xff\xff\xff").is_none());
    }
}
