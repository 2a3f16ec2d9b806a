//! The one error type at the storage boundary.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit; the string names the rule, never the data.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
    }
}
