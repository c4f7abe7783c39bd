//! `iotassure`: assess consumer IoT products against ETSI EN 303 645 and the schemes built on it.

mod alloc;
mod cmd;
mod errors;
mod output;
mod pdf;
mod progress;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status: 0 when the chosen profile passes, 1 when it does not (FAIL or INCOMPLETE),
/// 2 on any error (bad input, bad arguments, I/O).
pub const EXIT_PASS: u8 = 0;
pub const EXIT_NOT_PASSED: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "iotassure",
    version,
    about = "Assess consumer IoT products against ETSI EN 303 645 (and UK PSTI, UK CoP, TEC, OWASP IoT)",
    long_about = "iotassure assesses a consumer IoT product from its evidence - the firmware image, the live device and the maker's published documents - and gives every EN 303 645 provision a verdict (PASS, FAIL, INCONCLUSIVE, NOT APPLICABLE) with evidence a person can check.\n\nStart with:\n  iotassure assess firmware.bin --out report/\n  iotassure catalog list\n  iotassure ics init > statement.yaml",
    after_help = "Exit status: 0 = the selected profile passes; 1 = it fails or is incomplete; 2 = error."
)]
struct Cli {
    /// No progress output on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assess a product: unpack and inspect a firmware image (optionally probe the live device and
    /// check published documents), decide every provision, and write the reports.
    Assess(Box<cmd::assess::Args>),
    /// Compare two releases (images or report.json files) for security; exit 1 when the new one
    /// regresses.
    Diff(cmd::diff::Args),
    /// Unpack a firmware image into a folder, printing its layout (like binwalk -Me).
    Unpack(cmd::unpack::Args),
    /// Probe a live device over the network (ports, services, TLS, default credentials).
    Probe(Box<cmd::probe::Args>),
    /// Test the device as a TLS client: serve untrusted certificates where the lab steers it.
    Intercept(cmd::intercept::Args),
    /// Work with implementation conformance statements (EN 303 645 Annex B, table B.1).
    #[command(subcommand)]
    Ics(cmd::ics::Command),
    /// Browse and export the catalogue of provisions, conditions, schemes and profiles.
    #[command(subcommand)]
    Catalog(cmd::catalog::Command),
    /// Render a saved report.json again, or print its JSON Schema.
    #[command(subcommand)]
    Report(cmd::report::Command),
    /// Run the trust center: registry, certificates, signed attestations, admission, re-check.
    Serve(cmd::serve::Args),
    /// Assess firmware uploaded to the trust center (a queue several workers may share).
    Worker(cmd::worker::Args),
    /// The trust center's client: submit, certify, admission, advisories, audit.
    Tc(cmd::tc::Args),
    /// Verify signed attestations offline.
    #[command(subcommand)]
    Attest(cmd::attest::Command),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `iotassure completions bash > /etc/bash_completion.d/iotassure`.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `iotassure man | man -l -`.
    Man,
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let progress = progress::Stderr::new(cli.quiet);
    let result = match cli.command {
        Command::Assess(a) => cmd::assess::run(*a, &progress),
        Command::Diff(a) => cmd::diff::run(a),
        Command::Unpack(a) => cmd::unpack::run(a, &progress),
        Command::Probe(a) => cmd::probe::run(*a, &progress),
        Command::Intercept(a) => cmd::intercept::run(a, &progress),
        Command::Ics(c) => cmd::ics::run(c),
        Command::Catalog(c) => cmd::catalog::run(c),
        Command::Report(c) => cmd::report::run(c),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Worker(a) => cmd::worker::run(a),
        Command::Tc(a) => cmd::tc::run(a),
        Command::Attest(c) => cmd::attest::run(c),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "iotassure",
                &mut buf,
            );
            write_stdout(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut buf)
                .map_err(anyhow::Error::from)
                .and_then(|()| write_stdout(&buf))
        }
    };
    progress.finish();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", errors::render(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `iotassure catalog export | head` must end quietly, as other Unix tools do, not with a panic
/// in `println!` on a closed pipe. SIGPIPE itself stays ignored (the network commands must see
/// EPIPE on a socket as an error, not die of it): only a failed write to standard output ends
/// the process, silently, with the status a shell shows for SIGPIPE.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Writes `bytes` to standard output; a reader that went away ends it quietly (141).
fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(EXIT_PASS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(141),
        Err(e) => Err(anyhow::Error::from(e).context("writing to standard output")),
    }
}
