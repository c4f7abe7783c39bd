//! Small text helpers shared by checks.

/// Lines with 1-based numbers (lossy UTF-8).
pub fn numbered_lines(data: &[u8]) -> Vec<(u32, String)> {
    String::from_utf8_lossy(data)
        .lines()
        .enumerate()
        .map(|(i, l)| ((i + 1) as u32, l.to_string()))
        .collect()
}

/// A short excerpt for evidence: one line, at most 200 characters.
pub fn excerpt(s: &str) -> String {
    let s = s.trim().replace(['\r', '\n'], " ");
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

/// The 1-based line number of byte `offset` in `data`.
pub fn line_of(data: &[u8], offset: usize) -> u32 {
    (memchr::memchr_iter(b'\n', &data[..offset.min(data.len())]).count() + 1) as u32
}

/// Runs of printable ASCII (graphic, space, tab) at least `min` bytes long, with their
/// offsets: what strings(1) prints, for checks that read binaries and microcontroller images.
pub fn printable_runs(data: &[u8], min: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &b) in data.iter().chain(std::iter::once(&0)).enumerate() {
        let printable = b.is_ascii_graphic() || b == b' ' || b == b'\t';
        match (printable, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s >= min {
                    if let Ok(t) = std::str::from_utf8(&data[s..i]) {
                        out.push((s, t));
                    }
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Whether the data looks like text (for scripts and configs).
pub fn is_text(data: &[u8]) -> bool {
    let sample = &data[..data.len().min(4096)];
    !sample.contains(&0)
}

/// Removes a trailing shell comment (naively: a `#` preceded by whitespace or at line start).
pub fn strip_comment(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with('#') {
        return "";
    }
    match line.find(" #") {
        Some(i) => &line[..i],
        None => line,
    }
}
