//! `iotassure unpack`: an image → a folder of files, with the layout printed the way binwalk
//! users expect, a summary of the tree, and every file's provenance in manifest.json.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use iotassure_core::layout::Confidence;
use iotassure_core::tree::{EntryKind, Tree};

use super::LimitArgs;
use crate::output::Staged;
use crate::progress::Stderr;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Writes the extracted files under OUT, one folder per chunk named OFFSET-FORMAT (a root filesystem keeps its own folder; archives found inside its files go beside it, in FOLDER.nested/), and OUT/manifest.json, which lists every entry with its mode, owner and provenance chain (e.g. `image @0x117790 squashfs-4.0-xz`).\n\nNothing is written outside OUT: absolute paths and `..` are refused or re-rooted, symlinks are recorded and only created when they stay inside, device nodes are recorded, never created. A region that fails is reported with its offset and the rest goes on; the result then says PARTIAL.\n\nExamples:\n  iotassure unpack firmware.bin --out firmware.extracted\n  iotassure unpack firmware.bin --out firmware.extracted --force   (replace an earlier run's output)\n  iotassure unpack firmware.bin --out x --json | jq '.summary.layout[] | select(.depth == 0)'\n  iotassure unpack firmware.bin --out x --depth 2 --max-total 512"
)]
pub struct Args {
    /// The firmware image.
    pub image: PathBuf,
    /// Output folder (created; absent or empty, or an earlier iotassure output with --force).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Replace a non-empty --out folder, but only one iotassure wrote (it holds the
    /// .iotassure-output marker with a known format version). Never replaced, even with
    /// --force: /, the home folder (or a folder holding it), the current folder or an ancestor
    /// of it, a mount point, a symlink, anything that is not a folder, a folder holding the image.
    #[arg(long)]
    pub force: bool,
    /// Print the summary, layout, root filesystems and blobs as JSON on standard output instead
    /// of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(args: Args, progress: &Stderr) -> Result<u8> {
    if std::fs::metadata(&args.image).is_ok_and(|m| m.is_dir()) {
        bail!(
            "{} is a folder: there is nothing to unpack (`iotassure assess` takes an extracted root folder as it is)",
            args.image.display()
        );
    }
    let staged = Staged::new(&args.out, args.force, "unpack", &[args.image.as_path()])?;
    let opts = iotassure_unpack::Options {
        limits: args.limits.limits(),
    };
    let u = iotassure_unpack::unpack(&args.image, &staged.dir, &opts, progress)?;
    std::fs::write(
        staged.dir.join("manifest.json"),
        serde_json::to_string_pretty(&u.tree)?,
    )
    .with_context(|| format!("writing {}", staged.dir.join("manifest.json").display()))?;
    staged.commit()?;
    let s = &u.summary;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "summary": s, "rootfs": u.tree.rootfs, "blobs": u.tree.blobs })
            )?
        );
        return Ok(crate::EXIT_PASS);
    }
    println!(
        "{:<12}{:<12}{:<10}{:<8}DESCRIPTION",
        "DECIMAL", "HEXADECIMAL", "SIZE", "CONF"
    );
    println!("{}", "-".repeat(110));
    let mut last_parent = String::from("image");
    for l in &s.layout {
        let indent = "  ".repeat(l.depth as usize);
        if l.parent != last_parent {
            println!("{indent}in {}:", safe(&l.parent));
            last_parent = l.parent.clone();
        }
        let conf = match l.confidence {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        };
        println!(
            "{indent}{:<12}{:<12}{:<10}{:<8}{}",
            l.offset,
            format!("0x{:X}", l.offset),
            l.size,
            conf,
            safe(&l.description)
        );
    }
    println!("{}", "-".repeat(110));
    print_tree(&u.tree, &args.out);
    println!(
        "\n{} files, {} directories, {} symlinks, {} special entries (recorded, not created), {} bytes written into {}",
        s.files,
        s.dirs,
        s.symlinks,
        s.special,
        s.bytes_written,
        args.out.display()
    );
    if s.partial {
        println!("PARTIAL: the tree is incomplete:");
        for p in &s.problems {
            println!(
                "  {} @0x{:x} {}: {}",
                safe(&p.parent),
                p.offset,
                p.format,
                safe(&p.message)
            );
        }
        for l in &s.limits_hit {
            println!("  limit: {}", safe(l));
        }
    }
    Ok(crate::EXIT_PASS)
}

/// Names and descriptions come from the firmware: control characters (terminal escapes among
/// them) are shown as `\u{..}`, never sent to the terminal.
fn safe(s: &str) -> String {
    crate::output::console_safe(s)
}

/// One line per root filesystem, other extracted folder and blob: what it holds and where it
/// came from.
fn print_tree(tree: &Tree, out: &std::path::Path) {
    println!("TREE");
    let count = |prefix: &str| {
        let p = format!("{prefix}/");
        let mut n = [0u64; 4];
        for e in tree.entries.iter().filter(|e| e.path.starts_with(&p)) {
            match e.kind {
                EntryKind::File => n[0] += 1,
                EntryKind::Dir => n[1] += 1,
                EntryKind::Symlink { .. } => n[2] += 1,
                _ => n[3] += 1,
            }
        }
        n
    };
    for r in &tree.rootfs {
        let [f, d, l, s] = count(&r.path);
        println!(
            "  root filesystem  {}/{}/  {f} files, {d} dirs, {l} symlinks, {s} special  ({})",
            out.display(),
            safe(&r.path),
            safe(&r.provenance)
        );
    }
    for b in &tree.blobs {
        let kind = match b.kind {
            iotassure_core::tree::BlobKind::Kernel => "kernel",
            iotassure_core::tree::BlobKind::McuFirmware => "MCU firmware",
            iotassure_core::tree::BlobKind::Raw => "blob",
        };
        let size = tree
            .entries
            .iter()
            .find(|e| e.path == b.path)
            .map_or(0, |e| e.size);
        println!(
            "  {kind:<15}  {}/{}  {size} bytes{}  ({})",
            out.display(),
            safe(&b.path),
            b.base_address
                .map(|a| format!(", load address 0x{a:X}"))
                .unwrap_or_default(),
            safe(&b.provenance)
        );
    }
}
