//! Readers for the public vulnerability feeds, one file per format: CVE JSON 5 (`cve5.rs`, the
//! cvelistV5 layout), NVD CVE API 2.0 (`nvd.rs`) and OSV (`osv.rs`). Each turns a record into a
//! [`FeedRecord`]: who published it, when it last changed, and the products it names with their
//! version bounds, so the store and the matcher never see a format.
//!
//! Feed files are input from outside: every file and zip entry is size-checked before it is
//! read, a zip's declared sizes are not trusted (reads stop at the bound), and a malformed file is
//! an error naming the file (and the zip entry) rather than a panic.

mod cve5;
mod nvd;
mod osv;

pub(crate) use osv::{purl_distro, split_purl};

use std::io::Read;
use std::path::{Path, PathBuf};

use iotassure_core::finding::Severity;
use serde::{Deserialize, Serialize};

use crate::Error;

/// One JSON document (a file, or a zip entry) may be this large: NVD's yearly 2.0 feeds are the
/// largest real ones (a few hundred MiB).
pub const MAX_DOCUMENT: u64 = 1 << 30;
/// A zip may hold this many entries (cvelistV5 holds about 300,000).
pub const MAX_ENTRIES: usize = 2_000_000;
/// A folder is searched this deep (cvelistV5: `cves/2024/1xxx/`).
const MAX_DEPTH: usize = 8;

/// Which feed a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedSource {
    /// A CVE JSON 5 record (CVE Program, cvelistV5).
    Cve5,
    /// An NVD CVE API 2.0 record.
    Nvd,
    /// An OSV record.
    Osv,
}

impl FeedSource {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedSource::Cve5 => "cve5",
            FeedSource::Nvd => "nvd",
            FeedSource::Osv => "osv",
        }
    }

    pub fn parse(s: &str) -> Option<FeedSource> {
        match s {
            "cve5" => Some(FeedSource::Cve5),
            "nvd" => Some(FeedSource::Nvd),
            "osv" => Some(FeedSource::Osv),
            _ => None,
        }
    }
}

/// What a record's product entry names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// A CPE 2.3 name (NVD configurations, CVE 5 `cpes`): part, vendor and product.
    Cpe {
        part: char,
        vendor: String,
        product: String,
    },
    /// A CVE 5 CNA's own words (`vendor: OpenSSL, product: OpenSSL`), lower-cased.
    Named { vendor: String, product: String },
    /// A package URL (OSV): type, namespace, name, and the OSV ecosystem.
    Purl {
        ptype: String,
        namespace: String,
        name: String,
        /// The `distro` qualifier (`focal`, `bookworm`), when the purl has one: one distribution
        /// release's fix says nothing about another's package.
        distro: String,
        ecosystem: String,
    },
}

/// Version bounds, as the feeds state them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// Exactly this version (a CPE with a version, an OSV `versions` entry).
    pub exact: Option<String>,
    pub start: Option<String>,
    pub start_incl: bool,
    pub end: Option<String>,
    pub end_incl: bool,
}

impl Bounds {
    /// `>= 1.0.2, < 1.0.2zd`, as a person reads it.
    pub fn describe(&self) -> String {
        if let Some(e) = &self.exact {
            return format!("= {e}");
        }
        let mut parts = Vec::new();
        if let Some(s) = &self.start {
            parts.push(format!("{} {s}", if self.start_incl { ">=" } else { ">" }));
        }
        if let Some(e) = &self.end {
            parts.push(format!("{} {e}", if self.end_incl { "<=" } else { "<" }));
        }
        if parts.is_empty() {
            "all versions".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One product entry of a record with its bounds, and where in the record it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedRow {
    pub target: Target,
    pub bounds: Bounds,
    /// `configurations[0].nodes[0].cpeMatch[0] (82CC192B-…)`: enough to find it in the record.
    pub place: String,
}

/// A record, whatever feed it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedRecord {
    pub source: FeedSource,
    pub id: String,
    /// `dateUpdated` / `lastModified` / `modified`, as `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub modified: String,
    pub published: Option<String>,
    /// Withdrawn (OSV) or rejected (CVE): an import removes the record.
    pub withdrawn: bool,
    pub aliases: Vec<String>,
    /// One line.
    pub summary: String,
    pub cvss: Option<f32>,
    pub severity: Option<Severity>,
    pub url: String,
    pub affected: Vec<AffectedRow>,
    /// Parts of the record not used, with the reason.
    pub notes: Vec<String>,
}

/// A document that could not be read as a record (the import goes on; the reason is listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub file: String,
    pub reason: String,
}

/// Reads every record under `path` (a JSON file, a folder searched for `.json` files, or a zip of
/// them) and hands each to `sink`. A document that is JSON but not a record of a known format is
/// listed in the result; an unreadable file, a file over the size bound or a broken zip is an error
/// naming it.
pub fn read_path(
    path: &Path,
    sink: &mut dyn FnMut(FeedRecord) -> Result<(), Error>,
) -> Result<Vec<Rejected>, Error> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::Io {
        path: shown.clone(),
        source: e,
    })?;
    let mut rejected = Vec::new();
    if meta.is_dir() {
        let mut files = Vec::new();
        collect(path, 0, &mut files)?;
        files.sort();
        for f in files {
            read_file(&f, sink, &mut rejected)?;
        }
    } else {
        read_file(path, sink, &mut rejected)?;
    }
    Ok(rejected)
}

fn read_file(
    path: &Path,
    sink: &mut dyn FnMut(FeedRecord) -> Result<(), Error>,
    rejected: &mut Vec<Rejected>,
) -> Result<(), Error> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| Error::Io {
        path: shown.clone(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 4];
    let n = f.read(&mut magic).map_err(io)?;
    if n == 4 && &magic == b"PK\x03\x04" {
        return read_zip(path, sink, rejected);
    }
    let bytes = read_bounded(std::fs::File::open(path).map_err(io)?, &shown)?;
    parse_document(&shown, &bytes, sink, rejected)
}

fn read_bounded(r: impl Read, name: &str) -> Result<Vec<u8>, Error> {
    let mut buf = Vec::new();
    r.take(MAX_DOCUMENT + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io {
            path: name.to_string(),
            source: e,
        })?;
    if buf.len() as u64 > MAX_DOCUMENT {
        return Err(Error::Feed {
            path: name.to_string(),
            message: format!(
                "larger than {} MiB; feed documents over that are refused",
                MAX_DOCUMENT >> 20
            ),
        });
    }
    Ok(buf)
}

fn read_zip(
    path: &Path,
    sink: &mut dyn FnMut(FeedRecord) -> Result<(), Error>,
    rejected: &mut Vec<Rejected>,
) -> Result<(), Error> {
    let shown = path.display().to_string();
    let bad = |message: String| Error::Feed {
        path: shown.clone(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::Io {
        path: shown.clone(),
        source: e,
    })?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
        .map_err(|e| bad(format!("not a readable zip: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(bad(format!(
            "{} entries; more than {MAX_ENTRIES} are refused",
            zip.len()
        )));
    }
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| bad(format!("entry {i}: {e}")))?;
        let name = entry.name().to_string();
        if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let label = format!("{shown}!{name}");
        if entry.size() > MAX_DOCUMENT {
            return Err(Error::Feed {
                path: label,
                message: format!("declares {} bytes; over the bound", entry.size()),
            });
        }
        let bytes = read_bounded(entry, &label)?;
        parse_document(&label, &bytes, sink, rejected)?;
    }
    Ok(())
}

/// Tells the format from the document's own fields and parses it.
fn parse_document(
    name: &str,
    bytes: &[u8],
    sink: &mut dyn FnMut(FeedRecord) -> Result<(), Error>,
    rejected: &mut Vec<Rejected>,
) -> Result<(), Error> {
    let probe = &bytes[..bytes.len().min(4096)];
    let has = |needle: &[u8]| probe.windows(needle.len()).any(|w| w == needle);
    let result = if has(b"\"cveMetadata\"") || has(b"\"CVE_RECORD\"") {
        cve5::parse(bytes).map(|r| vec![r])
    } else if has(b"\"vulnerabilities\"") || has(b"\"sourceIdentifier\"") || has(b"\"vulnStatus\"")
    {
        nvd::parse(bytes)
    } else if has(b"\"modified\"") || has(b"\"affected\"") || has(b"\"schema_version\"") {
        osv::parse(bytes)
    } else if bytes.iter().all(u8::is_ascii_whitespace) {
        Err("empty".to_string())
    } else {
        Err("not a CVE JSON 5, NVD 2.0 or OSV document".to_string())
    };
    match result {
        Ok(records) => {
            for r in records {
                sink(r)?;
            }
        }
        Err(reason) => rejected.push(Rejected {
            file: name.to_string(),
            reason,
        }),
    }
    Ok(())
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        source: e,
    };
    for e in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let e = e.map_err(|e| io(dir, e))?;
        let p = e.path();
        let ft = e.file_type().map_err(|err| io(&p, err))?;
        if ft.is_dir() {
            collect(&p, depth + 1, out)?;
        } else if ft.is_file()
            && p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("json") || x.eq_ignore_ascii_case("zip"))
        {
            out.push(p);
            if out.len() > MAX_ENTRIES {
                return Err(Error::Feed {
                    path: dir.display().to_string(),
                    message: format!("more than {MAX_ENTRIES} feed files"),
                });
            }
        }
    }
    Ok(())
}

/// `2024-11-29T12:04:34.610Z`, `2025-06-25T14:24:41.033`, `2022-10-16` → `YYYY-MM-DDTHH:MM:SS`,
/// so dates from every feed compare as strings.
pub(crate) fn norm_date(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10))
    {
        return None;
    }
    if b.len() >= 19 && b[10] == b'T' && digits(11..13) && digits(14..16) && digits(17..19) {
        return Some(s[..19].to_string());
    }
    Some(format!("{}T00:00:00", &s[..10]))
}

/// The first line of an English text, at most 300 characters.
pub(crate) fn one_line(s: &str) -> String {
    let line = s
        .split(['\n', '\r'])
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    line.chars().take(300).collect()
}

/// Severity from a CVSS score (FIRST's bands) or a severity word.
pub(crate) fn severity_word(w: &str) -> Option<Severity> {
    match w.to_ascii_lowercase().as_str() {
        "critical" => Some(Severity::Critical),
        "high" | "important" => Some(Severity::High),
        "moderate" | "medium" => Some(Severity::Medium),
        "low" => Some(Severity::Low),
        _ => None,
    }
}

/// A severity word as the store keeps it (`Severity::as_str`), back to the severity.
pub fn severity_of_word(w: &str) -> Option<Severity> {
    severity_word(w).or(match w {
        "info" => Some(Severity::Info),
        _ => None,
    })
}

/// Splits a CPE 2.3 formatted string into (part, vendor, product, version, update), unescaping
/// `\:`-style escapes in the parts kept.
pub(crate) fn split_cpe(cpe: &str) -> Option<(char, String, String, String, String)> {
    let rest = cpe.strip_prefix("cpe:2.3:")?;
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut esc = false;
    for c in rest.chars() {
        if esc {
            cur.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == ':' {
            fields.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    fields.push(cur);
    if fields.len() < 5 {
        return None;
    }
    let part = fields[0].chars().next().filter(|c| "aoh".contains(*c))?;
    Some((
        part,
        fields[1].to_ascii_lowercase(),
        fields[2].to_ascii_lowercase(),
        fields[3].clone(),
        fields[4].clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_every_feed_compare_as_strings() {
        assert_eq!(
            norm_date("2024-11-29T12:04:34.610Z").unwrap(),
            "2024-11-29T12:04:34"
        );
        assert_eq!(
            norm_date("2025-06-25T14:24:41.033").unwrap(),
            "2025-06-25T14:24:41"
        );
        assert_eq!(norm_date("2022-10-16").unwrap(), "2022-10-16T00:00:00");
        assert!(norm_date("yesterday").is_none());
        assert!(norm_date("2024-1").is_none());
    }

    #[test]
    fn cpe_names_split_with_escapes() {
        let (p, v, pr, ver, up) =
            split_cpe("cpe:2.3:o:linux:linux_kernel:6.8:rc1:*:*:*:*:*:*").unwrap();
        assert_eq!(
            (p, v.as_str(), pr.as_str(), ver.as_str(), up.as_str()),
            ('o', "linux", "linux_kernel", "6.8", "rc1")
        );
        let (_, _, pr, _, _) = split_cpe("cpe:2.3:a:nodejs:node.js:*:*:*:*:lts:*:*:*").unwrap();
        assert_eq!(pr, "node.js");
        let (_, v, _, _, _) = split_cpe("cpe:2.3:a:w1.fi\\:x:hostapd:*:*:*:*:*:*:*:*").unwrap();
        assert_eq!(v, "w1.fi:x");
        assert!(split_cpe("cpe:/a:openssl:openssl").is_none());
        assert!(split_cpe("cpe:2.3:x:a:b:c:d").is_none());
    }
}
