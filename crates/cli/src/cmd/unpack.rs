//! `iotassure unpack`: an image → a folder of files, with the layout printed the way binwalk
//! users expect and every file's provenance in manifest.json.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args as ClapArgs;
use iotassure_core::layout::Confidence;

use super::LimitArgs;
use crate::progress::Stderr;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Writes the extracted files under OUT (one folder per chunk, named OFFSET-FORMAT) and OUT/manifest.json, which lists every entry with its mode, owner and provenance chain.\n\nExample:\n  iotassure unpack firmware.bin --out firmware.extracted"
)]
pub struct Args {
    /// The firmware image.
    pub image: PathBuf,
    /// Output folder (created; must be empty).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Print the summary and layout as JSON on standard output instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(args: Args, progress: &Stderr) -> Result<u8> {
    let opts = iotassure_unpack::Options {
        limits: args.limits.limits(),
    };
    let u = iotassure_unpack::unpack(&args.image, &args.out, &opts, progress)?;
    if u.tree.root.starts_with(&args.out) || args.out.exists() {
        std::fs::write(
            args.out.join("manifest.json"),
            serde_json::to_string_pretty(&u.tree)?,
        )
        .ok();
    }
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
        "{:<14}{:<14}{:<10}{:<8}DESCRIPTION",
        "DECIMAL", "HEXADECIMAL", "SIZE", "CONF"
    );
    println!("{}", "-".repeat(100));
    for l in &s.layout {
        let indent = "  ".repeat(l.depth as usize);
        let conf = match l.confidence {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        };
        if l.depth > 0 && l.offset == 0 {
            println!("{indent}in {}:", l.parent);
        }
        println!(
            "{indent}{:<14}{:<14}{:<10}{:<8}{}",
            l.offset,
            format!("0x{:X}", l.offset),
            l.size,
            conf,
            l.description
        );
    }
    println!("{}", "-".repeat(100));
    println!(
        "{} files, {} directories, {} symlinks, {} special entries, {} bytes written into {}",
        s.files,
        s.dirs,
        s.symlinks,
        s.special,
        s.bytes_written,
        args.out.display()
    );
    for r in &u.tree.rootfs {
        println!(
            "root filesystem: {}/{} ({})",
            args.out.display(),
            r.path,
            r.provenance
        );
    }
    for b in &u.tree.blobs {
        println!(
            "blob ({:?}): {}/{} ({})",
            b.kind,
            args.out.display(),
            b.path,
            b.provenance
        );
    }
    if s.partial {
        println!("PARTIAL: the tree is incomplete:");
        for p in &s.problems {
            println!(
                "  {} @0x{:x} {}: {}",
                p.parent, p.offset, p.format, p.message
            );
        }
        for l in &s.limits_hit {
            println!("  limit: {l}");
        }
    }
    Ok(crate::EXIT_PASS)
}
