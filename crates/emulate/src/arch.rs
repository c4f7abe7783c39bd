//! The firmware's CPU, read from ELF headers, and how QEMU user mode runs it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    MipsBe,
    MipsLe,
    Arm,
    Aarch64,
    X86,
    X86_64,
}

impl Arch {
    /// The Debian `qemu-user-static` binary for this CPU.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::MipsBe => "qemu-mips-static",
            Arch::MipsLe => "qemu-mipsel-static",
            Arch::Arm => "qemu-arm-static",
            Arch::Aarch64 => "qemu-aarch64-static",
            Arch::X86 => "qemu-i386-static",
            Arch::X86_64 => "qemu-x86_64-static",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::MipsBe => "MIPS big-endian",
            Arch::MipsLe => "MIPS little-endian",
            Arch::Arm => "ARM (32-bit)",
            Arch::Aarch64 => "AArch64",
            Arch::X86 => "x86",
            Arch::X86_64 => "x86-64",
        }
    }

    /// The host runs it without an emulator.
    pub fn is_native(self) -> bool {
        cfg!(target_arch = "x86_64") && self == Arch::X86_64
    }

    fn class_data_machine(self) -> (u8, u8, u16) {
        match self {
            Arch::MipsBe => (1, 2, 8),
            Arch::MipsLe => (1, 1, 8),
            Arch::Arm => (1, 1, 40),
            Arch::Aarch64 => (2, 1, 183),
            Arch::X86 => (1, 1, 3),
            Arch::X86_64 => (2, 1, 62),
        }
    }

    /// A binfmt_misc `register` line for this CPU (in the sandbox's own binfmt_misc instance).
    /// It matches ELF class, byte order, version, executable or shared object, and machine; the
    /// OS ABI and ABI version bytes are masked out, since vendor toolchains set them freely.
    pub fn binfmt_rule(self, name: &str, interpreter: &str) -> String {
        let (class, data, machine) = self.class_data_machine();
        let mut magic = vec![0x7f, b'E', b'L', b'F', class, data, 1];
        let mut mask = vec![0xff; 7];
        magic.extend([0u8; 9]);
        mask.extend([0u8; 9]);
        let (ty, ty_mask, mach) = if data == 2 {
            ([0, 2], [0xff, 0xfe], machine.to_be_bytes())
        } else {
            ([2, 0], [0xfe, 0xff], machine.to_le_bytes())
        };
        magic.extend(ty);
        mask.extend(ty_mask);
        magic.extend(mach);
        mask.extend([0xff, 0xff]);
        let hex = |v: &[u8]| v.iter().map(|b| format!("\\x{b:02x}")).collect::<String>();
        format!(":{name}:M::{}:{}:{interpreter}:F", hex(&magic), hex(&mask))
    }
}

/// The CPU of an ELF executable or shared object, from its identification and `e_machine`.
pub fn of_elf(head: &[u8]) -> Option<Arch> {
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return None;
    }
    let (class, data) = (head[4], head[5]);
    let machine = match data {
        1 => u16::from_le_bytes([head[18], head[19]]),
        2 => u16::from_be_bytes([head[18], head[19]]),
        _ => return None,
    };
    match (class, data, machine) {
        (1, 2, 8) => Some(Arch::MipsBe),
        (1, 1, 8) => Some(Arch::MipsLe),
        (1, 1, 40) => Some(Arch::Arm),
        (2, 1, 183) => Some(Arch::Aarch64),
        (1, 1, 3) => Some(Arch::X86),
        (2, 1, 62) => Some(Arch::X86_64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_machine_in_either_byte_order() {
        let mut be =
            b"\x7fELF\x01\x02\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x08".to_vec();
        assert_eq!(of_elf(&be), Some(Arch::MipsBe));
        be[5] = 1;
        be[16..20].copy_from_slice(&[2, 0, 8, 0]);
        assert_eq!(of_elf(&be), Some(Arch::MipsLe));
        be[18..20].copy_from_slice(&40u16.to_le_bytes());
        assert_eq!(of_elf(&be), Some(Arch::Arm));
        assert_eq!(of_elf(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn binfmt_rule_masks_the_abi_bytes() {
        let r = Arch::MipsBe.binfmt_rule("x", "/q");
        assert!(r.starts_with(":x:M::\\x7f\\x45\\x4c\\x46\\x01\\x02\\x01\\x00"));
        assert!(r.contains(":\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\x00"));
        assert!(r.ends_with(":/q:F"));
    }
}
