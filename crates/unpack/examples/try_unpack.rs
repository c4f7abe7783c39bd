fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::Path::new(&args[2]);
    let _ = std::fs::remove_dir_all(out);
    let t = std::time::Instant::now();
    match iotassure_unpack::unpack(
        args[1].as_ref(),
        out,
        &Default::default(),
        &iotassure_core::NoProgress,
    ) {
        Ok(u) => {
            for l in &u.summary.layout {
                println!(
                    "{:>2} {:<40} 0x{:08x} {:>9} {}",
                    l.depth, l.parent, l.offset, l.size, l.description
                );
            }
            println!(
                "files {} dirs {} symlinks {} special {} partial {} rootfs {:?} blobs {:?}",
                u.summary.files,
                u.summary.dirs,
                u.summary.symlinks,
                u.summary.special,
                u.summary.partial,
                u.tree.rootfs,
                u.tree
                    .blobs
                    .iter()
                    .map(|b| (&b.path, b.kind))
                    .collect::<Vec<_>>()
            );
            for p in &u.summary.problems {
                println!(
                    "PROBLEM {} @0x{:x} {}: {}",
                    p.parent, p.offset, p.format, p.message
                );
            }
        }
        Err(e) => println!("ERROR {e}"),
    }
    println!("{:?}", t.elapsed());
}
