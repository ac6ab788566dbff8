//! Whole-file tests: the sample configs, defaults, and one test per bad input.

use std::path::Path;

use super::load_str;

#[allow(dead_code)] // used by the per-field tests below
pub(super) fn errors(json: &str) -> Vec<String> {
    match load_str(json, Path::new("/tmp/ct")) {
        Ok(l) => panic!("expected errors, got a config: {:?}", l.config),
        Err(e) => e,
    }
}

fn sample(name: &str) -> super::Loaded {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_configs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    match load_str(&text, Path::new("/tmp/ct")) {
        Ok(l) => l,
        Err(e) => panic!("{name}: {e:#?}"),
    }
}

#[test]
fn every_sample_config_loads_without_warnings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_configs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let loaded = sample(&name);
        assert_eq!(loaded.warnings, Vec::<String>::new(), "{name}");
        println!(
            "{name}:\n{}",
            serde_json::to_string_pretty(&loaded.config).unwrap()
        );
    }
}
