//! Renderings of the canonical report ([`iotassure_assess::Report`]). JSON is the report itself;
//! everything here is derived from it, so `iotassure report render` can redo any of them later.

mod chart;
mod cyclonedx;
mod front;
mod html;
mod markdown;

pub use cyclonedx::cyclonedx;
pub use html::html;
pub use markdown::{markdown, table_b1};

use iotassure_assess::model::{Basis, Verdict};

pub(crate) fn basis_str(b: Basis) -> &'static str {
    match b {
        Basis::Verified => "verified",
        Basis::Declared => "declared",
        Basis::None => "-",
    }
}

pub(crate) fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Inconclusive => "inconclusive",
        Verdict::NotApplicable => "na",
    }
}
