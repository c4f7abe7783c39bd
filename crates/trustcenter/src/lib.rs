//! The iotassure trust center: one service that keeps a registry of certified model + firmware
//! pairs, signs attestations about them, answers admission queries from networks, and re-checks
//! certified firmware when new advisories name its components.
//!
//! Layers, one way: [`store`] (SQL, the audit chain) → domain modules ([`registry`], [`certify`],
//! [`admission`], [`recheck`]) → [`api`] (axum routes, problem+json, OpenAPI). The same SQL runs
//! on SQLite (one file, the default) and PostgreSQL (several instances and workers on one
//! database); see `docs/trustcenter.md`.

pub mod admission;
pub mod api;
pub mod auth;
pub mod cache;
pub mod certify;
pub mod desk;
pub mod desk_api;
pub mod jobs;
pub mod keys;
pub mod listen;
pub mod problem;
pub mod recheck;
pub mod registry;
pub mod server;
pub mod store;
pub mod util;
pub mod web;
pub mod webhook;

pub use auth::Role;
pub use server::{Config, Server};
pub use store::Store;
