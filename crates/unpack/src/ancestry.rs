//! Self-containment: an image whose blob, filesystem or file is a byte-for-byte copy of
//! something it is already inside is not descended into again.

use std::sync::Arc;

/// What a piece of data is inside: the image, then every blob and filesystem on the way down,
/// by size and SHA-256. A blob or file identical to one of them is an image that contains
/// itself (a quine, a squashfs whose files are the squashfs): descending again would only
/// repeat the same work until a cap stops it.
pub type Ancestors = Arc<Vec<Ancestor>>;

#[derive(Debug, Clone)]
pub struct Ancestor {
    pub len: u64,
    pub sha256: [u8; 32],
    /// Its provenance, for the message.
    pub what: String,
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// The ancestor `data` is a copy of, if any; hashes only when a size matches.
pub fn copy_of<'a>(ancestors: &'a [Ancestor], data: &[u8]) -> Option<&'a Ancestor> {
    let len = data.len() as u64;
    if !ancestors.iter().any(|a| a.len == len) {
        return None;
    }
    let h = sha256(data);
    ancestors.iter().find(|a| a.len == len && a.sha256 == h)
}

pub fn with(ancestors: &Ancestors, data: &[u8], what: &str) -> Ancestors {
    let mut v = (**ancestors).clone();
    v.push(Ancestor {
        len: data.len() as u64,
        sha256: sha256(data),
        what: what.to_string(),
    });
    Arc::new(v)
}
