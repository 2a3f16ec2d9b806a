//! Scorers: attach features, objective probabilities and the final score.
pub mod editorial;
pub mod engagement;
