//! Selectors: choose the page from scored candidates.
pub mod top_k;
