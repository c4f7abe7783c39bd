//! The stand-in for what a router's kernel and flash give its programs: `shim/` (C),
//! built for each CPU by build.rs and preloaded (LD_PRELOAD) into every firmware process.
//!
//! - NVRAM: `nvram_get` and its kin answered from one file per key under the sandbox's
//!   `/tmp/.nvram/`, seeded here from the image's own default tables (DD-WRT's
//!   `etc/defaults.bin`, text `nvram.ini`-style tables), so a value written by one process is
//!   read by the next. Keys read that have no value are logged ("missing NVRAM key").
//! - What hardware-specific programs need to go on under QEMU user mode: SysV shared memory
//!   at a fixed address, device-private switch ioctls, LinuxThreads' process-per-thread
//!   clone (see the C file for each).
//!
//! The library logs what it answered in place of the device to the sandbox's state folder;
//! [`events`] reads that log back, per program, into emulation.json.

use std::collections::BTreeMap;
use std::path::Path;

use iotassure_core::tree::RootfsView;
use serde::Serialize;

use crate::arch::Arch;

/// Where the library sits inside the sandbox's root.
pub const PRELOAD_PATH: &str = "/.iotassure_shim.so";
/// Its log, in the state folder (mounted at /.iotassure inside).
pub const LOG_NAME: &str = "shim.log";
/// The folder of key files, in the state folder (copied to /tmp/.nvram inside).
pub const NVRAM_DIR: &str = "nvram";

/// Bounds, the same as the library's: a key ≤ 80 bytes, a value ≤ 64 KiB. The count keeps the
/// key files (one tmpfs page each) well inside the sandbox's 32 MiB /tmp.
pub const MAX_KEY: usize = 80;
pub const MAX_VALUE: usize = 64 << 10;
pub const MAX_KEYS: usize = 4000;

const MIPS_BE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/iotassure_shim-mips-be.so"));
const MIPS_LE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/iotassure_shim-mips-le.so"));
const ARM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/iotassure_shim-arm.so"));
const AARCH64: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/iotassure_shim-aarch64.so"));
const X86: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/iotassure_shim-x86.so"));
const X86_64: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/iotassure_shim-x86-64.so"));

/// The library for `arch`; None when it was not built (clang or lld missing at build time).
pub fn library(arch: Arch) -> Option<&'static [u8]> {
    let lib = match arch {
        Arch::MipsBe => MIPS_BE,
        Arch::MipsLe => MIPS_LE,
        Arch::Arm => ARM,
        Arch::Aarch64 => AARCH64,
        Arch::X86 => X86,
        Arch::X86_64 => X86_64,
    };
    (!lib.is_empty()).then_some(lib)
}

/// A key's file name: bytes outside `[A-Za-z0-9_-]` as `%XX`, the library's encoding. None
/// for keys outside the bounds.
pub fn key_file(key: &str) -> Option<String> {
    if key.is_empty() || key.len() > MAX_KEY {
        return None;
    }
    let mut s = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Some(s)
}

/// The image's NVRAM defaults, first table first (a later table does not override a key),
/// and the files they came from.
pub fn defaults(view: &RootfsView<'_>) -> (Vec<(String, String)>, Vec<String>) {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut sources = Vec::new();
    for (path, e) in view.files() {
        let kind = iotassure_inspect::nvram::table_kind(&path);
        if kind.is_none() || e.size > 4 << 20 {
            continue;
        }
        let Ok(data) = view.read_entry(e, 4 << 20) else {
            continue;
        };
        let Some(vars) = iotassure_inspect::nvram::parse_table(&path, &data) else {
            continue;
        };
        let before = out.len();
        for (k, v) in vars {
            if seen.insert(k.clone()) {
                out.push((k, v));
            }
        }
        if out.len() > before {
            sources.push(format!("{path} ({} keys)", out.len() - before));
        }
    }
    (out, sources)
}

/// Writes one file per key into `dir` (fresh). Returns how many were written; keys or values
/// outside the bounds are left out and counted in the second number.
pub fn write_store(dir: &Path, vars: &[(String, String)]) -> std::io::Result<(usize, usize)> {
    std::fs::create_dir(dir)?;
    let (mut written, mut left) = (0, 0);
    for (k, v) in vars {
        match key_file(k) {
            Some(name) if v.len() <= MAX_VALUE && written < MAX_KEYS => {
                // create_new: a key can never land on a file another key (or anything) made.
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(dir.join(name))?;
                f.write_all(v.as_bytes())?;
                written += 1;
            }
            _ => left += 1,
        }
    }
    Ok((written, left))
}

/// What the library did in one program.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProgramEvents {
    pub program: String,
    /// NVRAM keys read that had neither a value nor a default (at most 50 listed).
    pub nvram_missing: Vec<String>,
    /// How many distinct keys were missing in all.
    pub nvram_missing_count: usize,
    /// Calls answered in place of the device or worked around for QEMU, each once:
    /// `shmat-fixed-address ADDR ok`, `ioctl-stub REQUEST IFNAME`, `clone-as-thread ...`.
    pub stubs: Vec<String>,
}

/// Reads the library's log (`PROGRAM EVENT DETAIL` lines) into one record per program.
pub fn events(log: &str) -> Vec<ProgramEvents> {
    let mut by: BTreeMap<String, ProgramEvents> = BTreeMap::new();
    let mut missing: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for line in log.lines() {
        let mut w = line.splitn(3, ' ');
        let (Some(prog), Some(event), detail) = (w.next(), w.next(), w.next().unwrap_or("")) else {
            continue;
        };
        let p = by.entry(prog.to_string()).or_insert_with(|| ProgramEvents {
            program: prog.to_string(),
            ..Default::default()
        });
        if event == "nvram-miss" {
            missing
                .entry(prog.to_string())
                .or_default()
                .insert(detail.to_string());
        } else {
            let stub = format!("{event} {detail}");
            if p.stubs.len() < 50 && !p.stubs.contains(&stub) {
                p.stubs.push(stub);
            }
        }
    }
    for (prog, keys) in missing {
        if let Some(p) = by.get_mut(&prog) {
            p.nvram_missing_count = keys.len();
            p.nvram_missing = keys.into_iter().take(50).collect();
        }
    }
    by.into_values().collect()
}

/// The stand-in as one run used it (emulation.json's `stand_in`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct StandInReport {
    /// The library preloaded into every firmware process, or why not.
    pub preloaded: bool,
    pub note: Option<String>,
    /// NVRAM keys seeded from the image's default tables, and the tables.
    pub nvram_defaults: usize,
    pub nvram_sources: Vec<String>,
    /// Keys left out (beyond the bounds).
    pub nvram_left_out: usize,
    /// What it answered for each program.
    pub programs: Vec<ProgramEvents>,
}

/// Seeds the NVRAM store in `state` from the image's defaults and picks the library for
/// `arch`, recording both in `report`. The store is made even with no defaults, so writes
/// by one program reach the next.
pub fn prepare(
    view: &RootfsView<'_>,
    arch: Arch,
    state: &Path,
    report: &mut StandInReport,
) -> crate::sandbox::StandIn<'static> {
    let library = library(arch);
    if library.is_none() {
        report.note = Some(format!(
            "NVRAM stand-in not built for {} (clang/lld missing when iotassure was built)",
            arch.name()
        ));
        return crate::sandbox::StandIn::default();
    }
    report.preloaded = true;
    let (vars, sources) = defaults(view);
    report.nvram_sources = sources;
    let made =
        std::fs::create_dir_all(state).and_then(|_| write_store(&state.join(NVRAM_DIR), &vars));
    match made {
        Ok((written, left)) => {
            report.nvram_defaults = written;
            report.nvram_left_out = left;
        }
        Err(e) => {
            report.note = Some(format!(
                "NVRAM store not written to {}: {e}",
                state.join(NVRAM_DIR).display()
            ));
            return crate::sandbox::StandIn {
                library,
                nvram: false,
            };
        }
    }
    crate::sandbox::StandIn {
        library,
        nvram: true,
    }
}

/// Reads the library's log from the state folder into `report`.
pub fn collect(state: &Path, report: &mut StandInReport) {
    let raw = iotassure_core::tree::read_limited(&state.join("out").join(LOG_NAME), 1 << 20)
        .unwrap_or_default();
    report.programs = events(&String::from_utf8_lossy(&raw));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_never_leave_the_folder() {
        assert_eq!(key_file("http_passwd").as_deref(), Some("http_passwd"));
        assert_eq!(key_file("wl0.1_ssid").as_deref(), Some("wl0%2E1_ssid"));
        assert_eq!(key_file("../x").as_deref(), Some("%2E%2E%2Fx"));
        assert_eq!(key_file(".."), Some("%2E%2E".to_string()));
        assert_eq!(key_file(""), None);
        assert_eq!(key_file(&"k".repeat(81)), None);
    }

    #[test]
    fn log_lines_become_per_program_events() {
        let ev = events(
            "httpd nvram-miss wan_proto\nhttpd nvram-miss wan_proto\nhttpd nvram-miss lan_ifname\ncos shmat-fixed-address 0x58800000 ok\ngarbage\n",
        );
        let httpd = ev.iter().find(|e| e.program == "httpd").unwrap();
        assert_eq!(httpd.nvram_missing, vec!["lan_ifname", "wan_proto"]);
        assert_eq!(httpd.nvram_missing_count, 2);
        let cos = ev.iter().find(|e| e.program == "cos").unwrap();
        assert_eq!(cos.stubs, vec!["shmat-fixed-address 0x58800000 ok"]);
    }

    #[test]
    fn the_store_is_bounded() {
        let d = tempfile::tempdir().unwrap();
        let vars = vec![
            ("a".to_string(), "1".to_string()),
            ("b/../c".to_string(), "2".to_string()),
            ("big".to_string(), "x".repeat(MAX_VALUE + 1)),
            ("k".repeat(81), "3".to_string()),
        ];
        let (w, left) = write_store(&d.path().join("nv"), &vars).unwrap();
        assert_eq!((w, left), (2, 2));
        assert_eq!(
            std::fs::read_to_string(d.path().join("nv/b%2F%2E%2E%2Fc")).unwrap(),
            "2"
        );
    }
}
