//! security.txt (RFC 9116) syntax: `Field-Name: value` lines, `#` comments, blank lines, and
//! the OpenPGP cleartext-signed variant (RFC 4880 §7), whose armour is stripped and whose
//! dash-escaped lines are unescaped. Line numbers are those of the file as served.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// As written (`Contact`).
    pub name: String,
    /// Lowercase, for lookup (RFC 9116 field names are case-insensitive).
    pub key: String,
    pub value: String,
    pub line: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityTxt {
    pub fields: Vec<Field>,
    /// Lines that are neither fields, comments nor blank: (line, text).
    pub invalid: Vec<(u32, String)>,
    /// Comment lines (without `#`): free text that may state a policy.
    pub comments: Vec<(u32, String)>,
    /// The file is a cleartext-signed OpenPGP message.
    pub signed: bool,
    /// The signature block is present and closed (not verified).
    pub signature_complete: bool,
}

/// The fields RFC 9116 §2.5 defines.
pub const KNOWN_FIELDS: &[&str] = &[
    "acknowledgments",
    "canonical",
    "contact",
    "encryption",
    "expires",
    "hiring",
    "policy",
    "preferred-languages",
    "csaf",
];

impl SecurityTxt {
    pub fn get<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.key == key)
    }

    /// How many lines look like RFC 9116 fields of the known kinds.
    pub fn known_field_count(&self) -> usize {
        self.fields
            .iter()
            .filter(|f| KNOWN_FIELDS.contains(&f.key.as_str()))
            .count()
    }
}

/// Whether a document plausibly *is* a security.txt: at least one Contact or Expires field and
/// most non-comment lines are fields.
pub fn looks_like(s: &SecurityTxt) -> bool {
    let core = s.get("contact").count() + s.get("expires").count();
    core > 0 && s.known_field_count() * 2 >= s.fields.len() && s.fields.len() >= s.invalid.len()
}

pub fn parse(text: &str) -> SecurityTxt {
    let mut out = SecurityTxt::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut end = lines.len();
    if lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .is_some_and(|p| lines[p].trim_end() == "-----BEGIN PGP SIGNED MESSAGE-----")
    {
        out.signed = true;
        // Armour headers ("Hash: SHA256") run to the first blank line.
        i = lines
            .iter()
            .position(|l| l.trim_end() == "-----BEGIN PGP SIGNED MESSAGE-----")
            .unwrap_or(0)
            + 1;
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
        i += 1;
        if let Some(sig) = lines[i.min(lines.len())..]
            .iter()
            .position(|l| l.trim_end() == "-----BEGIN PGP SIGNATURE-----")
        {
            end = i + sig;
            out.signature_complete = lines[end..]
                .iter()
                .any(|l| l.trim_end() == "-----END PGP SIGNATURE-----");
        }
    }
    for (idx, raw) in lines.iter().enumerate().take(end).skip(i) {
        let line_no = idx as u32 + 1;
        let mut l = raw.trim_end_matches('\r');
        if out.signed {
            l = l.strip_prefix("- ").unwrap_or(l);
        }
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            out.comments.push((line_no, c.trim().to_string()));
            continue;
        }
        match split_field(t) {
            Some((name, value)) => out.fields.push(Field {
                key: name.to_ascii_lowercase(),
                name: name.to_string(),
                value: value.to_string(),
                line: line_no,
            }),
            None => out.invalid.push((line_no, t.to_string())),
        }
    }
    out
}

/// `field-name ":" OWS value` where field-name is 1*(ALPHA / DIGIT / "-") (RFC 9116 §2.3 via
/// RFC 5322 ftext, narrowed as the registry does).
fn split_field(t: &str) -> Option<(&str, &str)> {
    let colon = t.find(':')?;
    let name = &t[..colon];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    let value = t[colon + 1..].trim();
    Some((name, value))
}

/// RFC 9116 §2.5.5: the Expires value is an RFC 3339 date-time.
pub fn parse_expires(v: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.trim(), &Rfc3339).ok()
}

/// What kind of URI a Contact value is (RFC 9116 §2.5.3: a URI, https:// when a web URI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Mailto,
    Https,
    Tel,
    /// `http://`: a web URI that is not HTTPS (not allowed).
    Http,
    /// A bare e-mail address or other text that is not a URI.
    NotUri,
    /// Some other URI scheme.
    Other,
}

pub fn contact_kind(v: &str) -> ContactKind {
    let l = v.trim().to_ascii_lowercase();
    if l.starts_with("mailto:") {
        ContactKind::Mailto
    } else if l.starts_with("https://") {
        ContactKind::Https
    } else if l.starts_with("tel:") {
        ContactKind::Tel
    } else if l.starts_with("http://") {
        ContactKind::Http
    } else if l.contains(':') && l.split(':').next().is_some_and(|s| !s.contains(['@', ' '])) {
        ContactKind::Other
    } else {
        ContactKind::NotUri
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_file() {
        let s = parse("# Our security address\nContact: mailto:security@example.com\nContact: https://example.com/report\nExpires: 2030-01-01T00:00:00Z\ncontact: tel:+1-201-555-0123\nPreferred-Languages: en, de\nthis is junk\n");
        assert_eq!(s.get("contact").count(), 3);
        assert_eq!(s.get("expires").next().unwrap().line, 4);
        assert_eq!(s.invalid, vec![(7, "this is junk".to_string())]);
        assert_eq!(s.comments.len(), 1);
        assert!(!s.signed);
        assert!(looks_like(&s));
    }

    #[test]
    fn signed_file_is_unarmoured_with_original_line_numbers() {
        let t = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nContact: mailto:security@example.com\n- Expires: 2030-01-01T00:00:00.000Z\n-----BEGIN PGP SIGNATURE-----\n\niHUEARYKAB0WIQ=\n-----END PGP SIGNATURE-----\n";
        let s = parse(t);
        assert!(s.signed && s.signature_complete);
        assert_eq!(s.fields.len(), 2, "{s:?}");
        assert_eq!(s.fields[1].key, "expires");
        assert_eq!(s.fields[1].line, 5);
        assert!(
            s.invalid.is_empty(),
            "signature lines are not parsed as fields"
        );
        assert!(parse_expires(&s.fields[1].value).is_some());
    }

    #[test]
    fn expires_syntax_table() {
        for ok in [
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00+02:00",
            "2030-01-01T00:00:00.5Z",
        ] {
            assert!(parse_expires(ok).is_some(), "{ok}");
        }
        for bad in [
            "2030-01-01",
            "tomorrow",
            "01/01/2030",
            "2030-13-01T00:00:00Z",
            "",
        ] {
            assert!(parse_expires(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn contact_kinds_table() {
        let cases = [
            ("mailto:a@b.example", ContactKind::Mailto),
            ("https://b.example/x", ContactKind::Https),
            ("tel:+44", ContactKind::Tel),
            ("http://b.example", ContactKind::Http),
            ("a@b.example", ContactKind::NotUri),
            ("security team", ContactKind::NotUri),
            ("xmpp:a@b.example", ContactKind::Other),
        ];
        for (v, k) in cases {
            assert_eq!(contact_kind(v), k, "{v}");
        }
    }

    #[test]
    fn prose_is_not_security_txt() {
        let s =
            parse("Vulnerability disclosure policy\nPlease write to us.\nNote: we reply fast.\n");
        assert!(!looks_like(&s));
        assert!(!looks_like(&parse("")));
    }
}
