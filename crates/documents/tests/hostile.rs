//! Hostile and malformed input never panics and stays fast: mutated sample documents, random
//! bytes, deep or broken markup, huge single lines. (A deterministic mutation fuzzer: no extra
//! dependencies, reproducible from the seed in the failure message.)

mod common;

use std::time::{Duration, Instant};

use iotassure_documents::assess_texts;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPLICE: &[&str] = &[
    "<",
    ">",
    "</",
    "<!--",
    "-->",
    "<script>",
    "&",
    "&#x1F600;",
    "&#99999999;",
    "|",
    " | ",
    "\n\n",
    "\r",
    ".",
    ". ",
    "—",
    "é",
    "💥",
    "\u{feff}",
    "Expires: ",
    "Contact: ",
    "Policy: ",
    "-----BEGIN PGP SIGNED MESSAGE-----\n",
    "-----BEGIN PGP SIGNATURE-----\n",
    "- ",
    "31 December 2099",
    "2027-02-30",
    "within 5 days",
    "every 14 days",
    "not ",
    "no ",
    "lifetime of the product",
    "cannot be updated",
    "\0",
    "\u{2028}",
];

#[test]
fn mutated_documents_never_panic() {
    let mut samples = Vec::new();
    for set in ["good", "bad"] {
        for e in std::fs::read_dir(common::examples().join(set)).unwrap() {
            let p = e.unwrap().path();
            samples.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
    let seed = 0x5eed_u64;
    let mut rng = Rng(seed);
    for round in 0..400 {
        let (name, base) = &samples[rng.below(samples.len())];
        let mut s: Vec<char> = base.chars().collect();
        for _ in 0..1 + rng.below(12) {
            let at = rng.below(s.len() + 1);
            match rng.below(4) {
                0 => {
                    let piece = SPLICE[rng.below(SPLICE.len())];
                    for (k, c) in piece.chars().enumerate() {
                        s.insert(at + k, c);
                    }
                }
                1 if !s.is_empty() => {
                    let n = rng.below(40).min(s.len() - at.min(s.len()));
                    s.drain(at.min(s.len())..at.min(s.len()) + n);
                }
                2 => s.truncate(at),
                _ => s.insert(at, char::from_u32(rng.below(0x3000) as u32).unwrap_or('x')),
            }
        }
        let text: String = s.into_iter().collect();
        let r = std::panic::catch_unwind(|| assess_texts(&[(name.clone(), text.clone())]));
        assert!(
            r.is_ok(),
            "seed {seed:#x} round {round} panicked on {name}:\n{text}"
        );
    }
}

#[test]
fn pathological_shapes_are_fast() {
    let big_line = "a ".repeat(2 << 20);
    let no_newlines = "Support period. ".repeat(200_000);
    let many_lines = "short line\n".repeat(300_000);
    let deep_tags = "<div>".repeat(200_000);
    let open_comment = format!("<html><!--{}", "x".repeat(1 << 20));
    let table = format!(
        "<table>{}</table>",
        "<tr><td>Security updates until</td><td>2030-01-01</td></tr>".repeat(50_000)
    );
    for (what, text) in [
        ("one 4 MB line", big_line),
        ("sentences without newlines", no_newlines),
        ("300k short lines", many_lines),
        ("200k nested divs", deep_tags),
        ("unterminated comment", open_comment),
        ("50k table rows", table),
    ] {
        let t0 = Instant::now();
        let _ = assess_texts(&[("doc.html".into(), text)]);
        // Generous: a debug build on a shared 2-core machine. Quadratic behaviour takes minutes.
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{what}: {:?}",
            t0.elapsed()
        );
        eprintln!("{what}: {:?}", t0.elapsed());
    }
}
