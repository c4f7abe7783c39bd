//! One file per subcommand. Each defines its clap `Args` (or `Command`) and a `run` that returns
//! the exit status.

pub mod advisories;
pub mod advisories_db;
pub mod assess;
pub mod attest;
pub mod catalog;
pub mod diff;
pub mod emulate;
pub mod ics;
pub mod intercept;
pub mod live;
pub mod probe;
pub mod report;
pub mod serve;
pub mod tc;
pub mod tc_desk;
pub mod track_record;
pub mod unpack;
pub mod worker;

use std::time::Duration;

use clap::Args;
use iotassure_unpack::Limits;

/// Caps for unpacking hostile images (shared by `assess` and `unpack`).
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Maximum nesting depth of containers (image → lzma → cpio is 2).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub depth: u32,
    /// Maximum total bytes written, in MiB.
    #[arg(long = "max-total", default_value_t = 4096, value_name = "MIB")]
    pub max_total_mib: u64,
    /// Maximum size of one extracted file or stream, in MiB.
    #[arg(long = "max-file-size", default_value_t = 1024, value_name = "MIB")]
    pub max_file_mib: u64,
    /// Maximum number of extracted entries.
    #[arg(long = "max-files", default_value_t = 500_000, value_name = "N")]
    pub max_files: u64,
    /// Maximum expansion ratio of one chunk (checked once it has produced 32 MiB).
    #[arg(long = "max-ratio", default_value_t = 1000, value_name = "N")]
    pub max_ratio: u64,
    /// Maximum wall time for unpacking, in seconds.
    #[arg(long = "max-time", default_value_t = 600, value_name = "SECS")]
    pub max_time: u64,
    /// Heap in use, in MiB, past which extraction stops (checked before each write and each
    /// entry; the report is then PARTIAL, naming this cap).
    #[arg(long = "max-memory", default_value_t = 2048, value_name = "MIB")]
    pub max_memory_mib: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_total_bytes: self.max_total_mib << 20,
            max_file_bytes: self.max_file_mib << 20,
            max_files: self.max_files,
            max_depth: self.depth,
            max_ratio: self.max_ratio,
            max_time: Duration::from_secs(self.max_time),
            max_memory: self.max_memory_mib << 20,
            ..Limits::default()
        }
    }
}
