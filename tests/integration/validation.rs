//! Exit codes and validation at the command line (issue 12, items 9 and 12):
//! nsinit's own failures exit 125 and name the field, usage errors 2, a command
//! that cannot run 126/127, and the container command's own status passes
//! through untouched — 1 included.

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

use crate::common::{self, Container, base_config, bin, can_run, err};

/// Run the binary under test with `args`, stdin closed.
fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A scratch directory removed on drop (for paths that are not containers).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("nsinit-it-val-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// `config --validate` of `cfg` in a fresh container directory.
fn validate(name: &str, cfg: &Value) -> (Container, Output) {
    let c = Container::new(name, cfg);
    let o = c.cmd(&["config", "--validate"]).output().unwrap();
    (c, o)
}

#[test]
fn a_command_exiting_1_still_exits_1_and_nsinit_failures_exit_125() {
    if !can_run() {
        return;
    }
    let c = Container::new("val-exit1", &base_config());
    let o = c.exec(&["sh", "-c", "exit 1"]);
    assert_eq!(code(&o), Some(1), "{}", err(&o));
    assert_eq!(err(&o), "");
    let o = c.exec(&["sh", "-c", "exit 125"]);
    assert_eq!(code(&o), Some(125), "the command's own 125 passes through");
    assert_eq!(err(&o), "", "and nsinit says nothing about it");
    assert_eq!(code(&c.exec(&["/bin/nope"])), Some(127));
    assert_eq!(code(&c.exec(&["/etc/passwd"])), Some(126));
    // A config error: nsinit failed, before anything ran.
    let mut cfg = base_config();
    cfg["hostname"] = json!("bad\u{0}name");
    c.write_config(&cfg);
    let o = c.exec(&["true"]);
    assert_eq!(code(&o), Some(125), "{}", err(&o));
    assert_eq!(
        err(&o),
        "nsinit: container.json: hostname: must not contain control characters (NUL, newline...), got \"bad\\0name\"\n"
    );
    assert!(!c.dir.join("state.json").exists());
}

#[test]
fn config_errors_exit_125_and_name_the_field() {
    let mut cfg = base_config();
    cfg["mount_config"]["mounts"] = json!([{"type": "tmpfs", "destination": "/dev"}]);
    cfg["apparmor_profile"] = json!("docker-default");
    let (_c, o) = validate("val-fields", &cfg);
    assert_eq!(code(&o), Some(125), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains(
            "container.json: mount_config.mounts[0].destination: must not be \"/dev\" (nsinit builds /dev there with the device nodes)\n"
        ),
        "{e}"
    );
    assert!(
        e.contains("container.json: apparmor_profile: \"docker-default\": ")
            && e.contains("remove the key to run it unconfined\n"),
        "{e}"
    );
}

#[test]
fn validate_checks_root_fs_and_bind_sources_on_the_host() {
    let mut cfg = base_config();
    cfg["root_fs"] = json!("/no/such/rootfs");
    cfg["mount_config"]["mounts"] =
        json!([{"type": "bind", "source": "/no/such/source", "destination": "/mnt"}]);
    let (_c, o) = validate("val-host", &cfg);
    assert_eq!(code(&o), Some(125), "{}", err(&o));
    let e = err(&o);
    assert!(
        e.contains("container.json: root_fs: /no/such/rootfs: No such file or directory\n"),
        "{e}"
    );
    assert!(
        e.contains(
            "container.json: mount_config.mounts[0].source: /no/such/source: No such file or directory\n"
        ),
        "{e}"
    );
    // A root_fs that is a file.
    let s = Scratch::new("rootfile");
    std::fs::write(s.0.join("f"), "").unwrap();
    let mut cfg = base_config();
    cfg["root_fs"] = json!(s.0.join("f"));
    let (_c, o) = validate("val-rootfile", &cfg);
    assert_eq!(code(&o), Some(125));
    assert!(
        err(&o).contains(&format!("root_fs: {}/f: not a directory", s.0.display())),
        "{}",
        err(&o)
    );
    // The same config with real paths is valid (needs the busybox rootfs).
    if !can_run() {
        return;
    }
    let (c, o) = validate("val-host-ok", &base_config());
    assert_eq!(code(&o), Some(0), "{}", err(&o));
    assert_eq!(
        common::out(&o),
        format!("{}/container.json: valid\n", c.dir.display())
    );
}

#[test]
fn duplicate_keys_and_a_bom_at_the_command_line() {
    let c = Container::new("val-dup", &json!({}));
    std::fs::write(
        c.dir.join("container.json"),
        "\u{feff}{\"namespaces\": {\"NEWUTS\": true},\n \"hostname\": \"a\",\n \"hostname\": \"b\"}",
    )
    .unwrap();
    let o = c.cmd(&["config", "--validate"]).output().unwrap();
    assert_eq!(code(&o), Some(125));
    assert!(
        err(&o).contains(
            "container.json: hostname: duplicate key at line 3 (each key may appear once)\n"
        ),
        "{}",
        err(&o)
    );
    std::fs::write(c.dir.join("container.json"), "\u{feff}{\"tty\": false}").unwrap();
    let o = c.cmd(&["config", "--validate"]).output().unwrap();
    assert_eq!(code(&o), Some(0), "a BOM is skipped: {}", err(&o));
}

#[test]
fn root_must_be_an_existing_directory() {
    let o = run(&["--root", "/no/such/dir", "state"]);
    assert_eq!(code(&o), Some(125));
    assert_eq!(
        err(&o),
        "nsinit: container directory /no/such/dir (--root): No such file or directory\n"
    );
    assert_eq!(
        common::out(&o),
        "",
        "no \"stopped\" for a directory that is not there"
    );
    let s = Scratch::new("rootfile");
    let f = s.0.join("file");
    std::fs::write(&f, "").unwrap();
    let o = run(&["--root", f.to_str().unwrap(), "state"]);
    assert_eq!(code(&o), Some(125));
    assert_eq!(
        err(&o),
        format!(
            "nsinit: container directory {} (--root): not a directory\n",
            f.display()
        )
    );
    // $data_path is checked the same way.
    let o = Command::new(bin())
        .arg("state")
        .env("data_path", "/no/such/dir")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), Some(125));
    assert!(
        err(&o).contains("($data_path): No such file or directory"),
        "{}",
        err(&o)
    );
}

#[test]
fn one_container_directory_has_one_name() {
    // Through a symlink and with `..`, the directory is named canonically.
    let s = Scratch::new("canon");
    let real = s.0.join("real");
    std::fs::create_dir(&real).unwrap();
    symlink(&real, s.0.join("link")).unwrap();
    let canonical = real.canonicalize().unwrap();
    for spelling in [
        s.0.join("link"),
        s.0.join("link/../real/."),
        s.0.join("real//"),
    ] {
        let o = run(&["join", "--root", spelling.to_str().unwrap(), "true"]);
        assert_eq!(code(&o), Some(125), "{}", err(&o));
        assert_eq!(
            err(&o),
            format!(
                "nsinit-join: no running container in {}: no record\n",
                canonical.display()
            ),
            "{}",
            spelling.display()
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--bogus", "state"][..],
        &[][..],
        &["join", "-t", "0", "true"][..],
        &["join", "-t", "-5", "true"][..],
        &["join", "--target=0"][..],
        &["join", "-t"][..],
        &["init"][..],
        &["init", "-x", "true"][..],
        &["exec"][..],
    ] {
        let o = run(args);
        assert_eq!(code(&o), Some(2), "{args:?}: {}", err(&o));
    }
    let o = run(&["join", "-t", "0", "true"]);
    assert_eq!(
        err(&o),
        "nsinit-join: --target: expected a process ID (a positive integer), got \"0\"\n"
    );
    let o = run(&["join", "-t", "-5", "true"]);
    assert_eq!(
        err(&o),
        "nsinit-join: --target: expected a process ID (a positive integer), got \"-5\"\n"
    );
}

#[test]
fn unknown_applets_exit_127() {
    let s = Scratch::new("applet");
    let link = s.0.join("nsinit-nope");
    symlink(bin(), &link).unwrap();
    let o = Command::new(&link).stdin(Stdio::null()).output().unwrap();
    assert_eq!(code(&o), Some(127));
    assert!(
        err(&o).starts_with("nsinit-nope: unknown applet"),
        "{}",
        err(&o)
    );
}

#[test]
fn help_lists_the_exit_codes() {
    for applet in ["join", "init"] {
        let o = run(&[applet, "--help"]);
        assert_eq!(code(&o), Some(0));
        let text = common::out(&o);
        for line in [
            "exit codes:",
            "  128+N     the command was killed by signal N",
            "  2         usage error (bad option or argument)",
            "  125       nsinit itself failed (config, state, namespaces, cgroups...)",
            "  126       the command was found but could not be executed",
            "  127       the command (or applet) was not found",
        ] {
            assert!(
                text.contains(line),
                "{applet} --help lacks {line:?}:\n{text}"
            );
        }
    }
    // The nsenter form prints the same help.
    let o = run(&["join", "-t", "1", "--help"]);
    assert!(common::out(&o).contains("exit codes:"));
}
