//! sovereel-media
