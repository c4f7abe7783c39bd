//! ELF facts every check may need, parsed once per file with goblin: kind, hardening flags
//! (NX, stack canary, PIE, RELRO, FORTIFY, stripped, RPATH/RUNPATH) and the imported symbols
//! (a network server imports `bind`/`listen`; a privilege drop imports `setuid`).

use goblin::elf::dynamic::{
    DF_1_NOW, DF_1_PIE, DF_BIND_NOW, DT_BIND_NOW, DT_DEBUG, DT_FLAGS, DT_FLAGS_1,
};
use goblin::elf::header::{ET_DYN, ET_EXEC, ET_REL};
use goblin::elf::program_header::{PF_X, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP};
use goblin::elf::Elf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// A position-dependent executable.
    Exec,
    /// A position-independent executable.
    Pie,
    /// A shared library.
    Shared,
    /// A relocatable object (kernel module, `.o`): excluded from hardening ratios.
    Relocatable,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relro {
    None,
    Partial,
    Full,
}

#[derive(Debug, Clone)]
pub struct ElfInfo {
    pub kind: ElfKind,
    pub machine: &'static str,
    pub bits: u8,
    pub big_endian: bool,
    /// The stack is not executable (PT_GNU_STACK without PF_X).
    pub nx: bool,
    pub canary: bool,
    pub relro: Relro,
    /// Calls FORTIFY_SOURCE checked functions (`__memcpy_chk` …).
    pub fortify: bool,
    /// No `.symtab`.
    pub stripped: bool,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// Executable with no interpreter and no needed libraries.
    pub is_static: bool,
    /// Undefined (imported) dynamic symbols.
    pub imports: Vec<String>,
    /// `DT_NEEDED` libraries.
    pub needed: Vec<String>,
}

fn machine_name(m: u16) -> &'static str {
    use goblin::elf::header::*;
    match m {
        EM_MIPS => "MIPS",
        EM_ARM => "ARM",
        EM_AARCH64 => "AArch64",
        EM_386 => "x86",
        EM_X86_64 => "x86-64",
        EM_PPC => "PowerPC",
        EM_PPC64 => "PowerPC64",
        EM_RISCV => "RISC-V",
        EM_SH => "SuperH",
        EM_XTENSA => "Xtensa",
        _ => "other",
    }
}

pub fn is_elf(data: &[u8]) -> bool {
    data.len() >= 52 && data.starts_with(b"\x7fELF")
}

/// A shared library by its file name: `libfoo.so`, `libfoo.so.0`, `foo.so`.
fn library_name(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.ends_with(".so") || (base.starts_with("lib") && base.contains(".so."))
}

impl ElfInfo {
    /// Parses without a file name (the kind is decided from the headers alone).
    pub fn parse(data: &[u8]) -> Option<ElfInfo> {
        Self::parse_named(data, "")
    }

    /// Parses `data`, the file at `path` (its name helps tell a library from a PIE).
    pub fn parse_named(data: &[u8], path: &str) -> Option<ElfInfo> {
        if !is_elf(data) {
            return None;
        }
        let elf = Elf::parse(data).ok()?;
        let ph = &elf.program_headers;
        let has_interp = ph.iter().any(|p| p.p_type == PT_INTERP);
        let (flags, flags_1, bind_now, debug) = elf
            .dynamic
            .as_ref()
            .map(|d| {
                let mut f = 0u64;
                let mut f1 = 0u64;
                let mut now = false;
                let mut debug = false;
                for e in &d.dyns {
                    match e.d_tag {
                        DT_FLAGS => f = e.d_val,
                        DT_FLAGS_1 => f1 = e.d_val,
                        DT_BIND_NOW => now = true,
                        DT_DEBUG => debug = true,
                        _ => {}
                    }
                }
                (f, f1, now, debug)
            })
            .unwrap_or((0, 0, false, false));
        // Old uClibc toolchains link shared libraries with PT_INTERP and DT_DEBUG, the very
        // marks checksec takes for a PIE executable; a soname, a library file name or a zero
        // entry point says library unless the linker set the PIE flag.
        let library = elf.soname.is_some() || library_name(path) || elf.header.e_entry == 0;
        let kind = match elf.header.e_type {
            ET_EXEC => ElfKind::Exec,
            ET_DYN if flags_1 & DF_1_PIE != 0 => ElfKind::Pie,
            ET_DYN if has_interp && debug && !library => ElfKind::Pie,
            ET_DYN => ElfKind::Shared,
            ET_REL => ElfKind::Relocatable,
            _ => ElfKind::Other,
        };
        let nx = ph
            .iter()
            .find(|p| p.p_type == PT_GNU_STACK)
            .is_some_and(|p| p.p_flags & PF_X == 0);
        let relro = if ph.iter().any(|p| p.p_type == PT_GNU_RELRO) {
            if bind_now || flags & DF_BIND_NOW != 0 || flags_1 & DF_1_NOW != 0 {
                Relro::Full
            } else {
                Relro::Partial
            }
        } else {
            Relro::None
        };
        let mut imports = Vec::new();
        // What the code calls: imported symbols (as checksec counts them); a libc that only
        // defines __stack_chk_fail is not itself protected.
        let mut all_names: Vec<&str> = Vec::new();
        for s in elf.dynsyms.iter() {
            if let Some(n) = elf.dynstrtab.get_at(s.st_name) {
                if !n.is_empty() && s.st_shndx == 0 {
                    imports.push(n.to_string());
                    all_names.push(n);
                }
            }
        }
        // Static executables keep their symbols in .symtab (when not stripped).
        if elf.libraries.is_empty() && elf.header.e_type == ET_EXEC {
            for s in elf.syms.iter() {
                if let Some(n) = elf.strtab.get_at(s.st_name) {
                    if !n.is_empty() {
                        all_names.push(n);
                    }
                }
            }
        }
        let canary = all_names
            .iter()
            .any(|n| n.starts_with("__stack_chk_fail") || *n == "__stack_chk_guard");
        let fortify = all_names.iter().any(|n| {
            n.starts_with("__")
                && n.ends_with("_chk")
                && !n.starts_with("__stack_chk")
                && n.len() > 6
        });
        let stripped = !elf
            .section_headers
            .iter()
            .any(|s| s.sh_type == goblin::elf::section_header::SHT_SYMTAB);
        let is_static = kind == ElfKind::Exec && !has_interp && elf.libraries.is_empty();
        Some(ElfInfo {
            kind,
            machine: machine_name(elf.header.e_machine),
            bits: if elf.is_64 { 64 } else { 32 },
            big_endian: !elf.little_endian,
            nx,
            canary,
            relro,
            fortify,
            stripped,
            rpath: elf.rpaths.iter().map(|s| s.to_string()).collect(),
            runpath: elf.runpaths.iter().map(|s| s.to_string()).collect(),
            is_static,
            imports,
            needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Executables and shared libraries: what hardening ratios count.
    pub fn is_userland(&self) -> bool {
        matches!(self.kind, ElfKind::Exec | ElfKind::Pie | ElfKind::Shared)
    }

    pub fn is_executable(&self) -> bool {
        matches!(self.kind, ElfKind::Exec | ElfKind::Pie)
    }

    pub fn imports_any(&self, names: &[&str]) -> bool {
        self.imports.iter().any(|i| names.contains(&i.as_str()))
    }

    /// A network server: it binds or listens on a socket.
    pub fn is_network_server(&self) -> bool {
        self.imports_any(&["bind", "listen", "accept", "accept4"])
    }

    /// It can give up root by itself.
    pub fn can_drop_privileges(&self) -> bool {
        self.imports_any(&[
            "setuid",
            "setresuid",
            "setreuid",
            "seteuid",
            "initgroups",
            "setgroups",
            "cap_set_proc",
            "capset",
        ])
    }

    /// Fully hardened for the image summary: NX, canary, PIE (executables), full RELRO.
    pub fn hardened(&self) -> bool {
        self.nx && self.canary && self.relro == Relro::Full && (self.kind != ElfKind::Exec)
    }
}
