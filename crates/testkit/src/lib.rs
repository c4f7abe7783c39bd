//! Helpers for tests only. Each area keeps its own fixture builders in a module of its own here
//! (one file per area), so parallel work does not collide.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `shared/` folder beside the repository (`IOTASSURE_SHARED` overrides), if present.
pub fn shared_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("IOTASSURE_SHARED") {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = workspace.join("../shared");
    p.join("corpus")
        .is_dir()
        .then(|| p.canonicalize().unwrap_or(p))
}

/// A corpus firmware image. `None` (with a note on stderr) when the corpus is absent, so a fresh
/// clone without `shared/` still runs every test that does not need it. CI always has it.
pub fn corpus_image(name: &str) -> Option<PathBuf> {
    let Some(dir) = shared_dir() else {
        eprintln!("skipping: ../shared/corpus is not present (set IOTASSURE_SHARED)");
        return None;
    };
    let p = dir.join("corpus/firmware").join(name);
    assert!(p.is_file(), "corpus image {} missing", p.display());
    Some(p)
}

/// The corpus credential lists (`user:pass` or bare passwords).
pub fn corpus_credentials() -> Vec<PathBuf> {
    let Some(dir) = shared_dir() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("corpus/credentials"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Panics with an install hint when a tool the test needs is missing. `.ci/run` installs them.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
    {
        let p = Path::new(dir).join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{tool}` is not installed: apt-get install {package} (or run .ci/run, which installs every test dependency)");
}

/// Runs a command and panics with its output if it fails.
pub fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The `iotassure` binary built by cargo for integration tests of the CLI crate.
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
    dir.join("iotassure")
}

pub mod device;
pub mod inspect;
pub mod unpack;
