//! `iotassure probe`: live-device evidence alone.

use clap::Args as ClapArgs;

use crate::progress::Stderr;

#[derive(ClapArgs, Debug)]
pub struct Args {
    /// The device to probe: an IP address or host name.
    pub target: String,
}

pub fn run(args: Args, _progress: &Stderr) -> anyhow::Result<u8> {
    anyhow::bail!(
        "probing {} is not available in this build yet (the live-device probes are being built)",
        args.target
    )
}
