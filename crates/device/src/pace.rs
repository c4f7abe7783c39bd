//! Bounds shared by every probe: a global rate cap on new connections and datagrams, and the
//! wall-clock budget of the run.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: at most `rate` events per second over any second, with a small burst.
#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    state: Mutex<(Instant, f64)>,
}

impl Pacer {
    pub fn new(rate: u32) -> Pacer {
        Pacer {
            rate: rate.max(1) as f64,
            state: Mutex::new((Instant::now(), 0.0)),
        }
    }

    /// Takes one token, sleeping as long as needed to stay under the rate.
    pub fn acquire(&self) {
        let wait = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let burst = (self.rate / 50.0).max(1.0);
            // Tokens owed: earlier debt minus what elapsed time paid off (never below -burst).
            let paid = now.duration_since(st.0).as_secs_f64() * self.rate;
            st.1 = (st.1 - paid).max(-burst) + 1.0;
            st.0 = now;
            if st.1 > 0.0 {
                Duration::from_secs_f64(st.1 / self.rate)
            } else {
                Duration::ZERO
            }
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

/// A bound on time, checked by every loop.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

impl Deadline {
    pub fn after(d: Duration) -> Deadline {
        Deadline(Instant::now() + d)
    }

    pub fn expired(&self) -> bool {
        Instant::now() >= self.0
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    /// The earlier of this deadline and `d` from now.
    pub fn within(&self, d: Duration) -> Deadline {
        Deadline(self.0.min(Instant::now() + d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_holds_the_rate() {
        let p = Pacer::new(200);
        let t = Instant::now();
        for _ in 0..60 {
            p.acquire();
        }
        let e = t.elapsed().as_secs_f64();
        // 60 events at 200/s, minus a burst of 4: at least ~0.27 s.
        assert!(e > 0.25, "{e}");
    }
}
