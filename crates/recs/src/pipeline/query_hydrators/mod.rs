//! Query hydrators: turn the request into a [`super::RankContext`].
pub mod co_engagement_profile;
pub mod history;
pub mod session;
pub mod social_graph;
