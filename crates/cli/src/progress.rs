//! Progress on stderr: a spinner with the current step on a terminal, plain stage lines
//! otherwise (CI logs), nothing with --quiet.

use indicatif::{ProgressBar, ProgressStyle};
use iotassure_core::progress::Progress;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

pub struct Stderr {
    bar: Option<ProgressBar>,
    plain: bool,
    quiet: bool,
    /// The bar's current look: 0 spinner, 1 bar with a total, 2 spinner with a count.
    mode: AtomicU8,
}

impl Stderr {
    pub fn new(quiet: bool) -> Stderr {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(spinner_style());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Stderr {
            bar,
            plain: !quiet && !tty,
            quiet,
            mode: AtomicU8::new(0),
        }
    }

    /// Draws into `bar` (a hidden one in tests).
    #[cfg(test)]
    fn with_bar(bar: ProgressBar) -> Stderr {
        Stderr {
            bar: Some(bar),
            plain: false,
            quiet: false,
            mode: AtomicU8::new(0),
        }
    }

    fn look(&self, b: &ProgressBar, mode: u8) {
        if self.mode.swap(mode, Ordering::Relaxed) != mode {
            b.set_style(match mode {
                1 => bar_style(),
                2 => counter_style(),
                _ => spinner_style(),
            });
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

/// A stage without a count: a spinner and the current step.
fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}").expect("template")
}

/// A stage with a known total: a bar with the count and the time left.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} (ETA {eta}) {wide_msg}")
        .expect("template")
        .progress_chars("=> ")
}

/// A stage with an open count: a spinner and the number so far.
fn counter_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:.bold} {pos} {wide_msg}").expect("template")
}

impl Progress for Stderr {
    fn stage(&self, name: &str) {
        if let Some(b) = &self.bar {
            self.look(b, 0);
            b.unset_length();
            b.set_position(0);
            b.reset_eta();
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

    fn count(&self, done: u64, total: Option<u64>) {
        let Some(b) = &self.bar else { return };
        match total {
            Some(t) => {
                self.look(b, 1);
                if b.length() != Some(t) {
                    b.set_length(t);
                }
            }
            None => {
                self.look(b, 2);
                b.unset_length();
            }
        }
        b.set_position(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_total_becomes_a_bar_and_a_new_stage_starts_over() {
        let bar = ProgressBar::hidden();
        let p = Stderr::with_bar(bar.clone());
        p.stage("probing");
        p.count(250, Some(1000));
        assert_eq!((bar.position(), bar.length()), (250, Some(1000)));
        assert_eq!(p.mode.load(Ordering::Relaxed), 1);
        p.stage("unpacking");
        assert_eq!((bar.position(), bar.length()), (0, None));
        p.count(17, None);
        assert_eq!((bar.position(), bar.length()), (17, None));
        assert_eq!(p.mode.load(Ordering::Relaxed), 2);
    }
}
