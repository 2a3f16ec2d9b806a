//! sovereel-server
