//! Fixture builders for the device tests.
