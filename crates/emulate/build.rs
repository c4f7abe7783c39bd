//! Builds the stand-in library (shim/*.c) for every CPU the emulation runs, with
//! Debian's clang and lld (one compiler for all targets, no cross toolchain or libc needed:
//! the library is freestanding and binds its few libc calls to the firmware's own libc at
//! load). Where clang or lld is missing the build still succeeds with empty libraries, and
//! an emulation run says the stand-in was not built.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (file name, clang target and flags). The names match `Arch::shim_name` in src/shim.rs.
const TARGETS: &[(&str, &[&str])] = &[
    // o32, PIC with abicalls, MIPS32 (runs on every MIPS32r1/r2 router CPU), soft float so no
    // FPU instruction is ever emitted and the ABI flags claim no hard-float use.
    (
        "mips-be",
        &[
            "--target=mips-linux-gnu",
            "-march=mips32",
            "-mabi=32",
            "-msoft-float",
        ],
    ),
    (
        "mips-le",
        &[
            "--target=mipsel-linux-gnu",
            "-march=mips32",
            "-mabi=32",
            "-msoft-float",
        ],
    ),
    // EABI5 soft float, ARMv5TE: the oldest ARM Linux routers still load it.
    (
        "arm",
        &[
            "--target=arm-linux-gnueabi",
            "-march=armv5te",
            "-mfloat-abi=soft",
        ],
    ),
    ("aarch64", &["--target=aarch64-linux-gnu"]),
    ("x86", &["--target=i386-linux-gnu", "-march=i586"]),
    ("x86-64", &["--target=x86_64-linux-gnu"]),
];

fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

fn build(clang: &Path, srcs: &[PathBuf], out: &Path, flags: &[&str]) -> Result<(), String> {
    let o = Command::new(clang)
        .args(flags)
        .args([
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-nostdlib",
            "-shared",
            "-fPIC",
            "-fno-stack-protector",
            "-ffreestanding",
            "-fno-builtin",
            "-fvisibility=hidden",
            "-fuse-ld=lld",
            // Old uClibc loaders know only the SysV hash table, and no RELRO; one R+X segment
            // keeps the layout every loader has seen.
            "-Wl,--hash-style=sysv",
            "-Wl,-z,norelro",
            "-Wl,--no-rosegment",
            "-Wl,--build-id=none",
            "-Wl,-soname,iotassure_shim.so",
            "-Wl,-init,iotassure_shim_init",
            "-o",
        ])
        .arg(out)
        .args(srcs)
        .output()
        .map_err(|e| e.to_string())?;
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).into_owned())
    }
}

fn main() {
    println!("cargo:rerun-if-changed=shim");
    let srcs: Vec<PathBuf> = ["shim.c", "nvram.c", "qemu.c", "ioctl.c"]
        .iter()
        .map(|f| Path::new("shim").join(f))
        .collect();
    println!("cargo:rerun-if-env-changed=PATH");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let clang = tool("clang");
    let lld = tool("ld.lld");
    let mut missing = None;
    for (name, flags) in TARGETS {
        let lib = out.join(format!("iotassure_shim-{name}.so"));
        let _ = std::fs::remove_file(&lib);
        let result = match (&clang, &lld) {
            (Some(c), Some(_)) => build(c, &srcs, &lib, flags),
            _ => Err("clang/lld missing".to_string()),
        };
        if let Err(why) = result {
            // An empty file: the run reports the stand-in as not built for this CPU.
            std::fs::write(&lib, b"").expect("writing an empty stand-in");
            missing.get_or_insert(why);
        }
    }
    if let Some(why) = missing {
        println!(
            "cargo:warning=the NVRAM/hardware stand-in was not built for every CPU ({}); install Debian's clang and lld",
            why.lines().next().unwrap_or("")
        );
    }
}
