//! Limits on a statement's YAML, checked before the text reaches `serde_yaml_ng`.
//!
//! A statement comes from the maker, so it is untrusted input. `serde_yaml_ng` (libyaml) has no
//! limit of its own on nesting or alias expansion: a few hundred KiB of nested `[` take libyaml
//! tens of seconds (its simple-key bookkeeping is quadratic in the flow nesting), and a thousand
//! aliases of one large anchor expand to gigabytes. So the text is first run through
//! [`scan`], a port of libyaml's scanner (`scanner.c`) that keeps only what decides token
//! boundaries — flow level, block indentation, simple keys and the scalar rules — and produces
//! no tokens. On every prefix that libyaml scans without error it is in the same state as libyaml,
//! so the depth and aliases it sees are exactly those libyaml would produce; past a point where
//! libyaml fails it may over-count, which only ever refuses a statement that would not parse. It
//! stops at the first limit crossed, so the scan is linear (each token costs at most the capped
//! flow depth).

/// A statement larger than this is refused (one is a few tens of KiB; the example is 15 KiB).
pub const MAX_BYTES: u64 = 4 << 20;
/// Deepest nesting of collections (block and flow levels together). A statement needs 4.
pub const MAX_DEPTH: usize = 64;

/// Why a text was refused, with its 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Clone, Copy, Default)]
struct SimpleKey {
    possible: bool,
    index: usize,
    line: usize,
    column: usize,
}

struct Scanner<'a> {
    b: &'a [u8],
    /// Byte offset (libyaml's `mark.index`).
    i: usize,
    line: usize,
    /// Characters since the last line break (libyaml's `mark.column`).
    col: usize,
    flow_level: usize,
    indent: isize,
    indents: Vec<isize>,
    simple_keys: Vec<SimpleKey>,
    simple_key_allowed: bool,
    /// Refuse past this depth; refuse aliases at all.
    limit: usize,
    deny_aliases: bool,
    /// What was seen (for [`measure`]).
    max_depth: usize,
    aliases: usize,
}

/// Checks `text` against [`MAX_DEPTH`] and refuses any alias (`*name`): the statement format
/// has no use for them, and they are the means of expansion attacks.
pub fn scan(text: &str) -> Result<(), Refusal> {
    Scanner::new(text, MAX_DEPTH, true).run()
}

/// The deepest nesting and the number of aliases libyaml's scanner would meet in `text` (an
/// upper bound past a point where libyaml fails), without limits: for tests.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn measure(text: &str) -> (usize, usize) {
    let mut s = Scanner::new(text, usize::MAX, false);
    let _ = s.run();
    (s.max_depth, s.aliases)
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, limit: usize, deny_aliases: bool) -> Scanner<'a> {
        let b = text.as_bytes();
        // libyaml's reader drops a leading byte order mark before the scanner sees the text.
        let b = b.strip_prefix("\u{feff}".as_bytes()).unwrap_or(b);
        Scanner {
            b,
            i: 0,
            line: 0,
            col: 0,
            flow_level: 0,
            indent: -1,
            indents: Vec::new(),
            simple_keys: vec![SimpleKey::default()],
            simple_key_allowed: true,
            limit,
            deny_aliases,
            max_depth: 0,
            aliases: 0,
        }
    }

    fn at(&self, k: usize) -> u8 {
        // libyaml stops at NUL (its reader refuses control characters anyway).
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn is_z(&self) -> bool {
        self.at(0) == 0
    }

    /// Is the character `k` bytes ahead a line break (CR, LF, NEL, LS, PS)?
    fn is_break_at(&self, k: usize) -> bool {
        match self.at(k) {
            b'\r' | b'\n' => true,
            0xC2 => self.at(k + 1) == 0x85,
            0xE2 => self.at(k + 1) == 0x80 && matches!(self.at(k + 2), 0xA8 | 0xA9),
            _ => false,
        }
    }

    fn is_break(&self) -> bool {
        self.is_break_at(0)
    }

    fn is_blank_at(&self, k: usize) -> bool {
        matches!(self.at(k), b' ' | b'\t')
    }

    fn is_blank(&self) -> bool {
        self.is_blank_at(0)
    }

    fn is_breakz(&self) -> bool {
        self.is_break() || self.is_z()
    }

    fn is_blankz_at(&self, k: usize) -> bool {
        self.is_blank_at(k) || self.is_break_at(k) || self.at(k) == 0
    }

    fn is_blankz(&self) -> bool {
        self.is_blankz_at(0)
    }

    fn is_alpha(&self) -> bool {
        matches!(self.at(0), b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'_' | b'-')
    }

    fn width(&self) -> usize {
        match self.at(0) {
            c if c & 0x80 == 0 => 1,
            c if c & 0xE0 == 0xC0 => 2,
            c if c & 0xF0 == 0xE0 => 3,
            c if c & 0xF8 == 0xF0 => 4,
            _ => 1,
        }
    }

    fn skip(&mut self) {
        if self.i < self.b.len() {
            self.i += self.width();
            self.col += 1;
        }
    }

    fn skip_line(&mut self) {
        if self.at(0) == b'\r' && self.at(1) == b'\n' {
            self.i += 2;
        } else if self.is_break() {
            self.i += self.width();
        } else {
            return;
        }
        self.col = 0;
        self.line += 1;
    }

    fn refuse(&self, message: String) -> Refusal {
        Refusal {
            line: self.line + 1,
            column: self.col + 1,
            message,
        }
    }

    fn check_depth(&mut self) -> Result<(), Refusal> {
        // A flow collection that turns out to be a block mapping's key (`[a]: b`) is nested in
        // that mapping, which libyaml opens only when it meets the `:`: count it in advance.
        let key = self.simple_keys[0];
        let pending = self.flow_level > 0 && key.possible && key.column as isize > self.indent;
        let depth = self.indents.len() + self.flow_level + usize::from(pending);
        self.max_depth = self.max_depth.max(depth);
        if depth > self.limit {
            return Err(self.refuse(format!(
                "the YAML nests deeper than {} levels (a statement needs 4); refused before parsing",
                self.limit
            )));
        }
        Ok(())
    }

    fn is_document_indicator(&self) -> bool {
        self.col == 0
            && ((self.at(0) == b'-' && self.at(1) == b'-' && self.at(2) == b'-')
                || (self.at(0) == b'.' && self.at(1) == b'.' && self.at(2) == b'.'))
            && self.is_blankz_at(3)
    }

    fn run(&mut self) -> Result<(), Refusal> {
        loop {
            self.scan_to_next_token();
            self.stale_simple_keys();
            self.unroll_indent(self.col as isize);
            if self.is_z() {
                return Ok(());
            }
            let c = self.at(0);
            if self.col == 0 && c == b'%' {
                // A directive: on success libyaml consumes the whole line and its break.
                self.unroll_indent(-1);
                self.remove_simple_key();
                self.simple_key_allowed = false;
                while !self.is_breakz() {
                    self.skip();
                }
                self.skip_line();
                continue;
            }
            if self.is_document_indicator() {
                self.unroll_indent(-1);
                self.remove_simple_key();
                self.simple_key_allowed = false;
                self.skip();
                self.skip();
                self.skip();
                continue;
            }
            match c {
                b'[' | b'{' => {
                    self.save_simple_key();
                    self.simple_keys.push(SimpleKey::default());
                    self.flow_level += 1;
                    self.check_depth()?;
                    self.simple_key_allowed = true;
                    self.skip();
                }
                b']' | b'}' => {
                    self.remove_simple_key();
                    if self.flow_level > 0 {
                        self.flow_level -= 1;
                        self.simple_keys.pop();
                    }
                    self.simple_key_allowed = false;
                    self.skip();
                }
                b',' => {
                    self.remove_simple_key();
                    self.simple_key_allowed = true;
                    self.skip();
                }
                b'-' if self.is_blankz_at(1) => {
                    if self.flow_level == 0 {
                        self.roll_indent(self.col)?;
                    }
                    self.remove_simple_key();
                    self.simple_key_allowed = true;
                    self.skip();
                }
                b'?' if self.flow_level > 0 || self.is_blankz_at(1) => {
                    if self.flow_level == 0 {
                        self.roll_indent(self.col)?;
                    }
                    self.remove_simple_key();
                    self.simple_key_allowed = self.flow_level == 0;
                    self.skip();
                }
                b':' if self.flow_level > 0 || self.is_blankz_at(1) => {
                    let top = self.simple_keys.len() - 1;
                    let key = self.simple_keys[top];
                    if key.possible {
                        self.roll_indent(key.column)?;
                        self.simple_keys[top].possible = false;
                        self.simple_key_allowed = false;
                    } else {
                        if self.flow_level == 0 {
                            self.roll_indent(self.col)?;
                        }
                        self.simple_key_allowed = self.flow_level == 0;
                    }
                    self.skip();
                }
                b'*' if self.deny_aliases => {
                    return Err(self.refuse(
                        "YAML aliases (`*name`) are not allowed in a statement; write the value out in full"
                            .into(),
                    ));
                }
                b'*' | b'&' => {
                    if c == b'*' {
                        self.aliases += 1;
                    }
                    self.save_simple_key();
                    self.simple_key_allowed = false;
                    self.skip();
                    while self.is_alpha() {
                        self.skip();
                    }
                }
                b'!' => {
                    self.save_simple_key();
                    self.simple_key_allowed = false;
                    self.scan_tag();
                }
                b'|' | b'>' if self.flow_level == 0 => {
                    self.remove_simple_key();
                    self.simple_key_allowed = true;
                    self.scan_block_scalar();
                }
                b'\'' | b'"' => {
                    self.save_simple_key();
                    self.simple_key_allowed = false;
                    self.scan_flow_scalar(c == b'\'');
                }
                _ if self.starts_plain_scalar() => {
                    self.save_simple_key();
                    self.simple_key_allowed = false;
                    self.scan_plain_scalar();
                }
                // libyaml fails here ("found character that cannot start any token"); skipping
                // the character can only make the scan see more than libyaml would.
                _ => self.skip(),
            }
        }
    }

    fn starts_plain_scalar(&self) -> bool {
        let c = self.at(0);
        let indicator = self.is_blankz()
            || matches!(
                c,
                b'-' | b'?'
                    | b':'
                    | b','
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'#'
                    | b'&'
                    | b'*'
                    | b'!'
                    | b'|'
                    | b'>'
                    | b'\''
                    | b'"'
                    | b'%'
                    | b'@'
                    | b'`'
            );
        !indicator
            || (c == b'-' && !self.is_blank_at(1))
            || (self.flow_level == 0 && matches!(c, b'?' | b':') && !self.is_blankz_at(1))
    }

    fn scan_to_next_token(&mut self) {
        loop {
            if self.col == 0 && self.b[self.i..].starts_with("\u{feff}".as_bytes()) {
                self.skip();
            }
            while self.at(0) == b' '
                || ((self.flow_level > 0 || !self.simple_key_allowed) && self.at(0) == b'\t')
            {
                self.skip();
            }
            if self.at(0) == b'#' {
                while !self.is_breakz() {
                    self.skip();
                }
            }
            if !self.is_break() {
                break;
            }
            self.skip_line();
            if self.flow_level == 0 {
                self.simple_key_allowed = true;
            }
        }
    }

    fn stale_simple_keys(&mut self) {
        let (line, index) = (self.line, self.i);
        for k in &mut self.simple_keys {
            if k.possible && (k.line < line || k.index + 1024 < index) {
                k.possible = false;
            }
        }
    }

    fn save_simple_key(&mut self) {
        if self.simple_key_allowed {
            let key = SimpleKey {
                possible: true,
                index: self.i,
                line: self.line,
                column: self.col,
            };
            if let Some(top) = self.simple_keys.last_mut() {
                *top = key;
            }
        }
    }

    fn remove_simple_key(&mut self) {
        if let Some(top) = self.simple_keys.last_mut() {
            top.possible = false;
        }
    }

    fn roll_indent(&mut self, column: usize) -> Result<(), Refusal> {
        if self.flow_level == 0 && self.indent < column as isize {
            self.indents.push(self.indent);
            self.indent = column as isize;
            self.check_depth()?;
        }
        Ok(())
    }

    fn unroll_indent(&mut self, column: isize) {
        if self.flow_level != 0 {
            return;
        }
        while self.indent > column {
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    fn is_uri_char(&self, verbatim: bool) -> bool {
        self.is_alpha()
            || matches!(
                self.at(0),
                b';' | b'/'
                    | b'?'
                    | b':'
                    | b'@'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
                    | b'.'
                    | b'%'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
            )
            || (verbatim && matches!(self.at(0), b',' | b'[' | b']'))
    }

    /// `!<uri>` or `!handle!suffix` / `!suffix`: the handle's characters are all URI characters,
    /// so both forms end at the first character that is not one.
    fn scan_tag(&mut self) {
        let verbatim = self.at(1) == b'<';
        self.skip();
        if verbatim {
            self.skip();
        }
        while self.is_uri_char(verbatim) {
            if self.at(0) == b'%' {
                // An escape is `%` and two hex digits; libyaml fails on anything else.
                self.skip();
                for _ in 0..2 {
                    if self.at(0).is_ascii_hexdigit() {
                        self.skip();
                    }
                }
            } else {
                self.skip();
            }
        }
        if verbatim && self.at(0) == b'>' {
            self.skip();
        }
    }

    fn scan_block_scalar(&mut self) {
        self.skip();
        let mut increment = 0isize;
        if matches!(self.at(0), b'+' | b'-') {
            self.skip();
            if self.at(0).is_ascii_digit() {
                increment = (self.at(0) - b'0') as isize;
                self.skip();
            }
        } else if self.at(0).is_ascii_digit() {
            increment = (self.at(0) - b'0') as isize;
            self.skip();
            if matches!(self.at(0), b'+' | b'-') {
                self.skip();
            }
        }
        while self.is_blank() {
            self.skip();
        }
        if self.at(0) == b'#' {
            while !self.is_breakz() {
                self.skip();
            }
        }
        // Anything else on the header line is an error for libyaml; skip it.
        while !self.is_breakz() {
            self.skip();
        }
        self.skip_line();
        let mut indent: isize = 0;
        if increment != 0 {
            indent = if self.indent >= 0 {
                self.indent + increment
            } else {
                increment
            };
        }
        self.block_scalar_breaks(&mut indent);
        while self.col as isize == indent && !self.is_z() {
            while !self.is_breakz() {
                self.skip();
            }
            self.skip_line();
            self.block_scalar_breaks(&mut indent);
        }
    }

    fn block_scalar_breaks(&mut self, indent: &mut isize) {
        let mut max_indent = 0isize;
        loop {
            while (*indent == 0 || (self.col as isize) < *indent) && self.at(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.col as isize);
            if !self.is_break() {
                break;
            }
            self.skip_line();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
    }

    fn scan_flow_scalar(&mut self, single: bool) {
        let quote = if single { b'\'' } else { b'"' };
        self.skip();
        loop {
            if self.is_z() {
                return;
            }
            let c = self.at(0);
            if single && c == b'\'' && self.at(1) == b'\'' {
                self.skip();
                self.skip();
            } else if c == quote {
                self.skip();
                return;
            } else if !single && c == b'\\' && self.is_break_at(1) {
                self.skip();
                self.skip_line();
            } else if !single && c == b'\\' {
                let code = match self.at(1) {
                    b'x' => 2,
                    b'u' => 4,
                    b'U' => 8,
                    _ => 0,
                };
                self.skip();
                self.skip();
                for _ in 0..code {
                    if self.at(0).is_ascii_hexdigit() {
                        self.skip();
                    }
                }
            } else if self.is_break() {
                self.skip_line();
            } else {
                self.skip();
            }
        }
    }

    fn scan_plain_scalar(&mut self) {
        let indent = self.indent + 1;
        let mut leading_blanks = false;
        loop {
            if self.is_document_indicator() || self.at(0) == b'#' {
                break;
            }
            while !self.is_blankz() {
                let c = self.at(0);
                if (c == b':' && self.is_blankz_at(1))
                    || (self.flow_level > 0 && matches!(c, b',' | b'[' | b']' | b'{' | b'}'))
                {
                    break;
                }
                // (In flow context libyaml fails on `:` before a flow indicator; reading on
                // only sees more.)
                leading_blanks = false;
                self.skip();
            }
            if !(self.is_blank() || self.is_break()) {
                break;
            }
            while self.is_blank() || self.is_break() {
                if self.is_blank() {
                    self.skip();
                } else {
                    self.skip_line();
                    leading_blanks = true;
                }
            }
            if self.flow_level == 0 && (self.col as isize) < indent {
                break;
            }
        }
        if leading_blanks {
            self.simple_key_allowed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{measure, scan};

    #[test]
    fn depth_and_aliases_are_those_libyaml_meets() {
        assert_eq!(measure("a: [b, {c: d}]\n"), (3, 0));
        assert_eq!(measure("- - - x\n"), (3, 0));
        assert_eq!(measure("a:\n  b:\n    c: 1\nd: 2\n"), (3, 0));
        // A flow collection as a block key sits inside the mapping it opens.
        assert_eq!(measure("[a]: b\n"), (2, 0));
        assert_eq!(measure("a: &x 1\nb: *x\nc: [*x, *x]\n"), (2, 3));
        // Nothing in quotes, comments, block scalars or plain text counts.
        assert_eq!(
            measure("a: \"[[*x\"\nb: '[{'\nc: |\n  [[[ *x\n  {{\n# [[[ *x\nd: x*y[[\n"),
            (1, 0)
        );
        assert!(scan("a: |\n  * item\n  * item\n").is_ok());
        assert!(scan("a: *x\n").is_err());
    }
}
