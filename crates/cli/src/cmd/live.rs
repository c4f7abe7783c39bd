//! Live evidence for `assess`: the device and the published documents. (The `probe` and document
//! checks fill this in; without --device or --doc there is nothing to gather.)

use clap::Args;
use iotassure_core::finding::Observations;
use iotassure_core::progress::Progress;

#[derive(Args, Debug, Clone, Default)]
pub struct LiveArgs {}

/// What live evidence gathering produced.
#[derive(Debug, Default)]
pub struct Live {
    pub observations: Observations,
    /// The device target probed, if any.
    pub device: Option<String>,
    /// Documents assessed (files or URLs as given).
    pub documents: Vec<String>,
}

pub fn gather(_args: &LiveArgs, _progress: &dyn Progress) -> anyhow::Result<Live> {
    Ok(Live::default())
}
