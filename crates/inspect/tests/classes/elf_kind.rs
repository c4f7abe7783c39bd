//! Class 8: old uClibc shared libraries carry PT_INTERP and DT_DEBUG and are ET_DYN, which is
//! what checksec takes for a PIE executable. The real image of the class is the corpus DIR-300
//! A1 (uClibc 0.9.x: libc.so.0, libdl.so.0, libm.so.0 … with both marks): counted as PIE, they
//! turned the image's "no canary, no PIE anywhere" FAIL into INCONCLUSIVE.

use iotassure_core::finding::Outcome;
use iotassure_inspect::elf::{ElfInfo, ElfKind};
use iotassure_testkit::inspect::compile_c;

use super::inspect_corpus;

#[test]
fn dir300_uclibc_libraries_are_not_pie() {
    let Some((obs, _d)) = inspect_corpus("DIR-300A1_FW105b09.bin") else {
        return;
    };
    let f = obs
        .findings
        .iter()
        .find(|f| f.check == "5.6-9-fw-elf-hardening" && f.provisions.iter().any(|p| p == "5.6-9"))
        .expect("the hardening summary");
    let detail = f.detail.clone().unwrap_or_default();
    assert!(detail.contains("PIE 0/"), "no executable is PIE: {detail}");
    assert_eq!(f.outcome, Outcome::Fail, "{}: {detail}", f.title);
}

#[test]
fn library_with_an_interpreter_stays_a_library_and_pie_stays_pie() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("libvendor.so.0");
    compile_c(
        &lib,
        &[
            "-shared",
            "-fPIC",
            "-Wl,-soname,libvendor.so.0",
            "-Wl,--dynamic-linker=/lib/ld-uClibc.so.0",
        ],
    );
    let data = std::fs::read(&lib).unwrap();
    let e = ElfInfo::parse_named(&data, "/lib/libvendor.so.0").unwrap();
    assert_eq!(e.kind, ElfKind::Shared);
    let exe = dir.path().join("app");
    compile_c(&exe, &["-fPIE", "-pie"]);
    let data = std::fs::read(&exe).unwrap();
    assert_eq!(
        ElfInfo::parse_named(&data, "/usr/bin/app").unwrap().kind,
        ElfKind::Pie
    );
}
