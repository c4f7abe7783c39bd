//! Fixture builders for the inspect tests: files in a rootfs folder, ELF binaries compiled on
//! the host with full hardening, and an Intel HEX writer and reader (the format AVR toolchains
//! emit) so microcontroller images can be made and flattened without the unpack engine.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `content` at `root/rel` (parents created) and returns the path.
pub fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, content).expect("write fixture");
    p
}

/// The compiler flags of a hardened build (stack protector, FORTIFY, PIE, full RELRO, NX).
pub const HARDENED_CFLAGS: &[&str] = &[
    "-fstack-protector-strong",
    "-D_FORTIFY_SOURCE=2",
    "-O2",
    "-fPIE",
    "-pie",
    "-Wl,-z,relro,-z,now",
    "-Wl,-z,noexecstack",
];

/// Compiles a small C program that uses buffers and checked string functions, with
/// [`HARDENED_CFLAGS`] (or `flags` instead), to `out`.
pub fn compile_c(out: &Path, flags: &[&str]) {
    let gcc = crate::require_tool("gcc", "gcc");
    let dir = out.parent().expect("parent");
    std::fs::create_dir_all(dir).expect("mkdir");
    let src = dir.join(format!(".{}.c", out.file_name().unwrap().to_string_lossy()));
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <string.h>\nint main(int argc, char **argv) {\n  char buf[64];\n  strcpy(buf, argc > 1 ? argv[1] : \"x\");\n  memcpy(buf + 1, argv[0], strlen(argv[0]) % 8);\n  printf(\"%s\\n\", buf);\n  return 0;\n}\n",
    )
    .expect("write source");
    let mut cmd = Command::new(gcc);
    cmd.args(flags).arg("-o").arg(out).arg(&src);
    crate::run(&mut cmd);
    std::fs::remove_file(src).ok();
}

/// Intel HEX text for `data` loaded at `base` (16-byte data records, extended linear address
/// records when needed, an end-of-file record).
pub fn intel_hex(data: &[u8], base: u32) -> String {
    fn rec(kind: u8, addr: u16, payload: &[u8]) -> String {
        let mut bytes = vec![payload.len() as u8, (addr >> 8) as u8, addr as u8, kind];
        bytes.extend(payload);
        let sum = bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        bytes.push(sum.wrapping_neg());
        format!(
            ":{}\n",
            bytes.iter().map(|b| format!("{b:02X}")).collect::<String>()
        )
    }
    let mut out = String::new();
    let mut upper = None;
    for (i, chunk) in data.chunks(16).enumerate() {
        let addr = base + (i * 16) as u32;
        if upper != Some(addr >> 16) {
            upper = Some(addr >> 16);
            out.push_str(&rec(4, 0, &((addr >> 16) as u16).to_be_bytes()));
        }
        out.push_str(&rec(0, addr as u16, chunk));
    }
    out.push_str(&rec(1, 0, &[]));
    out
}

/// Flattens Intel HEX into (lowest address, bytes); gaps are filled with 0xFF (erased flash).
/// Panics on a malformed record: fixtures and the corpus are well-formed.
pub fn parse_intel_hex(text: &str) -> (u32, Vec<u8>) {
    let mut upper = 0u32;
    let mut chunks: Vec<(u32, Vec<u8>)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let hex = line.strip_prefix(':').expect("record starts with ':'");
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex digit"))
            .collect();
        assert_eq!(
            bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)),
            0,
            "checksum of {line}"
        );
        let (len, addr, kind) = (
            bytes[0] as usize,
            u16::from_be_bytes([bytes[1], bytes[2]]),
            bytes[3],
        );
        let payload = &bytes[4..4 + len];
        match kind {
            0 => chunks.push((upper + addr as u32, payload.to_vec())),
            1 => break,
            2 => upper = (u16::from_be_bytes([payload[0], payload[1]]) as u32) << 4,
            4 => upper = (u16::from_be_bytes([payload[0], payload[1]]) as u32) << 16,
            _ => {}
        }
    }
    let lo = chunks.iter().map(|c| c.0).min().unwrap_or(0);
    let hi = chunks
        .iter()
        .map(|c| c.0 + c.1.len() as u32)
        .max()
        .unwrap_or(0);
    let mut flat = vec![0xFF; (hi - lo) as usize];
    for (a, d) in chunks {
        flat[(a - lo) as usize..(a - lo) as usize + d.len()].copy_from_slice(&d);
    }
    (lo, flat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intel_hex_round_trip() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for base in [0u32, 0x3F00, 0x0800_0000] {
            let (b, d) = parse_intel_hex(&intel_hex(&data, base));
            assert_eq!((b, d.as_slice()), (base, data.as_slice()));
        }
    }
}
