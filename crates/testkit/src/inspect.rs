//! Fixture builders for the inspect tests.
