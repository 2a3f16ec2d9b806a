//! Candidate sources: each retrieves a budgeted set of videos with a reason.
pub mod co_engagement;
pub mod embedding;
pub mod following;
pub mod fresh;
pub mod hashtag;
pub mod trending;
