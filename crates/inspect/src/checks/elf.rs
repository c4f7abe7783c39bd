//! ELF hardening (5.6-7, 5.6-8, 5.6-9): per binary NX, stack canary, PIE, RELRO, FORTIFY,
//! stripped, RPATH/RUNPATH; setuid and setgid files; a summary per image. Kernel modules and
//! other relocatable objects are left out of the ratios (as checksec's --dir output separates
//! them).

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};

use super::Check;
use crate::elf::{ElfKind, Relro};
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.6-9-fw-elf-hardening",
    provisions: &["5.6-7", "5.6-8", "5.6-9"],
    run,
};

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub userland: usize,
    pub executables: usize,
    pub nx: usize,
    pub canary: usize,
    pub pie: usize,
    pub relro_partial: usize,
    pub relro_full: usize,
    pub fortify: usize,
    pub stripped: usize,
    pub rpath: usize,
    pub static_exec: usize,
    pub relocatable: usize,
}

fn writable_dir(p: &str) -> bool {
    p.is_empty()
        || p == "."
        || p.starts_with("/tmp")
        || p.starts_with("/var")
        || p.starts_with("/mnt")
        || p.starts_with("/media")
        || (!p.starts_with('/') && !p.starts_with("$ORIGIN"))
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        let mut s = Summary::default();
        let mut weak: Vec<String> = Vec::new();
        let mut rpaths = Vec::new();
        for f in &root.files {
            let mode = f.entry.mode;
            if mode & 0o6000 != 0 {
                let what = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
                    (true, true) => "setuid and setgid",
                    (true, false) => "setuid",
                    _ => "setgid",
                };
                let owner = if f.entry.uid == 0 {
                    "root"
                } else {
                    "a non-root user"
                };
                let ww = mode & 0o002 != 0;
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.6-7"], if ww { Outcome::Fail } else { Outcome::Info }, if ww { Severity::High } else if f.entry.uid == 0 { Severity::Low } else { Severity::Info }, Source::Firmware,
                        format!("{} is {what} (owner {owner}, mode {:o}){}", f.path, mode & 0o7777, if ww { " and world-writable" } else { "" }))
                        .detail("A setuid-root program runs with root privileges whatever user starts it; each one must be needed.")
                        .evidence(root.location(&f.path, None, None), format!("mode {:o} uid {} gid {}", mode & 0o7777, f.entry.uid, f.entry.gid)),
                );
            }
            let Some(e) = &f.elf else { continue };
            examined += 1;
            if e.kind == ElfKind::Relocatable {
                s.relocatable += 1;
                continue;
            }
            if !e.is_userland() {
                continue;
            }
            s.userland += 1;
            s.nx += e.nx as usize;
            s.canary += e.canary as usize;
            s.fortify += e.fortify as usize;
            s.stripped += e.stripped as usize;
            match e.relro {
                Relro::Full => s.relro_full += 1,
                Relro::Partial => s.relro_partial += 1,
                Relro::None => {}
            }
            if e.is_executable() {
                s.executables += 1;
                s.pie += (e.kind == ElfKind::Pie) as usize;
                s.static_exec += e.is_static as usize;
            }
            if !e.rpath.is_empty() || !e.runpath.is_empty() {
                s.rpath += 1;
                for p in e.rpath.iter().chain(&e.runpath).flat_map(|r| r.split(':')) {
                    if writable_dir(p) {
                        rpaths.push((f.path.clone(), p.to_string()));
                    }
                }
            }
            if !e.hardened() {
                let mut miss = Vec::new();
                if !e.nx {
                    miss.push("NX");
                }
                if !e.canary {
                    miss.push("canary");
                }
                if e.kind == ElfKind::Exec {
                    miss.push("PIE");
                }
                if e.relro != Relro::Full {
                    miss.push(if e.relro == Relro::None {
                        "RELRO"
                    } else {
                        "full RELRO"
                    });
                }
                weak.push(format!("{} (no {})", f.path, miss.join(", ")));
            }
        }
        if s.userland == 0 {
            continue;
        }
        let table = format!(
            "{} userland ELF files ({} executables, {} static; {} relocatable objects not counted): NX {}/{}, stack canary {}/{}, PIE {}/{} executables, RELRO partial {} full {}, FORTIFY {}/{}, stripped {}/{}, RPATH/RUNPATH {}",
            s.userland, s.executables, s.static_exec, s.relocatable, s.nx, s.userland, s.canary, s.userland, s.pie, s.executables, s.relro_partial, s.relro_full, s.fortify, s.userland, s.stripped, s.userland, s.rpath
        );
        let all = s.nx == s.userland
            && s.canary == s.userland
            && s.pie == s.executables
            && s.relro_full == s.userland;
        // No binary has stack protection and no executable is position-independent: the
        // toolchain's hardening was not used at all.
        let none = s.canary == 0 && s.pie == 0 && s.executables > 0;
        let (outcome, sev, title) = if all {
            (
                Outcome::Pass,
                Severity::Info,
                format!(
                    "all {} userland ELF files are hardened (NX, canary, PIE, full RELRO)",
                    s.userland
                ),
            )
        } else if none {
            (
                Outcome::Fail,
                Severity::Medium,
                format!(
                    "no ELF file is built with stack canaries or PIE ({} userland files)",
                    s.userland
                ),
            )
        } else {
            (
                Outcome::Inconclusive,
                Severity::Low,
                format!(
                    "{} of {} userland ELF files lack some hardening",
                    weak.len(),
                    s.userland
                ),
            )
        };
        let mut f = Finding::new(
            CHECK.id,
            &["5.6-8", "5.6-9"],
            outcome,
            sev,
            Source::Firmware,
            title,
        )
        .detail(format!(
            "{table}.{}",
            if weak.is_empty() {
                String::new()
            } else {
                format!(
                    " Not fully hardened: {}{}",
                    weak.iter().take(25).cloned().collect::<Vec<_>>().join("; "),
                    if weak.len() > 25 {
                        format!("; and {} more", weak.len() - 25)
                    } else {
                        String::new()
                    }
                )
            }
        ));
        f = f.evidence(root.location("/", None, None), table);
        obs.findings.push(f);
        if !rpaths.is_empty() {
            let dirs: std::collections::BTreeSet<&str> =
                rpaths.iter().map(|(_, p)| p.as_str()).collect();
            let mut fd = Finding::new(CHECK.id, &["5.6-7", "5.6-9"], Outcome::Fail, Severity::Medium, Source::Firmware,
                format!("{} binaries load libraries from a writable or relative path ({})", rpaths.len(), dirs.into_iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join(", ")))
                .detail("An RPATH/RUNPATH in a writable or relative directory lets whoever can write there run code inside these programs (often as root).");
            for (path, p) in rpaths.iter().take(10) {
                fd = fd.evidence(
                    root.location(path, None, None),
                    format!("RPATH/RUNPATH {p}"),
                );
            }
            obs.findings.push(fd);
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}
