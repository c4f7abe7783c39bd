//! Unpacking shows how many entries it has written as it goes (an open count: the total is
//! known only at the end), and the last count shown is the number of entries in the tree.

use std::sync::Mutex;

use iotassure_core::progress::Progress;
use iotassure_testkit::unpack as tk;
use iotassure_unpack::{unpack, Options};

#[derive(Default)]
struct Recorder {
    counts: Mutex<Vec<(u64, Option<u64>)>>,
}

impl Progress for Recorder {
    fn stage(&self, _: &str) {}
    fn note(&self, _: &str) {}
    fn count(&self, done: u64, total: Option<u64>) {
        self.counts.lock().unwrap().push((done, total));
    }
}

#[test]
fn unpacking_counts_the_entries_it_writes() {
    let t = tempfile::tempdir().unwrap();
    let root = tk::sample_root(&t.path().join("root"));
    let tar = tk::tar(&root, &t.path().join("fs.tar"), &[]);
    let rec = Recorder::default();
    let up = unpack(&tar, &t.path().join("out"), &Options::default(), &rec).unwrap();
    let counts = rec.counts.into_inner().unwrap();
    assert!(!counts.is_empty());
    assert!(
        counts.iter().all(|(_, total)| total.is_none()),
        "{counts:?}"
    );
    assert!(
        counts.windows(2).all(|w| w[0].0 <= w[1].0),
        "never counts back: {counts:?}"
    );
    let (last, _) = *counts.last().unwrap();
    assert!(up.tree.entries.len() > 5);
    assert_eq!(last, up.tree.entries.len() as u64, "{counts:?}");
}
