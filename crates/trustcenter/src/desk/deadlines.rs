//! The disclosure desk's clock: a report's states, its deadlines under the maker's policy, and
//! the maker's track record (EN 303 645 5.2-2 evidence). Pure functions over times, so the
//! rules can be tested without a server.
//!
//! The rules (docs/trustcenter.md, "Deadlines"):
//! - acknowledge within `ack_days` of receipt; the first answer of the maker counts (an
//!   acknowledgement, or closing the report as rejected or duplicate);
//! - from the acknowledgement until the report is fixed or closed, a status update (a transition
//!   or a message from the maker) at least every `update_days`;
//! - a fix within `fix_days` of receipt, unless the report is triaged invalid, rejected or a
//!   duplicate;
//! - public disclosure is due `disclose_days` after receipt (the "90 days" rule).

use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Received,
    Acknowledged,
    Triaged,
    FixPlanned,
    Fixed,
    Disclosed,
    Rejected,
    Duplicate,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Received,
        State::Acknowledged,
        State::Triaged,
        State::FixPlanned,
        State::Fixed,
        State::Disclosed,
        State::Rejected,
        State::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Acknowledged => "acknowledged",
            State::Triaged => "triaged",
            State::FixPlanned => "fix_planned",
            State::Fixed => "fixed",
            State::Disclosed => "disclosed",
            State::Rejected => "rejected",
            State::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Where a report may go next. `valid` is the triage outcome (for `triaged`).
    pub fn next(self, valid: Option<bool>) -> &'static [State] {
        use State::*;
        match (self, valid) {
            (Received, _) => &[Acknowledged, Rejected, Duplicate],
            (Acknowledged, _) => &[Triaged, Rejected, Duplicate],
            (Triaged, Some(false)) => &[Disclosed],
            (Triaged, _) => &[FixPlanned, Fixed, Duplicate],
            (FixPlanned, _) => &[Fixed],
            (Fixed, _) => &[Disclosed],
            (Disclosed | Rejected | Duplicate, _) => &[],
        }
    }

    /// True while the maker still owes the reporter work (and so status updates).
    pub fn open(self, valid: Option<bool>) -> bool {
        use State::*;
        match self {
            Received | Acknowledged | FixPlanned => true,
            Triaged => valid != Some(false),
            Fixed | Disclosed | Rejected | Duplicate => false,
        }
    }
}

/// The maker's commitments, in calendar days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct Policy {
    pub ack_days: i64,
    pub update_days: i64,
    pub fix_days: i64,
    pub disclose_days: i64,
}

impl Policy {
    /// Used when a maker has set none and no assessed policy document gave figures: the
    /// conventions EN 303 645 5.2-2 and the CVD guides (ISO/IEC 29147) cite.
    pub const CONVENTIONAL: Policy = Policy {
        ack_days: 7,
        update_days: 30,
        fix_days: 90,
        disclose_days: 90,
    };

    pub fn check(&self) -> Result<(), String> {
        for (name, v, max) in [
            ("ack_days", self.ack_days, 90),
            ("update_days", self.update_days, 180),
            ("fix_days", self.fix_days, 730),
            ("disclose_days", self.disclose_days, 730),
        ] {
            if !(1..=max).contains(&v) {
                return Err(format!("`{name}`: between 1 and {max} days"));
            }
        }
        if self.disclose_days < self.ack_days {
            return Err("`disclose_days` cannot be shorter than `ack_days`".into());
        }
        Ok(())
    }
}

/// How one deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Not due yet.
    Pending,
    /// Done by the deadline.
    Met,
    /// Done after the deadline.
    Late,
    /// Past due and not done.
    Overdue,
    /// Does not apply (a rejected report needs no fix).
    NotApplicable,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadline {
    pub due: String,
    pub standing: Standing,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadlines {
    pub acknowledge: Deadline,
    /// The next status update, while the report is open after acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update: Option<Deadline>,
    pub fix: Deadline,
    /// The date after which the reporter may disclose (the policy's disclosure rule).
    pub disclose_by: String,
    /// True when any deadline is overdue now.
    pub overdue: bool,
}

/// The times of one report that the deadlines depend on.
#[derive(Debug, Clone)]
pub struct Times {
    pub state: State,
    pub valid: Option<bool>,
    pub received: OffsetDateTime,
    pub acknowledged: Option<OffsetDateTime>,
    pub fixed: Option<OffsetDateTime>,
    pub closed: Option<OffsetDateTime>,
    pub last_update: OffsetDateTime,
    pub policy: Policy,
}

impl Times {
    /// The maker's first answer: the acknowledgement, or closing the report unacknowledged.
    fn answered(&self) -> Option<OffsetDateTime> {
        self.acknowledged.or(self.closed)
    }

    fn needs_fix(&self) -> bool {
        !(matches!(self.state, State::Rejected | State::Duplicate) || self.valid == Some(false))
    }
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

fn standing(done: Option<OffsetDateTime>, due: OffsetDateTime, now: OffsetDateTime) -> Standing {
    match done {
        Some(t) if t <= due => Standing::Met,
        Some(_) => Standing::Late,
        None if now > due => Standing::Overdue,
        None => Standing::Pending,
    }
}

pub fn deadlines(t: &Times, now: OffsetDateTime) -> Deadlines {
    let stamp = crate::util::stamp;
    let ack_due = t.received + days(t.policy.ack_days);
    let acknowledge = Deadline {
        due: stamp(ack_due),
        standing: standing(t.answered(), ack_due, now),
    };
    let update = (t.acknowledged.is_some() && t.state.open(t.valid)).then(|| {
        let due = t.last_update + days(t.policy.update_days);
        Deadline {
            due: stamp(due),
            standing: if now > due {
                Standing::Overdue
            } else {
                Standing::Pending
            },
        }
    });
    let fix_due = t.received + days(t.policy.fix_days);
    let fix = Deadline {
        due: stamp(fix_due),
        standing: if t.needs_fix() {
            standing(t.fixed, fix_due, now)
        } else {
            Standing::NotApplicable
        },
    };
    let overdue = [Some(&acknowledge), update.as_ref(), Some(&fix)]
        .into_iter()
        .flatten()
        .any(|d| d.standing == Standing::Overdue);
    Deadlines {
        acknowledge,
        update,
        fix,
        disclose_by: stamp(t.received + days(t.policy.disclose_days)),
        overdue,
    }
}

/// A maker's record over its reports: the evidence for EN 303 645 5.2-2 ("acted on in a timely
/// manner"), in figures a person can recompute from the reports.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, ToSchema, PartialEq)]
pub struct Figures {
    pub reports: i64,
    /// Reports the maker still owes work on.
    pub open: i64,
    pub acknowledged: i64,
    pub fixed: i64,
    /// Median days from receipt to the maker's first answer, over answered reports.
    pub median_days_to_acknowledge: Option<f64>,
    /// Median days from receipt to the fix, over fixed reports.
    pub median_days_to_fix: Option<f64>,
    /// Deadlines (acknowledge, each status-update interval, fix) kept and missed; a deadline not
    /// yet due counts in neither.
    pub deadlines_met: i64,
    pub deadlines_missed: i64,
    /// `deadlines_met / (met + missed)`, when any deadline has come due.
    pub on_time_share: Option<f64>,
    /// Reports with a deadline overdue now.
    pub overdue_now: i64,
}

/// One report's times plus the times of the maker's updates to the reporter (transitions and
/// messages, in order).
pub struct History {
    pub times: Times,
    pub maker_updates: Vec<OffsetDateTime>,
}

pub fn figures(reports: &[History], now: OffsetDateTime) -> Figures {
    let mut f = Figures {
        reports: reports.len() as i64,
        ..Figures::default()
    };
    let mut to_ack = Vec::new();
    let mut to_fix = Vec::new();
    let tally = |s: Standing, f: &mut Figures| match s {
        Standing::Met => f.deadlines_met += 1,
        Standing::Late | Standing::Overdue => f.deadlines_missed += 1,
        Standing::Pending | Standing::NotApplicable => {}
    };
    for h in reports {
        let t = &h.times;
        let d = deadlines(t, now);
        if t.state.open(t.valid) {
            f.open += 1;
        }
        if d.overdue {
            f.overdue_now += 1;
        }
        if t.acknowledged.is_some() {
            f.acknowledged += 1;
        }
        if let Some(a) = t.answered() {
            to_ack.push(span_days(t.received, a));
        }
        if let Some(x) = t.fixed {
            f.fixed += 1;
            to_fix.push(span_days(t.received, x));
        }
        tally(d.acknowledge.standing, &mut f);
        tally(d.fix.standing, &mut f);
        // Status updates: every gap between the maker's updates, from the acknowledgement until
        // the report stopped being open, is one interval that either kept the rule or not.
        if let Some(ack) = t.acknowledged {
            let end = if t.state.open(t.valid) {
                None
            } else {
                t.fixed.or(t.closed)
            };
            let limit = days(t.policy.update_days);
            let mut prev = ack;
            for &u in h.maker_updates.iter().filter(|&&u| u > ack) {
                if end.is_some_and(|e| u > e) {
                    break;
                }
                tally(
                    if u - prev <= limit {
                        Standing::Met
                    } else {
                        Standing::Late
                    },
                    &mut f,
                );
                prev = u;
            }
            if end.is_none() && now - prev > limit {
                tally(Standing::Overdue, &mut f);
            }
        }
    }
    f.median_days_to_acknowledge = median(&mut to_ack);
    f.median_days_to_fix = median(&mut to_fix);
    let due = f.deadlines_met + f.deadlines_missed;
    if due > 0 {
        f.on_time_share = Some(round2(f.deadlines_met as f64 / due as f64));
    }
    f
}

fn span_days(a: OffsetDateTime, b: OffsetDateTime) -> f64 {
    (b - a).as_seconds_f64() / 86_400.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(round1(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const P: Policy = Policy {
        ack_days: 3,
        update_days: 14,
        fix_days: 90,
        disclose_days: 90,
    };

    fn times(state: State) -> Times {
        let r = datetime!(2026-01-01 00:00 UTC);
        Times {
            state,
            valid: None,
            received: r,
            acknowledged: None,
            fixed: None,
            closed: None,
            last_update: r,
            policy: P,
        }
    }

    #[test]
    fn transitions_follow_the_process() {
        assert!(State::Received.next(None).contains(&State::Acknowledged));
        assert!(!State::Received.next(None).contains(&State::Fixed));
        assert!(!State::Triaged.next(Some(false)).contains(&State::Fixed));
        assert!(State::Triaged.next(Some(true)).contains(&State::Fixed));
        assert!(State::Disclosed.next(None).is_empty());
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn acknowledgement_deadline_moves_from_pending_to_overdue_to_late() {
        let t = times(State::Received);
        let d = deadlines(&t, datetime!(2026-01-02 00:00 UTC));
        assert_eq!(d.acknowledge.standing, Standing::Pending);
        assert!(!d.overdue);
        assert_eq!(d.acknowledge.due, "2026-01-04T00:00:00.000000Z");
        let d = deadlines(&t, datetime!(2026-01-05 00:00 UTC));
        assert_eq!(d.acknowledge.standing, Standing::Overdue);
        assert!(d.overdue);
        let mut t = t;
        t.state = State::Acknowledged;
        t.acknowledged = Some(datetime!(2026-01-06 00:00 UTC));
        t.last_update = datetime!(2026-01-06 00:00 UTC);
        let d = deadlines(&t, datetime!(2026-01-07 00:00 UTC));
        assert_eq!(d.acknowledge.standing, Standing::Late);
        assert_eq!(d.update.as_ref().unwrap().standing, Standing::Pending);
        assert_eq!(d.update.unwrap().due, "2026-01-20T00:00:00.000000Z");
        assert_eq!(d.disclose_by, "2026-04-01T00:00:00.000000Z");
    }

    #[test]
    fn a_rejected_report_needs_no_fix_and_no_updates() {
        let mut t = times(State::Rejected);
        t.closed = Some(datetime!(2026-01-02 00:00 UTC));
        let d = deadlines(&t, datetime!(2026-12-01 00:00 UTC));
        assert_eq!(d.acknowledge.standing, Standing::Met);
        assert_eq!(d.fix.standing, Standing::NotApplicable);
        assert!(d.update.is_none());
        assert!(!d.overdue);
    }

    #[test]
    fn track_record_counts_every_deadline_once() {
        let now = datetime!(2026-06-01 00:00 UTC);
        // Fixed on time: acked after 1 day, updates every 10 days, fixed on day 30.
        let mut a = times(State::Fixed);
        a.acknowledged = Some(datetime!(2026-01-02 00:00 UTC));
        a.fixed = Some(datetime!(2026-01-31 00:00 UTC));
        let a = History {
            maker_updates: vec![
                datetime!(2026-01-02 00:00 UTC),
                datetime!(2026-01-12 00:00 UTC),
                datetime!(2026-01-22 00:00 UTC),
                datetime!(2026-01-31 00:00 UTC),
            ],
            times: a,
        };
        // Never acknowledged: ack and fix overdue.
        let b = History {
            times: times(State::Received),
            maker_updates: vec![],
        };
        // Acked late (day 5), then silent for 40 days and still open.
        let mut c = times(State::Acknowledged);
        c.acknowledged = Some(datetime!(2026-01-06 00:00 UTC));
        c.received = datetime!(2026-04-01 00:00 UTC);
        c.acknowledged = Some(datetime!(2026-04-06 00:00 UTC));
        c.last_update = datetime!(2026-04-06 00:00 UTC);
        let c = History {
            maker_updates: vec![datetime!(2026-04-06 00:00 UTC)],
            times: c,
        };
        let f = figures(&[a, b, c], now);
        assert_eq!(f.reports, 3);
        assert_eq!(f.open, 2);
        assert_eq!(f.fixed, 1);
        assert_eq!(f.overdue_now, 2);
        // a: ack met, fix met, 3 update gaps met; b: ack missed, fix missed;
        // c: ack late, fix pending (due 2026-06-30), the open update interval overdue.
        assert_eq!(f.deadlines_met, 5);
        assert_eq!(f.deadlines_missed, 4);
        assert_eq!(f.on_time_share, Some(0.56));
        assert_eq!(f.median_days_to_acknowledge, Some(3.0));
        assert_eq!(f.median_days_to_fix, Some(30.0));
    }
}
