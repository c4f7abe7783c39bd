//! Progress reporting for long work. The CLI draws it on stderr; libraries only call it.

pub trait Progress: Sync {
    /// A new stage begins ("unpacking", "inspecting").
    fn stage(&self, name: &str);
    /// A line of detail within the stage.
    fn note(&self, msg: &str);
    /// `done` items of the stage's work, out of `total` when it is known (a bar with an ETA),
    /// or an open count (a spinner with the number).
    fn count(&self, _done: u64, _total: Option<u64>) {}
}

/// Discards progress (tests, library callers that do not care).
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str) {}
    fn note(&self, _: &str) {}
}
