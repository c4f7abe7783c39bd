//! TODO
use super::{Anchor, Chunk, Format, Kind};

pub static FORMAT: Format = Format {
    id: "ext",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[],
    identify,
    extract: None,
};

fn identify(_d: &[u8], _s: usize) -> Option<Chunk> {
    None
}
