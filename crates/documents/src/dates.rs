//! Dates and durations in prose: "until 31 December 2027", "2027-12-31", "within 5 business
//! days", "every 30 days", "at least 5 years from the date of purchase".

use std::sync::LazyLock;

use regex::Regex;
use time::{Date, Month};

/// How precisely a date was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Day,
    /// "December 2027", "end of December 2027": the last day of the month.
    Month,
    /// "the end of 2027": the last day of the year.
    YearEnd,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDate {
    /// The last day the text refers to.
    pub date: Date,
    pub precision: Precision,
    pub text: String,
    /// Byte offset in the text searched.
    pub start: usize,
}

/// A bare year after "until"/"through" ("until 2028"): it is not clear whether support ends when
/// 2028 begins or ends, so it is reported, not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BareYear {
    pub year: i32,
    pub text: String,
}

const MONTHS: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{4})[-/.](\d{2})[-/.](\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\b")
        .unwrap()
});
static DMY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTHS})\.?,?\s+(\d{{4}})\b"
    ))
    .unwrap()
});
static MDY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"
    ))
    .unwrap()
});
static MY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\b({MONTHS})\.?,?\s+(\d{{4}})\b")).unwrap());
static NUMERIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b").unwrap());
static YEAR_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bend\s+of\s+(?:the\s+(?:calendar\s+)?year\s+)?(\d{4})\b").unwrap()
});
static BARE_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:until|till|til|through|thru|to|ends?|ending\s+in|expires?\s+in)\s+(?:at\s+least\s+)?(\d{4})\b(?:\s*[-/]\d)?")
        .unwrap()
});

fn month_of(s: &str) -> Option<Month> {
    let m = s.to_ascii_lowercase();
    Some(match m.get(..3)? {
        "jan" => Month::January,
        "feb" => Month::February,
        "mar" => Month::March,
        "apr" => Month::April,
        "may" => Month::May,
        "jun" => Month::June,
        "jul" => Month::July,
        "aug" => Month::August,
        "sep" => Month::September,
        "oct" => Month::October,
        "nov" => Month::November,
        "dec" => Month::December,
        _ => return None,
    })
}

fn plausible_year(y: i32) -> bool {
    (1990..=2200).contains(&y)
}

fn ymd(y: i32, m: Month, d: u8) -> Option<Date> {
    if !plausible_year(y) {
        return None;
    }
    Date::from_calendar_date(y, m, d).ok()
}

fn month_end(y: i32, m: Month) -> Option<Date> {
    if !plausible_year(y) {
        return None;
    }
    Date::from_calendar_date(y, m, time::util::days_in_month(m, y)).ok()
}

/// Every date in `s`, earliest position first; overlapping matches keep the most precise.
pub fn find_dates(s: &str) -> Vec<FoundDate> {
    let mut found: Vec<(usize, usize, FoundDate)> = Vec::new();
    // Earlier patterns are the more precise: a later match overlapping one is dropped.
    let mut add = |m: regex::Match<'_>, date: Date, precision: Precision| {
        let (start, end) = (m.start(), m.end());
        if !found.iter().any(|(a, b, _)| start < *b && *a < end) {
            let text = m.as_str().to_string();
            found.push((
                start,
                end,
                FoundDate {
                    date,
                    precision,
                    text,
                    start,
                },
            ));
        }
    };
    for c in ISO.captures_iter(s) {
        let m = c.get(0).unwrap();
        let (y, mo, d) = (
            c[1].parse().unwrap_or(0),
            c[2].parse().unwrap_or(0),
            c[3].parse().unwrap_or(0),
        );
        if let Some(date) = Month::try_from(mo).ok().and_then(|mo| ymd(y, mo, d)) {
            add(m, date, Precision::Day);
        }
    }
    for c in DMY.captures_iter(s) {
        let m = c.get(0).unwrap();
        if let Some(date) = month_of(&c[2])
            .and_then(|mo| ymd(c[3].parse().unwrap_or(0), mo, c[1].parse().unwrap_or(0)))
        {
            add(m, date, Precision::Day);
        }
    }
    for c in MDY.captures_iter(s) {
        let m = c.get(0).unwrap();
        if let Some(date) = month_of(&c[1])
            .and_then(|mo| ymd(c[3].parse().unwrap_or(0), mo, c[2].parse().unwrap_or(0)))
        {
            add(m, date, Precision::Day);
        }
    }
    for c in NUMERIC.captures_iter(s) {
        let m = c.get(0).unwrap();
        let (a, b, y): (u8, u8, i32) = (
            c[1].parse().unwrap_or(0),
            c[2].parse().unwrap_or(0),
            c[3].parse().unwrap_or(0),
        );
        // 31/12/2027 is day-first, 12/31/2027 month-first; 05/06/2027 is ambiguous and skipped.
        let (d, mo) = match (a > 12, b > 12) {
            (true, false) => (a, b),
            (false, true) => (b, a),
            _ if a == b => (a, b),
            _ => continue,
        };
        if let Some(date) = Month::try_from(mo).ok().and_then(|mo| ymd(y, mo, d)) {
            add(m, date, Precision::Day);
        }
    }
    for c in MY.captures_iter(s) {
        let m = c.get(0).unwrap();
        if let Some(date) = month_of(&c[1]).and_then(|mo| month_end(c[2].parse().unwrap_or(0), mo))
        {
            add(m, date, Precision::Month);
        }
    }
    for c in YEAR_END.captures_iter(s) {
        let m = c.get(0).unwrap();
        if let Some(date) = month_end(c[1].parse().unwrap_or(0), Month::December) {
            add(m, date, Precision::YearEnd);
        }
    }
    found.sort_by_key(|(a, _, _)| *a);
    found.into_iter().map(|(_, _, d)| d).collect()
}

/// "until 2028" and the like, where no finer date overlaps.
pub fn find_bare_years(s: &str) -> Vec<BareYear> {
    let dates = find_dates(s);
    BARE_YEAR
        .captures_iter(s)
        .filter_map(|c| {
            let year: i32 = c[1].parse().ok()?;
            let text = c.get(0)?.as_str().to_string();
            let covered = dates.iter().any(|d| d.date.year() == year);
            (plausible_year(year) && !covered).then_some(BareYear { year, text })
        })
        .collect()
}

const NUM: &str = r"(?:\d{1,4}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|twenty|thirty|forty[- ]five|sixty|ninety)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duration {
    pub amount: u32,
    pub unit: Unit,
    pub text: String,
}

impl Duration {
    /// Roughly in days, to compare ("at least 2 years").
    pub fn days(&self) -> u32 {
        let per = match self.unit {
            Unit::Hour => return self.amount / 24,
            Unit::Day => 1,
            Unit::Week => 7,
            Unit::Month => 30,
            Unit::Year => 365,
        };
        self.amount.saturating_mul(per)
    }
}

static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b({NUM})(?:\s*\(\d{{1,4}}\))?[\s-]*(?:(?:business|working|calendar|full)[\s-]+)?(hours?|hrs?|h|days?|weeks?|months?|years?|yrs?)\b"
    ))
    .unwrap()
});

static FREQUENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:daily|weekly|fortnightly|monthly|bi-?weekly|every\s+(?:{NUM}\s+)?(?:business\s+|working\s+)?(?:day|week|month|fortnight)s?|(?:once|twice|at\s+least\s+once)\s+(?:a|per|every)\s+(?:day|week|fortnight|month))\b"
    ))
    .unwrap()
});

fn number(s: &str) -> Option<u32> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    Some(match s.to_ascii_lowercase().replace('-', " ").as_str() {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "fourteen" => 14,
        "fifteen" => 15,
        "twenty" => 20,
        "thirty" => 30,
        "forty five" => 45,
        "sixty" => 60,
        "ninety" => 90,
        _ => return None,
    })
}

/// Durations ("5 business days", "two (2) years", "48h").
pub fn find_durations(s: &str) -> Vec<Duration> {
    DURATION
        .captures_iter(s)
        .filter_map(|c| {
            let amount = number(&c[1])?;
            let u = c[2].to_ascii_lowercase();
            let unit = match u.as_bytes()[0] {
                b'h' => Unit::Hour,
                b'd' => Unit::Day,
                b'w' => Unit::Week,
                b'm' => Unit::Month,
                b'y' => Unit::Year,
                _ => return None,
            };
            // "a day" is prose, not a deadline; a lone article only counts with weeks/months/years.
            if matches!(c[1].to_ascii_lowercase().as_str(), "a" | "an") && unit <= Unit::Day {
                return None;
            }
            Some(Duration {
                amount,
                unit,
                text: c[0].to_string(),
            })
        })
        .collect()
}

/// Regular-interval phrases ("every 14 days", "weekly", "at least once a month").
pub fn find_frequency(s: &str) -> Option<String> {
    FREQUENCY.find(s).map(|m| m.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_table() {
        let cases: &[(&str, Option<(Date, Precision)>)] = &[
            (
                "until 31 December 2027",
                Some((date!(2027 - 12 - 31), Precision::Day)),
            ),
            (
                "until 31st of Dec 2027",
                Some((date!(2027 - 12 - 31), Precision::Day)),
            ),
            (
                "through December 31, 2027.",
                Some((date!(2027 - 12 - 31), Precision::Day)),
            ),
            (
                "end of support: 2027-12-31",
                Some((date!(2027 - 12 - 31), Precision::Day)),
            ),
            (
                "Expires: 2027-06-30T23:59:59Z",
                Some((date!(2027 - 06 - 30), Precision::Day)),
            ),
            (
                "until December 2027",
                Some((date!(2027 - 12 - 31), Precision::Month)),
            ),
            (
                "until the end of 2028",
                Some((date!(2028 - 12 - 31), Precision::YearEnd)),
            ),
            (
                "until 31/12/2027",
                Some((date!(2027 - 12 - 31), Precision::Day)),
            ),
            (
                "until 12/31/2027",
                Some((date!(2027 - 12 - 31), Precision::Day)),
            ),
            ("until 05/06/2027", None),
            ("until 2027-02-30", None),
            ("for 5 years", None),
            ("version 2.31.2027", None),
        ];
        for (s, want) in cases {
            let got = find_dates(s).first().map(|d| (d.date, d.precision));
            assert_eq!(got, *want, "{s}");
        }
    }

    #[test]
    fn bare_years() {
        assert_eq!(find_bare_years("security updates until 2028")[0].year, 2028);
        assert!(find_bare_years("until the end of 2028").is_empty());
        assert!(find_bare_years("until 31 December 2028").is_empty());
    }

    #[test]
    fn durations_table() {
        let cases: &[(&str, Option<(u32, Unit)>)] = &[
            ("within 5 business days", Some((5, Unit::Day))),
            ("within five (5) working days", Some((5, Unit::Day))),
            ("within 48 hours", Some((48, Unit::Hour))),
            ("in 48h", Some((48, Unit::Hour))),
            ("for at least two years", Some((2, Unit::Year))),
            ("a 90-day window", Some((90, Unit::Day))),
            ("a year", Some((1, Unit::Year))),
            ("once a day", None),
            ("as soon as possible", None),
        ];
        for (s, want) in cases {
            let got = find_durations(s).first().map(|d| (d.amount, d.unit));
            assert_eq!(got, *want, "{s}");
        }
    }

    #[test]
    fn frequency_table() {
        for s in [
            "every 30 days",
            "weekly",
            "every week",
            "at least once a month",
            "every two weeks",
        ] {
            assert!(find_frequency(s).is_some(), "{s}");
        }
        for s in ["every time", "eventually", "when resolved"] {
            assert!(find_frequency(s).is_none(), "{s}");
        }
    }
}
