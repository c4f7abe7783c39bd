//! U-Boot environment blocks: a CRC-32 (and, for redundant environments, a flags byte) followed
//! by `name=value` strings, each NUL-terminated, ended by an empty string and padded to the
//! environment size. Found by the variables every environment has (`bootcmd=`, `bootdelay=` …),
//! then walked back to the block start. A block whose CRC matches for a usual size is certain;
//! one without (the default environment compiled into U-Boot) is reported with low confidence.
//! The variables are written to `environment.txt`.

use iotassure_core::layout::Confidence;

use super::bytes::u32_le;
use super::{write_file, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::crc32;
use crate::sink::Meta;

pub static FORMAT: Format = Format {
    id: "uboot-env",
    kind: Kind::Blob,
    anchor: Anchor::Weak,
    magics: &[
        Magic {
            bytes: b"bootcmd=",
            at: 0,
        },
        Magic {
            bytes: b"bootdelay=",
            at: 0,
        },
        Magic {
            bytes: b"baudrate=",
            at: 0,
        },
        Magic {
            bytes: b"bootargs=",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const SIZES: &[usize] = &[
    0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x20000, 0x40000,
];
const MAX_VARS_BYTES: usize = 0x40000;

fn is_var_start(d: &[u8], p: usize) -> bool {
    let rest = &d[p..d.len().min(p + 64)];
    let Some(eq) = rest.iter().position(|&b| b == b'=') else {
        return false;
    };
    eq > 0
        && rest[..eq]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

struct Env {
    /// Start of the first variable.
    data: usize,
    /// The variables (without the terminating empty string).
    vars: Vec<String>,
    /// Offset after the final NUL of the variable list.
    vars_end: usize,
    header: Option<(usize, usize, bool)>, // (block start, block size, redundant)
}

fn is_text(b: u8) -> bool {
    (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n'
}

fn parse(d: &[u8], s: usize) -> Option<Env> {
    if s > 0 && d[s - 1] != 0 {
        return None; // a variable name starts after a NUL (or at the block start)
    }
    // Walk back over the variables before this one.
    let mut first = s;
    while first >= 2 && d[first - 1] == 0 && d[first - 2] != 0 {
        let mut p = first - 1;
        while p > 0 && is_text(d[p - 1]) && first - p < 4096 {
            p -= 1;
        }
        // Printable CRC bytes may lead the first variable: its name starts within 6 bytes.
        let Some(q) = (p..(p + 6).min(first - 1)).find(|&q| is_var_start(d, q)) else {
            break;
        };
        first = q;
        if q != p || p == 0 || d[p - 1] != 0 {
            break;
        }
    }
    // Walk forward to the empty string.
    let mut vars = Vec::new();
    let mut p = first;
    loop {
        let rest = d.get(p..)?;
        let len = rest.iter().take(4096).position(|&b| b == 0)?;
        if len == 0 {
            break;
        }
        let v = &rest[..len];
        if !v.iter().all(|&b| is_text(b)) || !is_var_start(d, p) {
            return None;
        }
        vars.push(String::from_utf8_lossy(v).to_string());
        p += len + 1;
        if p - first > MAX_VARS_BYTES {
            return None;
        }
    }
    if vars.len() < 3 {
        return None;
    }
    let vars_end = p + 1;
    // The CRC covers the data area from the first variable to the end of the block. The first
    // variable may start a few bytes later than the walk found (printable CRC bytes).
    for data in (first..first + 6).filter(|&q| q < vars_end && is_var_start(d, q)) {
        for redundant in [false, true] {
            let hdr = if redundant { 5 } else { 4 };
            let Some(start) = data.checked_sub(hdr) else {
                continue;
            };
            let Some(crc) = u32_le(d, start) else {
                continue;
            };
            for &size in SIZES {
                if let Some(area) = d.get(data..start + size) {
                    if vars_end <= start + size && crc32(area) == crc {
                        let vars = if data == first {
                            vars
                        } else {
                            let mut v = vars;
                            v[0] = v[0][data - first..].to_string();
                            v
                        };
                        return Some(Env {
                            data,
                            vars,
                            vars_end,
                            header: Some((start, size, redundant)),
                        });
                    }
                }
            }
        }
    }
    Some(Env {
        data: first,
        vars,
        vars_end,
        header: None,
    })
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let env = parse(d, s)?;
    let get = |k: &str| {
        env.vars.iter().find_map(|v| {
            v.strip_prefix(k)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_string)
        })
    };
    let mut chunk = match env.header {
        Some((start, size, redundant)) => Chunk::new(FORMAT.id, "uboot-env", start)
            .size(size)
            .describe(format!(
                "U-Boot environment{}, size: 0x{size:x}, CRC32 verified, {} variables",
                if redundant { " (redundant, with flags byte)" } else { "" },
                env.vars.len()
            ))
            .confidence(Confidence::High),
        None => Chunk::new(FORMAT.id, "uboot-env", env.data)
            .size(env.vars_end - env.data)
            .describe(format!(
                "U-Boot environment without CRC (a default environment compiled into the bootloader?), {} variables",
                env.vars.len()
            ))
            .confidence(Confidence::Low),
    };
    for key in [
        "bootcmd",
        "bootargs",
        "bootdelay",
        "baudrate",
        "ipaddr",
        "serverip",
        "ethaddr",
    ] {
        if let Some(v) = get(key) {
            chunk = chunk.fact(key, v);
        }
    }
    chunk = chunk.fact("variables", env.vars.len());
    Some(chunk)
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    // Any variable after a NUL leads back to the first one.
    let end = d
        .len()
        .min(chunk.offset + chunk.size.unwrap_or(MAX_VARS_BYTES));
    let env = (chunk.offset + 1..end)
        .filter(|&p| d[p - 1] == 0 && is_var_start(d, p))
        .find_map(|p| parse(d, p))
        .ok_or_else(|| ExtractError::Bad("variables no longer parse".into()))?;
    ctx.root_dir()?;
    let mut text = env.vars.join("\n");
    text.push('\n');
    write_file(
        ctx,
        "environment.txt",
        Meta {
            mode: 0o644,
            ..Meta::default()
        },
        text.as_bytes(),
    )?;
    Ok(Extracted {
        consumed: chunk.size.unwrap_or(env.vars_end - chunk.offset),
        note: format!("{} variables written to environment.txt", env.vars.len()),
        ..Extracted::default()
    })
}
