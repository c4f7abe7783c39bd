//! Progress on stderr: a spinner with the current step on a terminal, plain stage lines
//! otherwise (CI logs), nothing with --quiet.

use indicatif::{ProgressBar, ProgressStyle};
use iotassure_core::progress::Progress;
use std::io::IsTerminal;
use std::time::Duration;

pub struct Stderr {
    bar: Option<ProgressBar>,
    plain: bool,
    quiet: bool,
}

impl Stderr {
    pub fn new(quiet: bool) -> Stderr {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                    .expect("template"),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Stderr {
            bar,
            plain: !quiet && !tty,
            quiet,
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// A line that stays (results, warnings).
    pub fn line(&self, msg: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(msg),
            None => eprintln!("{msg}"),
        }
    }
}

impl Progress for Stderr {
    fn stage(&self, name: &str) {
        if let Some(b) = &self.bar {
            b.set_prefix(name.to_string());
            b.set_message("");
        } else if self.plain {
            eprintln!("==> {name}");
        }
    }

    fn note(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        }
    }
}
