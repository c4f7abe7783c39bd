//! HTML to text, keeping a map from each text line to the source line it came from, so evidence
//! cites the line a person sees in "view source".
//!
//! Deliberately simple and total (never fails, linear time): tags are dropped, the contents of
//! `script`, `style`, `noscript`, `template` and `svg` are skipped, block elements end a paragraph,
//! `<br>` ends a line, table cells are joined with ` | ` so a row keeps its context, list items
//! start with `- `, and character references are decoded.

/// Whether `text` looks like an HTML document (for texts given without a content type).
pub fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || (head.starts_with('<')
            && head[1..].starts_with(|c: char| c.is_ascii_alphabetic())
            && head.contains("</"))
}

const SKIP_CONTENT: &[&str] = &["script", "style", "noscript", "template", "svg"];
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "title",
    "tr",
    "ul",
];

struct Out {
    lines: Vec<String>,
    map: Vec<u32>,
    cur: String,
    cur_line: u32,
    pending_space: bool,
}

impl Out {
    fn push_text(&mut self, s: &str, src_line: u32) {
        for ch in s.chars() {
            if ch.is_whitespace() {
                self.pending_space = !self.cur.is_empty();
                continue;
            }
            if self.cur.is_empty() {
                self.cur_line = src_line;
            } else if self.pending_space {
                self.cur.push(' ');
            }
            self.pending_space = false;
            self.cur.push(ch);
        }
    }

    fn end_line(&mut self) {
        if !self.cur.is_empty() {
            self.lines.push(std::mem::take(&mut self.cur));
            self.map.push(self.cur_line);
        }
        self.pending_space = false;
    }

    fn end_paragraph(&mut self) {
        self.end_line();
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
            self.map.push(self.cur_line);
        }
    }

    fn cell(&mut self) {
        if !self.cur.is_empty() {
            self.cur.push_str(" |");
            self.pending_space = true;
        }
    }
}

/// Converts HTML to text lines. Returns the text and, per text line, its 1-based source line.
pub fn to_text(html: &str) -> (String, Vec<u32>) {
    let b = html.as_bytes();
    let mut out = Out {
        lines: Vec::new(),
        map: Vec::new(),
        cur: String::new(),
        cur_line: 1,
        pending_space: false,
    };
    let mut line: u32 = 1;
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        let starts_tag = b[i] == b'<'
            && b.get(i + 1)
                .is_some_and(|&c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'));
        if !starts_tag {
            i += 1;
            continue;
        }
        // Flush the text before the tag.
        if text_start < i {
            emit_text(&mut out, &html[text_start..i], &mut line);
        }
        let (tag_end, name, closing) = read_tag(b, i);
        line += count_newlines(&b[i..tag_end]);
        i = tag_end;
        text_start = i;
        let Some(name) = name else { continue };
        if !closing && SKIP_CONTENT.contains(&name.as_str()) {
            // Skip to the matching close tag (case-insensitive), or to the end.
            let close = format!("</{name}");
            let end = find_ci(&b[i..], close.as_bytes()).map_or(b.len(), |p| i + p);
            line += count_newlines(&b[i..end]);
            i = end;
            text_start = i;
            continue;
        }
        match name.as_str() {
            "br" => out.end_line(),
            "td" | "th" if !closing => out.cell(),
            "li" if !closing => {
                out.end_paragraph();
                out.push_text("-", line);
                out.pending_space = true;
            }
            n if BLOCK.contains(&n) => out.end_paragraph(),
            _ => {}
        }
    }
    if text_start < b.len() {
        emit_text(&mut out, &html[text_start..], &mut line);
    }
    out.end_line();
    while out.lines.last().is_some_and(|l| l.is_empty()) {
        out.lines.pop();
        out.map.pop();
    }
    (out.lines.join("\n"), out.map)
}

fn emit_text(out: &mut Out, raw: &str, line: &mut u32) {
    // Text may span source lines; track them so each output line starts at the right one.
    for (k, piece) in raw.split('\n').enumerate() {
        if k > 0 {
            *line += 1;
            out.pending_space = !out.cur.is_empty();
        }
        let decoded = decode_entities(piece);
        out.push_text(&decoded, *line);
    }
}

fn count_newlines(b: &[u8]) -> u32 {
    b.iter().filter(|&&c| c == b'\n').count() as u32
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&p| hay[p..p + needle.len()].eq_ignore_ascii_case(needle))
}

/// Reads a tag starting at `<`: returns (index after it, lowercase element name, is a close tag).
/// Comments, doctypes and processing instructions have no name.
fn read_tag(b: &[u8], start: usize) -> (usize, Option<String>, bool) {
    let rest = &b[start..];
    if rest.starts_with(b"<!--") {
        let end = find_ci(&rest[4..], b"-->").map_or(b.len(), |p| start + 4 + p + 3);
        return (end, None, false);
    }
    let mut j = start + 1;
    let closing = b.get(j) == Some(&b'/');
    if closing {
        j += 1;
    }
    let name_start = j;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':') {
        j += 1;
    }
    let name = if j > name_start {
        Some(String::from_utf8_lossy(&b[name_start..j]).to_ascii_lowercase())
    } else {
        None
    };
    // Skip attributes, honouring quotes, to the closing `>`.
    let mut quote: Option<u8> = None;
    while j < b.len() {
        let c = b[j];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return (j + 1, name, closing),
            None => {}
        }
        j += 1;
    }
    (b.len(), name, closing)
}

/// Decodes the character references that matter for reading prose.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map(|e| e + 1)
            .unwrap_or(rest.len());
        let body = &rest[1..end];
        let has_semi = rest[end..].starts_with(';');
        let decoded = if let Some(num) = body.strip_prefix('#') {
            let n = if let Some(hex) = num.strip_prefix(['x', 'X']) {
                u32::from_str_radix(hex, 16).ok()
            } else {
                num.parse::<u32>().ok()
            };
            n.and_then(char::from_u32).map(|c| c.to_string())
        } else {
            named_entity(body).map(str::to_string)
        };
        match decoded {
            Some(d) if !body.is_empty() => {
                out.push_str(&d);
                rest = &rest[end + usize::from(has_semi)..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "rsquo" | "lsquo" => "'",
        "rdquo" | "ldquo" => "\"",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "middot" => "·",
        "bull" => "•",
        "euro" => "€",
        "pound" => "£",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_blocks_lists_tables_and_maps_lines() {
        let html = "<!DOCTYPE html>\n<html><head><title>Policy</title>\n<style>p{x:1}</style>\n<script>var a = '<p>no</p>';</script></head>\n<body>\n<h1>Security &amp; you</h1>\n<p>Report to\n<a href=\"mailto:s@x.example\">s@x.example</a>.</p>\n<ul><li>one</li><li>two</li></ul>\n<table><tr><th>Model</th><th>Until</th></tr>\n<tr><td>X1</td><td>2030-01-31</td></tr></table>\n<!-- <p>hidden</p> -->\n</body></html>";
        let (text, map) = to_text(html);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), map.len());
        assert!(lines.contains(&"Policy"), "{text}");
        assert!(lines.contains(&"Security & you"));
        assert!(lines.contains(&"Report to s@x.example."));
        assert!(lines.contains(&"- one"));
        assert!(lines.contains(&"Model | Until"), "{text}");
        assert!(lines.contains(&"X1 | 2030-01-31"), "{text}");
        assert!(!text.contains("hidden") && !text.contains("no</p>") && !text.contains("x:1"));
        let at = |s: &str| map[lines.iter().position(|l| *l == s).unwrap()];
        assert_eq!(at("Security & you"), 6);
        assert_eq!(at("Report to s@x.example."), 7);
        assert_eq!(at("X1 | 2030-01-31"), 11);
    }

    #[test]
    fn entities_and_stray_angles() {
        assert_eq!(
            decode_entities("a &lt; b &#65;&#x42; &bogus; &"),
            "a < b AB &bogus; &"
        );
        let (t, _) = to_text("<p>1 < 2 and 3 > 2</p>");
        assert_eq!(t, "1 < 2 and 3 > 2");
        assert!(looks_like_html("\u{feff}  <!DOCTYPE html><p>x"));
        assert!(!looks_like_html("Contact: mailto:x@y"));
    }

    #[test]
    fn never_panics_on_garbage() {
        for s in [
            "<",
            "<!--",
            "<a href='",
            "<script>",
            "&#xffffffff;",
            "&#;",
            "<<>>",
            "é<p>é&amp",
        ] {
            let _ = to_text(s);
        }
    }
}
