//! The check registry. A check is a function over the rootfs views; its id is a stable,
//! TS 103 701-like test unit (`5.1-1-fw-shadow`).

use iotassure_core::finding::Observations;

use crate::Ctx;

pub mod accounts;
pub mod boot;
pub mod disclosure;
pub mod keys;

pub struct Check {
    pub id: &'static str,
    pub provisions: &'static [&'static str],
    pub run: fn(&Ctx<'_>, &mut Observations),
}

pub static CHECKS: &[Check] = &[accounts::CHECK, keys::CHECK, boot::CHECK, disclosure::CHECK];
