//! Damaged and hostile images end in a report, never in an abort: a corrupt stream is a
//! problem recorded at its offset in a PARTIAL report (exit 0 or 1), and no nesting turns into a
//! crash.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn demo_image() -> Vec<u8> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-router/demo-router.img");
    fs::read(p).expect("the demo image")
}

/// Runs `iotassure assess` on `bytes`; returns the output and report.json, if written.
fn assess(dir: &Path, name: &str, bytes: &[u8], extra: &[&str]) -> (Output, Option<Value>) {
    let image = dir.join(name);
    fs::write(&image, bytes).unwrap();
    let out = dir.join(format!("{name}.report"));
    let o = bin()
        .arg("-q")
        .arg("assess")
        .arg(&image)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let report = fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (o, report)
}

fn describe(o: &Output) -> String {
    format!(
        "status {:?}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
            .chars()
            .take(2000)
            .collect::<String>()
    )
}

/// xorshift64: the same damage on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The image's top-level chunks: (offset, end).
fn chunks(report: &Value) -> Vec<(u64, u64)> {
    report["subject"]["firmware"]["layout"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["depth"] == 0 && l["format"] != "padding" && l["format"] != "unknown")
        .map(|l| {
            let off = l["offset"].as_u64().unwrap();
            (off, off + l["size"].as_u64().unwrap())
        })
        .collect()
}

fn problems(report: &Value) -> Vec<(String, u64, String)> {
    report["subject"]["firmware"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["parent"].as_str().unwrap().to_string(),
                p["offset"].as_u64().expect("every problem has an offset"),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Flipped bytes and truncations of the demo image (a squashfs with xz): before, most copies
/// ended in exit 2 ("nothing to inspect", with `xz: lzma data error` as the reason) although
/// `unpack` recorded the damage and went on. Every copy must now be assessed (exit 0 or 1), and
/// where the damage cut into a chunk, report.json marks the firmware evidence partial with the
/// problem at that chunk's offset.
#[test]
fn damaged_copies_of_the_demo_image_are_assessed() {
    let img = demo_image();
    let t = tempfile::tempdir().unwrap();
    let (o, pristine) = assess(t.path(), "pristine.img", &img, &[]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", describe(&o));
    let pristine = pristine.expect("a report");
    let top = chunks(&pristine);
    assert!(!top.is_empty());

    let mut rng = Rng(0x1070_a55e_2024);
    let mut partial = 0;
    let copies = 30;
    for i in 0..copies {
        let mut d = img.clone();
        let truncated = i % 4 == 3;
        let what = if truncated {
            let len = img.len() / 4 + rng.below(img.len() * 3 / 4);
            d.truncate(len);
            format!("truncated to {len} bytes")
        } else {
            let mut at = Vec::new();
            for _ in 0..1 + rng.below(8) {
                let o = rng.below(d.len());
                d[o] ^= 1 << rng.below(8);
                at.push(o);
            }
            format!("bytes flipped at {at:?}")
        };
        let (o, report) = assess(t.path(), &format!("copy{i}.img"), &d, &[]);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "copy {i} ({what}): {}",
            describe(&o)
        );
        let report = report.unwrap_or_else(|| panic!("copy {i} ({what}): no report"));
        let fw = &report["subject"]["firmware"];
        let probs = problems(&report);
        if fw["partial"] == true {
            partial += 1;
            assert!(
                !probs.is_empty() || !fw["limits_hit"].as_array().unwrap().is_empty(),
                "copy {i} ({what}): partial without a problem"
            );
        }
        if truncated {
            // The first chunk the cut goes through is named at its offset.
            let len = d.len() as u64;
            if let Some(&(off, _)) = top.iter().find(|&&(s, e)| s < len && len < e) {
                assert_eq!(fw["partial"], true, "copy {i} ({what})");
                assert!(
                    probs.iter().any(|(p, o, _)| p == "image" && *o == off),
                    "copy {i} ({what}): no problem at 0x{off:x}: {probs:#?}"
                );
            }
        }
    }
    assert!(
        partial >= copies / 2,
        "{partial} of {copies} damaged copies reported partial"
    );
}

/// A recognised image in which every chunk is damaged is still assessed: PARTIAL, the problems
/// at their offsets, every firmware provision INCONCLUSIVE, exit 1.
#[test]
fn an_image_whose_every_chunk_is_damaged_gets_a_partial_report() {
    let mut img = demo_image();
    // Past the squashfs superblock (0x40 + 96): damage the compressed data and tables.
    let start = 0x40 + 0x60;
    for i in (start..img.len()).step_by(7) {
        img[i] ^= 0x5a;
    }
    let t = tempfile::tempdir().unwrap();
    let (o, report) = assess(t.path(), "wrecked.img", &img, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let report = report.expect("a report");
    let fw = &report["subject"]["firmware"];
    assert_eq!(fw["partial"], true);
    let probs = problems(&report);
    assert!(
        probs.iter().any(|(p, o, _)| p == "image" && *o == 0x40),
        "{probs:#?}"
    );
    assert!(report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["scheme"] == "en303645")
        .all(|v| v["verdict"] == "INCONCLUSIVE" || v["verdict"] == "NOT_APPLICABLE"));
}

/// Not firmware at all (no format found) is still an input error: exit 2 with a message.
#[test]
fn no_format_at_all_is_still_an_error() {
    let t = tempfile::tempdir().unwrap();
    let noise: Vec<u8> = {
        let mut r = Rng(7);
        (0..8192).map(|_| r.next() as u8).collect()
    };
    let (o, report) = assess(t.path(), "noise.bin", &noise, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    assert!(report.is_none());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no known firmware format"));
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(0xffff).collect()
    };
    for (i, b) in blocks.iter().enumerate() {
        g.push(u8::from(i + 1 == blocks.len()));
        let n = b.len() as u16;
        g.extend(n.to_le_bytes());
        g.extend((!n).to_le_bytes());
        g.extend_from_slice(b);
    }
    g.extend(crc32(data).to_le_bytes());
    g.extend((data.len() as u32).to_le_bytes());
    g
}

/// 1,100 nested gzip layers with `--depth 1100` ended in `fatal runtime error: stack overflow`
/// (exit 134, SIGABRT) for both commands. They must end with an exit status and a message.
#[test]
fn deep_nesting_never_kills_the_process() {
    let mut img = b"a payload with nothing in it\n".to_vec();
    for _ in 0..1100 {
        img = gzip_stored(&img);
    }
    let t = tempfile::tempdir().unwrap();
    let image: PathBuf = t.path().join("deep.gz");
    fs::write(&image, &img).unwrap();
    let o = bin()
        .args(["-q", "unpack"])
        .arg(&image)
        .arg("--out")
        .arg(t.path().join("unpacked"))
        .args(["--depth", "1100"])
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 2)),
        "unpack: {}",
        describe(&o)
    );
    let (o, _) = assess(t.path(), "deep2.gz", &img, &["--depth", "1100"]);
    assert!(
        matches!(o.status.code(), Some(0..=2)),
        "assess: {}",
        describe(&o)
    );
    if o.status.code() == Some(2) {
        assert!(!o.stderr.is_empty(), "exit 2 without a message");
    }
}
