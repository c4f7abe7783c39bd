//! The document checks. Each is a stable test unit (`5.2-1-doc-policy`) that reads the documents
//! of the kinds it needs, records that it ran (or why it did not), and yields findings whose
//! evidence is a document line and its text.

use iotassure_core::finding::Observations;
use time::Date;

use crate::classify::Kind;
use crate::doc::Doc;

pub mod disclosure;
pub mod guidance;
pub mod privacy;
pub mod securitytxt;
pub mod support;

/// What a check sees.
pub struct Ctx<'a> {
    pub docs: &'a [Doc],
    /// "Today", for expiry and support end dates (fixed in tests).
    pub now: time::OffsetDateTime,
}

impl Ctx<'_> {
    pub fn today(&self) -> Date {
        self.now.date()
    }

    pub fn of(&self, k: Kind) -> Vec<&Doc> {
        self.docs.iter().filter(|d| d.is(k)).collect()
    }

    /// Documents with prose (everything but a bare security.txt).
    pub fn prose(&self) -> Vec<&Doc> {
        self.docs
            .iter()
            .filter(|d| !d.only_security_txt())
            .collect()
    }

    /// "no privacy notice among the 3 documents given".
    pub fn none_among(&self, what: &str) -> String {
        let n = self.docs.len();
        format!(
            "no {what} among the {n} document{} given",
            if n == 1 { "" } else { "s" }
        )
    }
}

pub struct Check {
    pub id: &'static str,
    pub provisions: &'static [&'static str],
    pub run: fn(&Ctx<'_>, &mut Observations),
}

pub static CHECKS: &[Check] = &[
    securitytxt::CHECK,
    disclosure::POLICY,
    disclosure::BOUNTY,
    disclosure::TIMELY,
    support::PERIOD,
    support::NOT_UPDATEABLE,
    privacy::NOTICE,
    privacy::WITHDRAW,
    privacy::TELEMETRY,
    guidance::DELETION,
    guidance::SETUP,
    guidance::SETUP_CHECK,
    guidance::SENSORS,
];

pub fn run_all(ctx: &Ctx<'_>, obs: &mut Observations) {
    for c in CHECKS {
        (c.run)(ctx, obs);
    }
}
