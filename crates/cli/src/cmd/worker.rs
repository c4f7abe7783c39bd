//! `iotassure worker`: take firmware uploaded to the trust center and assess it with the same
//! pipeline as `iotassure assess`; several workers on several machines may share one queue.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Each job runs `iotassure assess IMAGE --ics STATEMENT --doc … --profile P` (this same binary) and stores the report as an assessment, in the transaction that marks the job done. A job is claimed with a lease; if a worker dies, its job is taken again once the lease passes (at most 3 attempts), and a worker whose lease passed stores nothing: no job is lost or done twice.\n\nThe worker reads the uploads in DATA/uploads: on several machines, share the data folder.\n\nExamples:\n  iotassure worker --data ./tc                                   (SQLite, beside `iotassure serve --data ./tc`)\n  iotassure worker --data /srv/tc --db postgres://tc@db/trustcenter\n  iotassure worker --data ./tc --exit-when-idle                  (drain the queue, then stop)"
)]
pub struct Args {
    /// The trust center's data folder (uploads; the SQLite database unless --db).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(long, value_name = "URL", env = "IOTASSURE_DB")]
    pub db: Option<String>,
    /// Stop when no job is waiting, instead of polling.
    #[arg(long = "exit-when-idle")]
    pub exit_when_idle: bool,
    /// Seconds between looks at an empty queue.
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    pub poll: u64,
    /// Longest one assessment may run, in seconds (the job's lease is this plus a minute).
    #[arg(long = "job-timeout", default_value_t = 1800, value_name = "SECS")]
    pub job_timeout: u64,
}

pub fn run(args: Args) -> Result<u8> {
    let exe = std::env::current_exe().context("locating the iotassure binary")?;
    let config = iotassure_trustcenter::Config {
        data_dir: args.data.unwrap_or_else(super::serve::default_data_dir),
        db_url: args.db,
        ..Default::default()
    };
    let name = format!(
        "worker:{}:{}",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap_or_default()
            .trim(),
        std::process::id()
    );
    let timeout = Duration::from_secs(args.job_timeout);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let st = iotassure_trustcenter::server::open(config).await?;
        eprintln!("{name}: waiting for jobs");
        loop {
            let job =
                iotassure_trustcenter::jobs::claim(&st, &name, timeout + Duration::from_secs(60))
                    .await
                    .map_err(|p| anyhow::anyhow!(p.detail))?;
            let Some(job) = job else {
                if args.exit_when_idle {
                    return Ok::<_, anyhow::Error>(());
                }
                tokio::time::sleep(Duration::from_secs(args.poll)).await;
                continue;
            };
            eprintln!("{name}: job {} (attempt {})", job.id, job.attempts);
            let exe = exe.clone();
            let (claimed, result) = tokio::task::spawn_blocking(move || {
                let r = iotassure_trustcenter::jobs::assess(&exe, &job, timeout);
                (job, r)
            })
            .await?;
            match result {
                Ok(report) => {
                    match iotassure_trustcenter::jobs::finish(&st, &name, &claimed, &report).await {
                        Ok(a) => eprintln!("{name}: job {} done: assessment {a}", claimed.id),
                        Err(p) => {
                            eprintln!("{name}: job {}: {}", claimed.id, p.detail);
                            let _ =
                                iotassure_trustcenter::jobs::fail(&st, &name, &claimed, &p.detail)
                                    .await;
                        }
                    }
                }
                Err(why) => {
                    eprintln!("{name}: job {} failed: {why}", claimed.id);
                    iotassure_trustcenter::jobs::fail(&st, &name, &claimed, &why)
                        .await
                        .map_err(|p| anyhow::anyhow!(p.detail))?;
                }
            }
        }
    })?;
    Ok(crate::EXIT_PASS)
}
