//! Symlinks are created on disk only once the whole image is extracted, and only those whose
//! final target, followed through every other link of the image (chains, links to links in
//! other folders), stays inside the root of the filesystem that holds them.
//!
//! Checking each link on its own is not enough: `d1/d2/l1 -> ../..` and `up1 -> d1/d2/l1/..`
//! each look contained, yet `up1` names the folder above the filesystem, and a chain of such
//! links climbs one level per link until it reaches the host's `/`. The resolution here walks
//! the way the kernel walks the extracted tree (a relative target from the link's folder, `..`
//! physical), so what it accepts is what a later `cat` or `grep -r` on the output would reach.

use std::collections::HashMap;

/// As the kernel (and the inspection view): a chain longer than this is a loop.
pub const MAX_HOPS: usize = 40;

/// A link the image declared: where, what it points to, and the filesystem folder it lives in
/// (all relative to the output root).
#[derive(Debug, Clone)]
pub struct Declared {
    pub rel: String,
    pub target: String,
    pub fs_root: String,
}

/// Why a link was not created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Its final target (after `hops` links) lies above the filesystem's root.
    Escapes { hops: usize },
    /// More than [`MAX_HOPS`] links in a row, or a loop.
    TooManyHops,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Escapes { hops: 0 } => {
                write!(f, "escaping link: its target climbs above the image root")
            }
            Refusal::Escapes { hops } => write!(
                f,
                "escaping link: followed through {hops} other link(s), its target climbs above the image root"
            ),
            Refusal::TooManyHops => write!(
                f,
                "link chain longer than {MAX_HOPS} hops (a loop?): its target cannot be resolved"
            ),
        }
    }
}

fn comps(s: &str) -> impl DoubleEndedIterator<Item = &str> {
    s.split('/').filter(|c| !c.is_empty() && *c != ".")
}

/// Resolves `link` against `links` (every link that will exist on disk, by path): `Ok` when
/// its final target stays inside `link.fs_root`.
pub fn check(link: &Declared, links: &HashMap<&str, &Declared>) -> Result<(), Refusal> {
    let root: Vec<&str> = comps(&link.fs_root).collect();
    let mut current: Vec<&str> = comps(&link.rel).collect();
    current.pop(); // the link's own folder
    let mut pending: Vec<&str> = Vec::new();
    let mut target = link.target.as_str();
    let mut hops = 0usize;
    loop {
        if target.starts_with('/') {
            current.truncate(root.len());
        }
        pending.extend(comps(target).rev());
        let mut followed = false;
        while let Some(c) = pending.pop() {
            if c == ".." {
                if current.len() <= root.len() {
                    return Err(Refusal::Escapes { hops });
                }
                current.pop();
                continue;
            }
            current.push(c);
            if let Some(next) = links.get(current.join("/").as_str()) {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(Refusal::TooManyHops);
                }
                current.pop();
                // A link of another filesystem is followed as the disk would, but it is judged
                // against this link's root.
                target = next.target.as_str();
                followed = true;
                break;
            }
        }
        if !followed {
            return Ok(());
        }
    }
}

/// The on-disk target: relative targets as they are (the walk above followed them as the
/// kernel will); absolute ones rewritten relative to the link's folder so that they land in the
/// filesystem's root folder, not the host's.
pub fn disk_target(link: &Declared) -> String {
    if !link.target.starts_with('/') {
        return link.target.clone();
    }
    let inside = link
        .rel
        .strip_prefix(link.fs_root.as_str())
        .unwrap_or(&link.rel)
        .trim_start_matches('/');
    let depth = inside.split('/').count().saturating_sub(1);
    let mut s = "../".repeat(depth);
    s.push_str(&comps(&link.target).collect::<Vec<_>>().join("/"));
    if s.is_empty() {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(rel: &str, target: &str) -> Declared {
        Declared {
            rel: format!("fs/{rel}"),
            target: target.into(),
            fs_root: "fs".into(),
        }
    }

    fn judge(all: &[Declared]) -> Vec<Result<(), Refusal>> {
        let map: HashMap<&str, &Declared> = all.iter().map(|l| (l.rel.as_str(), l)).collect();
        all.iter().map(|l| check(l, &map)).collect()
    }

    #[test]
    fn single_links() {
        let r = judge(&[
            decl("bin/sh", "busybox"),
            decl("etc/x", "/tmp/x"),
            decl("a", "/"),
            decl("bin/y", "../../etc/shadow"),
            decl("bin/z", "/../etc"),
        ]);
        assert_eq!(r[0], Ok(()));
        assert_eq!(r[1], Ok(()));
        assert_eq!(r[2], Ok(()));
        assert_eq!(r[3], Err(Refusal::Escapes { hops: 0 }));
        assert_eq!(r[4], Err(Refusal::Escapes { hops: 0 }));
    }

    #[test]
    fn a_chain_that_climbs_one_level_per_link_escapes() {
        let mut all = vec![decl("d1/d2/l1", "../.."), decl("up1", "d1/d2/l1/..")];
        for n in 2..=20 {
            all.push(decl(&format!("up{n}"), &format!("up{}/..", n - 1)));
        }
        let r = judge(&all);
        assert_eq!(r[0], Ok(()), "l1 names the root itself");
        assert_eq!(r[1], Err(Refusal::Escapes { hops: 1 }));
        assert!(r[2..]
            .iter()
            .all(|x| matches!(x, Err(Refusal::Escapes { .. }))));
    }

    #[test]
    fn loops_and_long_chains_are_refused() {
        let r = judge(&[decl("a", "b"), decl("b", "a"), decl("c", "c/x")]);
        assert!(r.iter().all(|x| *x == Err(Refusal::TooManyHops)), "{r:?}");
        assert_eq!(disk_target(&decl("etc/x", "/tmp/x")), "../tmp/x");
        assert_eq!(disk_target(&decl("a", "/")), ".");
    }
}
