//! Fixture builders for the unpack tests.
