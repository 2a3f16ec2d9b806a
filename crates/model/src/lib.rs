//! sovereel-model
