//! sovereel-recs
