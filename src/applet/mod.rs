//! One module per applet: lexopt parsing into options, then `run`.

pub mod init;
pub mod join;
pub mod nsinit;
pub mod oci;
