//! sovereel-store
