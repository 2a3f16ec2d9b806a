//! Side effects: what serving a page changes in the engine.
pub mod open_impressions;
pub mod record_served;
