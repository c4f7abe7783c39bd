//! `--max-memory` during inspection: once the heap in use passes the cap, no further check runs,
//! each is recorded as skipped with the reason, and the limit is returned for the report. The
//! heap count is the one the binary's allocator keeps (`iotassure_core::memory`); this test
//! raises it by hand to stand for a heap already full, which is why it is a test binary of its
//! own: no other test shares the counter.

use std::fs;

use iotassure_core::finding::{Outcome, RunStatus};
use iotassure_core::memory;
use iotassure_core::progress::NoProgress;
use iotassure_inspect::{inspect_within, Options};

#[test]
fn past_the_cap_no_check_runs_and_each_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/passwd"), "root::0:0:root:/root:/bin/sh\n").unwrap();
    let up = iotassure_unpack::unpack(
        &root,
        &tmp.path().join("unused"),
        &Default::default(),
        &NoProgress,
    )
    .expect("folder");
    let opts = Options {
        max_memory: 64 << 20,
        ..Options::default()
    };

    let free = inspect_within(&up.tree, &opts, &NoProgress);
    assert!(free.limits_hit.is_empty(), "{:?}", free.limits_hit);
    assert!(free
        .observations
        .findings
        .iter()
        .any(|f| f.outcome == Outcome::Fail && f.title.contains("empty password")));

    let held = 100usize << 20;
    memory::add(held);
    let full = inspect_within(&up.tree, &opts, &NoProgress);
    memory::sub(held);

    assert!(
        full.observations.findings.is_empty(),
        "nothing judged on files never read"
    );
    assert!(!full.observations.checks.is_empty());
    for c in &full.observations.checks {
        match &c.status {
            RunStatus::Skipped { reason } => {
                assert!(reason.contains("--max-memory"), "{}: {reason}", c.check)
            }
            other => panic!("{} ran past the cap: {other:?}", c.check),
        }
    }
    assert_eq!(full.limits_hit.len(), 2, "{:?}", full.limits_hit);
    assert!(
        full.limits_hit[0].contains("1 file(s)"),
        "{:?}",
        full.limits_hit
    );
    assert!(
        full.limits_hit[1].contains("did not run"),
        "{:?}",
        full.limits_hit
    );
}
