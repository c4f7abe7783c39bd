//! The check registry. A check is a function over the loaded context; its id is a stable,
//! TS 103 701-like test unit (`5.1-1-fw-accounts`).

use iotassure_core::finding::Observations;

use crate::Ctx;

pub mod accounts;
pub mod banners;
pub mod bin_defaults;
pub mod bootgraph;
pub mod components;
pub mod console_wrapper;
pub mod credentials;
pub mod crypto;
pub mod disclosure;
pub mod elf;
pub mod input;
pub mod install_scripts;
pub mod integrity;
pub mod keys;
pub mod mcu_components;
pub mod mcu_strings;
pub mod reset;
pub mod sensors;
pub mod service_sources;
pub mod services;
pub mod update;

pub struct Check {
    pub id: &'static str,
    pub provisions: &'static [&'static str],
    pub run: fn(&Ctx<'_>, &mut Observations),
}

pub static CHECKS: &[Check] = &[
    accounts::CHECK,
    credentials::CHECK,
    install_scripts::CHECK,
    keys::CHECK,
    services::CHECK,
    elf::CHECK,
    components::CHECK,
    update::CHECK,
    crypto::CHECK,
    integrity::CHECK,
    reset::CHECK,
    sensors::CHECK,
    input::CHECK,
    disclosure::CHECK,
    crate::mcu_sdk::CHECK,
];
