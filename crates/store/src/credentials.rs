//! Changing a password: the new hash and the end of every other session
//! happen in one transaction, so a session opened with the old password
//! cannot outlive the change.

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};

use crate::sql::SqlRegion;
use crate::{Result, StoreError};

#[async_trait]
pub trait Credentials: Send + Sync {
    /// Replaces the user's password hash and ends every session of theirs
    /// but `keep_session` (the hash of the one that made the change).
    async fn set_password(&self, id: &str, password_hash: &str, keep_session: &str) -> Result<()>;
}

macro_rules! impl_credentials {
    ($DB:ty) => {
        #[async_trait]
        impl Credentials for SqlRegion<$DB> {
            async fn set_password(
                &self,
                id: &str,
                password_hash: &str,
                keep_session: &str,
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(id)
                    .bind(password_hash)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(id)
                    .bind(keep_session)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

mod sqlite_impl {
    use super::*;
    impl_credentials!(Sqlite);
}

mod postgres_impl {
    use super::*;
    impl_credentials!(Postgres);
}
