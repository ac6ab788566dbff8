//! runtime-spec 1.1's recursive mount options (`rro`, `rnosuid`, …): set on a
//! bind mount and on every mount below it, where `ro` on an `rbind` makes
//! only the top read-only (as in runc and crun).

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::common::{can_run, err, out};
use crate::oci::{Bundle, config};

/// A host directory with a tmpfs mounted at `sub`; unmounted on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        let dir = std::env::temp_dir().join(format!("nsinit-it-rec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "nsinit-it-rec"])
            .arg(dir.join("sub"))
            .status()
            .unwrap();
        assert!(st.success(), "mount a tmpfs below {}", dir.display());
        Tree(dir)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.join("sub")).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Inside: which of the bind's top and its submount can be written.
const PROBE: &str = "touch /data/top 2>/dev/null && echo TOP-WRITABLE; \
    touch /data/sub/below 2>/dev/null && echo SUB-WRITABLE; echo done";

fn run_with(name: &str, options: &[&str]) -> String {
    let tree = Tree::new(name);
    let b = Bundle::new(name, &["sh", "-c", PROBE]);
    let mut cfg = config(&["sh", "-c", PROBE]);
    cfg["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/data", "type": "bind", "source": tree.0, "options": options}),
    );
    b.write_config(&cfg);
    let bundle = b.dir.display().to_string();
    let o = b.run(&["run", "--bundle", &bundle, name]);
    assert!(o.status.success(), "{}", err(&o));
    out(&o)
}

#[test]
fn rro_makes_the_whole_tree_read_only_and_ro_only_the_top() {
    if !can_run() {
        return;
    }
    let rec = run_with("rro", &["rbind", "rro"]);
    assert_eq!(rec.trim(), "done", "rro leaves something writable: {rec}");
    // The control: `ro` is the top only, so the submount stays writable.
    let top = run_with("ro", &["rbind", "ro"]);
    assert_eq!(top.trim(), "SUB-WRITABLE\ndone", "{top}");
    // A later option wins: rrw undoes rro.
    let undone = run_with("rrw", &["rbind", "rro", "rrw"]);
    assert_eq!(
        undone.trim(),
        "TOP-WRITABLE\nSUB-WRITABLE\ndone",
        "{undone}"
    );
}

#[test]
fn features_lists_the_recursive_options() {
    if !can_run() {
        return;
    }
    let b = Bundle::new("recfeatures", &["true"]);
    let f: serde_json::Value = serde_json::from_str(&b.ok(&["features"])).unwrap();
    let opts: Vec<&str> = f["mountOptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for o in [
        "rro",
        "rrw",
        "rnosuid",
        "rnodev",
        "rnoexec",
        "rnosymfollow",
        "rnoatime",
    ] {
        assert!(opts.contains(&o), "{o} missing from features: {opts:?}");
    }
}
