//! The compiler checked by running its programs in a classic-BPF interpreter
//! against a direct reading of the profile's meaning.

use serde_json::{Value, json};

use super::arch::names_text;

fn names() -> Vec<String> {
    names_text().split(' ').map(String::from).collect()
}
use super::arch::{Arch, X32_BIT};
use super::*;

const X86_64: u32 = 0xc000_003e;
const I386: u32 = 0x4000_0003;
const AARCH64: u32 = 0xc000_00b7;

/// Run `prog` on a `seccomp_data` the way the kernel does; panics on
/// anything the kernel's checker would refuse (bad jumps, falling off the end).
fn run(prog: &[SockFilter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    steps(prog, arch, nr, args).0
}

/// [`run`], also counting the instructions executed.
fn steps(prog: &[SockFilter], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
    let mut data = Vec::with_capacity(64);
    data.extend(nr.to_le_bytes());
    data.extend(arch.to_le_bytes());
    data.extend(0u64.to_le_bytes());
    for a in args {
        data.extend(a.to_le_bytes());
    }
    let (mut a, mut pc, mut n) = (0u32, 0usize, 0);
    loop {
        let i = prog[pc];
        n += 1;
        let jump = |off: u32| {
            let t = pc + 1 + off as usize;
            assert!(t < prog.len(), "jump out of the program at {pc}");
            t
        };
        pc = match i.code {
            0x20 => {
                let k = i.k as usize;
                assert!(
                    k.is_multiple_of(4) && k + 4 <= data.len(),
                    "bad load at {pc}"
                );
                a = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                pc + 1
            }
            0x54 => {
                a &= i.k;
                pc + 1
            }
            0x06 => return (i.k, n),
            0x05 => jump(i.k),
            0x15 | 0x25 | 0x35 => {
                let taken = match i.code {
                    0x15 => a == i.k,
                    0x25 => a > i.k,
                    _ => a >= i.k,
                };
                jump(u32::from(if taken { i.jt } else { i.jf }))
            }
            c => panic!("unexpected opcode {c:#x} at {pc}"),
        };
    }
}

/// What the profile means, read directly: first matching rule, else default.
struct Meaning<'p> {
    p: &'p Profile<'p>,
    /// Per rule, per architecture, the numbers of its names.
    numbers: Vec<[Vec<u32>; 3]>,
}

const ABIS: [Arch; 3] = [Arch::X86_64, Arch::X86, Arch::X32];

impl<'p> Meaning<'p> {
    fn new(p: &'p Profile<'p>) -> Self {
        let tables = ABIS.map(|a| a.numbers());
        let all = names();
        let index = |n: &str| all.iter().position(|x| x == n);
        let numbers = p
            .rules
            .iter()
            .map(|r| {
                std::array::from_fn(|a| {
                    r.names
                        .iter()
                        .filter_map(|n| index(n).and_then(|i| tables[a][i]))
                        .collect()
                })
            })
            .collect();
        Meaning { p, numbers }
    }

    fn eval(&self, audit: u32, nr: u32, args: [u64; 6]) -> u32 {
        let p = self.p;
        let arch = match audit {
            X86_64 if nr >= X32_BIT && nr != u32::MAX => Arch::X32,
            X86_64 => Arch::X86_64,
            I386 => Arch::X86,
            _ => return ret::KILL_PROCESS,
        };
        if !p.architectures.contains(&arch) {
            return ret::KILL_PROCESS;
        }
        let a = ABIS.iter().position(|x| *x == arch).unwrap();
        let holds = |c: &Cond| {
            let (a, v, w) = if arch.narrow() {
                let a = args[c.index as usize] as u32 as u64;
                (a, c.value as u32 as u64, c.value_two as u32 as u64)
            } else {
                (args[c.index as usize], c.value, c.value_two)
            };
            match c.op {
                Op::Eq => a == v,
                Op::Ne => a != v,
                Op::Lt => a < v,
                Op::Le => a <= v,
                Op::Gt => a > v,
                Op::Ge => a >= v,
                Op::MaskedEq => a & v == w,
            }
        };
        p.rules
            .iter()
            .zip(&self.numbers)
            .find(|(r, n)| n[a].contains(&nr) && r.args.iter().all(holds))
            .map_or(p.default_action, |(r, _)| r.action)
    }
}

fn reference(p: &Profile, audit: u32, nr: u32, args: [u64; 6]) -> u32 {
    Meaning::new(p).eval(audit, nr, args)
}

fn default_profile() -> Profile<'static> {
    let text = include_str!("../../sample_configs/seccomp-default.json");
    let v: &'static Value = Box::leak(serde_json::from_str(text).unwrap());
    parse_profile(&v["seccomp"], "seccomp").unwrap()
}

const BOUNDARIES: [u64; 12] = [
    0,
    1,
    40,
    0x7fff_ffff,
    0xffff_fffe,
    0xffff_ffff,
    1 << 32,
    (1 << 32) + 1,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
    -40i64 as u64,
];

#[test]
fn default_profile_is_exhaustively_right_on_x86() {
    let p = default_profile();
    let mut times = Vec::new();
    let mut prog = None;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        prog = Some(compile(&p, Arch::X86_64).unwrap());
        times.push(t.elapsed());
    }
    let prog = prog.unwrap();
    let parse = std::time::Instant::now();
    let _ = default_profile();
    println!(
        "default profile: {} instructions, compiled in {:?} (first), {:?} (best of 5); \
         parsing the whole sample took {:?}",
        prog.insns.len(),
        times[0],
        times.iter().min().unwrap(),
        parse.elapsed()
    );
    let meaning = Meaning::new(&p);
    let mut checked = 0;
    for (audit, bits) in [(X86_64, 0), (X86_64, X32_BIT), (I386, 0)] {
        for nr in (0..1024).map(|n| n | bits).chain([u32::MAX, 0x7fff_ffff]) {
            for a0 in BOUNDARIES {
                let args = [a0, 1, 2, 3, 4, 5];
                let want = meaning.eval(audit, nr, args);
                assert_eq!(
                    run(&prog.insns, audit, nr, args),
                    want,
                    "{audit:#x} {nr} {a0:#x}"
                );
                checked += 1;
            }
        }
    }
    // A foreign architecture is killed; allowed calls work, denied ones fail.
    assert_eq!(run(&prog.insns, AARCH64, 63, [0; 6]), ret::KILL_PROCESS);
    let num = |a: Arch, n| a.number(n).unwrap();
    let on = |audit, nr, a0| run(&prog.insns, audit, nr, [a0, 0, 0, 0, 0, 0]);
    assert_eq!(on(X86_64, num(Arch::X86_64, "getppid"), 0), ret::ALLOW);
    assert_eq!(on(X86_64, num(Arch::X86_64, "unshare"), 0), ret::ERRNO | 1);
    assert_eq!(on(X86_64, num(Arch::X86_64, "clone3"), 0), ret::ERRNO | 38);
    assert_eq!(on(X86_64, num(Arch::X86_64, "clone"), 0x11), ret::ALLOW);
    assert_eq!(
        on(X86_64, num(Arch::X86_64, "clone"), 0x1000_0000),
        ret::ERRNO | 1
    );
    assert_eq!(on(X86_64, num(Arch::X86_64, "socket"), 40), ret::ERRNO | 1);
    assert_eq!(
        on(X86_64, num(Arch::X86_64, "socket"), 1 << 32 | 40),
        ret::ALLOW
    );
    // i386 compares the low word only: the kernel truncates what it acts on.
    assert_eq!(on(I386, num(Arch::X86, "socketcall"), 0), ret::ALLOW);
    assert_eq!(
        on(I386, num(Arch::X86, "personality"), 0xffff_ffff),
        ret::ALLOW
    );
    assert_eq!(
        on(I386, num(Arch::X86, "personality"), u64::MAX),
        ret::ALLOW
    );
    assert_eq!(
        on(X86_64, num(Arch::X86_64, "personality"), u64::MAX),
        ret::ERRNO | 1
    );
    // x32: its own numbers, never x86_64's rules.
    assert_eq!(on(X86_64, num(Arch::X32, "rt_sigaction"), 0), ret::ALLOW);
    assert_eq!(on(X86_64, X32_BIT | 13, 0), ret::ERRNO | 1);
    assert_eq!(on(X86_64, num(Arch::X32, "unshare"), 0), ret::ERRNO | 1);
    assert!(checked > 30_000);
    // O(log n): every call without argument checks is decided in a few
    // jumps (a linear scan of ~350 allowed calls would take hundreds).
    let mut worst = 0;
    let mut total = 0;
    for nr in 0..470 {
        let (_, n) = steps(&prog.insns, X86_64, nr, [0; 6]);
        if ![56, 135, 41].contains(&nr) {
            worst = worst.max(n);
        }
        total += n;
    }
    let (_, getppid) = steps(&prog.insns, X86_64, 110, [0; 6]);
    println!(
        "x86_64 path length: getppid {getppid}, worst {worst}, mean {:.1} instructions",
        total as f64 / 470.0
    );
    assert!(worst <= 14, "{worst}");
}

#[test]
fn default_profile_on_aarch64() {
    let p = default_profile();
    let prog = compile(&p, Arch::Aarch64).unwrap();
    let on = |audit, nr| run(&prog.insns, audit, nr, [0; 6]);
    assert_eq!(on(AARCH64, 63), ret::ALLOW); // read
    assert_eq!(on(AARCH64, 97), ret::ERRNO | 1); // unshare
    assert_eq!(on(AARCH64, 435), ret::ERRNO | 38); // clone3
    assert_eq!(on(AARCH64, 9999), ret::ERRNO | 1);
    // arm (listed, no table): the default action; x86 is foreign here.
    assert_eq!(on(0x4000_0028, 3), ret::ERRNO | 1);
    assert_eq!(on(X86_64, 0), ret::KILL_PROCESS);
}

#[test]
fn tables_match_the_kernel() {
    use linux_raw_sys::general as g;
    for (name, nr) in [
        ("read", g::__NR_read),
        ("rt_sigaction", g::__NR_rt_sigaction),
        ("uretprobe", 335),
        ("pidfd_send_signal", g::__NR_pidfd_send_signal),
        ("clone3", g::__NR_clone3),
        ("file_setattr", 469),
        ("unshare", g::__NR_unshare),
    ] {
        assert_eq!(Arch::X86_64.number(name), Some(nr), "{name}");
    }
    let x86 = [
        ("read", 3),
        ("waitpid", 7),
        ("socketcall", 102),
        ("clone3", 435),
    ];
    for (name, nr) in x86 {
        assert_eq!(Arch::X86.number(name), Some(nr), "{name}");
    }
    assert_eq!(Arch::X86.number("arch_prctl"), Some(384));
    assert_eq!(Arch::X86_64.number("waitpid"), None);
    assert_eq!(Arch::X32.number("read"), Some(X32_BIT));
    assert_eq!(Arch::X32.number("rt_sigaction"), Some(X32_BIT | 512));
    assert_eq!(Arch::X32.number("pwritev2"), Some(X32_BIT | 547));
    assert_eq!(Arch::X32.number("uselib"), None);
    assert_eq!(Arch::X32.number("clone3"), Some(X32_BIT | 435));
    assert_eq!(Arch::Aarch64.number("openat"), Some(56));
    assert_eq!(Arch::Aarch64.number("clone"), Some(220));
    assert_eq!(Arch::Aarch64.number("open"), None);
    assert_eq!(Arch::X86_64.number("no_such_call"), None);
    let all = names();
    assert_eq!(all.len(), 469);
    assert_eq!(all[0], "read");
    assert_eq!(all[468], "waitpid");
    // Every name is what linux-raw-sys spells: letters, digits, '_'.
    assert!(
        all.iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    );
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 469);
}

fn profile<'a>(rules: Vec<Rule<'a>>, default_action: u32, arches: &[Arch]) -> Profile<'a> {
    Profile {
        default_action,
        architectures: [Arch::X86_64].iter().chain(arches).copied().collect(),
        flags: 0,
        rules,
        listener: None,
    }
}

#[test]
fn argument_comparisons_at_boundaries() {
    let ops = [Op::Ne, Op::Lt, Op::Le, Op::Eq, Op::Ge, Op::Gt, Op::MaskedEq];
    for op in ops {
        for value in BOUNDARIES {
            for index in [0u8, 5] {
                let rule = Rule {
                    names: vec!["getppid"],
                    action: ret::ERRNO | 5,
                    args: vec![Cond {
                        index,
                        op,
                        value,
                        value_two: value & 0xffff_0000_ffff_0001,
                    }],
                };
                let arches = [Arch::X86_64, Arch::X86, Arch::X32];
                let p = profile(vec![rule], ret::ALLOW, &arches);
                let prog = compile(&p, Arch::X86_64).unwrap();
                for audit_nr in [(X86_64, 110), (I386, 64), (X86_64, 110 | X32_BIT)] {
                    for arg in BOUNDARIES {
                        let mut args = [7; 6];
                        args[index as usize] = arg;
                        let (audit, nr) = audit_nr;
                        assert_eq!(
                            run(&prog.insns, audit, nr, args),
                            reference(&p, audit, nr, args),
                            "{op:?} {value:#x} arg{index}={arg:#x} on {audit:#x}/{nr:#x}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn conditions_and_within_a_rule_or_across_rules() {
    let cond = |index, op, value| Cond {
        index,
        op,
        value,
        value_two: 0,
    };
    let rules = vec![
        Rule {
            names: vec!["kill"],
            action: ret::ERRNO | 1,
            args: vec![cond(0, Op::Gt, 100), cond(1, Op::Eq, 9)],
        },
        Rule {
            names: vec!["kill", "tkill"],
            action: ret::TRAP,
            args: vec![cond(1, Op::Eq, 15)],
        },
        Rule {
            names: vec!["kill"],
            action: ret::LOG,
            args: vec![],
        },
    ];
    let p = profile(rules, ret::ALLOW, &[]);
    let prog = compile(&p, Arch::X86_64).unwrap();
    let kill = |a0, a1| run(&prog.insns, X86_64, 62, [a0, a1, 0, 0, 0, 0]);
    assert_eq!(kill(101, 9), ret::ERRNO | 1);
    assert_eq!(kill(100, 9), ret::LOG);
    assert_eq!(kill(101, 15), ret::TRAP);
    assert_eq!(kill(1, 2), ret::LOG);
    let tkill = |a1| run(&prog.insns, X86_64, 200, [0, a1, 0, 0, 0, 0]);
    assert_eq!(tkill(15), ret::TRAP);
    assert_eq!(tkill(9), ret::ALLOW);
    // Not listed: i386 and x32 are killed.
    assert_eq!(run(&prog.insns, I386, 37, [0; 6]), ret::KILL_PROCESS);
    assert_eq!(
        run(&prog.insns, X86_64, 62 | X32_BIT, [0; 6]),
        ret::KILL_PROCESS
    );
    assert_eq!(run(&prog.insns, X86_64, u32::MAX, [0; 6]), ret::ALLOW);
}

#[test]
fn long_programs_jump_far() {
    // Every x86_64 call with two conditions of its own, alternating actions:
    // thousands of instructions, most jumps longer than 255.
    let all = names();
    let names: Vec<&str> = all.iter().take(150).map(String::as_str).collect();
    let rules: Vec<Rule> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Rule {
            names: vec![*n],
            action: if i % 2 == 0 {
                ret::ALLOW
            } else {
                ret::TRACE | 3
            },
            args: vec![
                Cond {
                    index: (i % 6) as u8,
                    op: Op::Ge,
                    value: i as u64,
                    value_two: 0,
                },
                Cond {
                    index: ((i + 1) % 6) as u8,
                    op: Op::Ne,
                    value: 1 << 40,
                    value_two: 0,
                },
            ],
        })
        .collect();
    let p = profile(rules, ret::ERRNO | 38, &[Arch::X86]);
    let prog = compile(&p, Arch::X86_64).unwrap();
    assert!(prog.insns.len() > 1500, "{}", prog.insns.len());
    let meaning = Meaning::new(&p);
    for audit in [X86_64, I386] {
        for nr in 0..400 {
            for (a, b) in [(0, 0), (1000, 0), (1000, 1 << 40), (u64::MAX, 5)] {
                let mut args = [a; 6];
                args[(nr as usize + 1) % 6] = b;
                let want = meaning.eval(audit, nr, args);
                assert_eq!(run(&prog.insns, audit, nr, args), want, "{audit:#x} {nr}");
            }
        }
    }
    let huge: Vec<Rule> = (0..2000)
        .map(|i| Rule {
            names: vec!["read"],
            action: ret::ALLOW,
            args: vec![Cond {
                index: 0,
                op: Op::Eq,
                value: i,
                value_two: 0,
            }],
        })
        .collect();
    let e = compile(&profile(huge, ret::ALLOW, &[]), Arch::X86_64).unwrap_err();
    assert!(e.to_string().contains("more than the kernel's 4096"), "{e}");
}

#[test]
fn contiguous_calls_merge_into_few_ranges() {
    let all = names();
    let rule = Rule {
        names: all.iter().take(300).map(String::as_str).collect(),
        action: ret::ALLOW,
        args: vec![],
    };
    let p = profile(vec![rule], ret::ERRNO | 1, &[]);
    let prog = compile(&p, Arch::X86_64).unwrap();
    // arch check, x32 split, one jge, two returns: no per-call code.
    assert!(prog.insns.len() < 12, "{:?}", prog.insns);
}

fn errors(v: Value) -> Vec<String> {
    parse_profile(&v, "linux.seccomp").unwrap_err()
}

#[test]
fn bad_profiles_name_the_rule() {
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["read"], "action": "SCMP_ACT_FOO"}]}),
            "linux.seccomp.syscalls[1].action: expected SCMP_ACT_ALLOW, _ERRNO, _KILL, _KILL_PROCESS, _KILL_THREAD, _TRAP, _TRACE, _LOG or _NOTIFY, got \"SCMP_ACT_FOO\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]}),
            "linux.seccomp.syscalls[0].args[0].op: expected SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT or _MASKED_EQ, got \"SCMP_CMP_XX\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index: expected an argument index from 0 to 5, got 6",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names: expected a list of syscall names, got an array",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names[1]: expected a syscall name, got \"\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]}),
            "linux.seccomp.architectures[1]: expected an architecture like SCMP_ARCH_X86_64, got \"SCMP_ARCH_VAX\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 5}),
            "linux.seccomp.defaultErrnoRet: expected none: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errnoRet, got 5",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath: expected an absolute socket path (SCMP_ACT_NOTIFY rules need a listener), got null",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "l.sock", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath: expected an absolute socket path (SCMP_ACT_NOTIFY rules need a listener), got \"l.sock\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/l.sock"}),
            "linux.seccomp.defaultAction: expected an action other than SCMP_ACT_NOTIFY, got \"SCMP_ACT_NOTIFY\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock", "syscalls": [{"names": ["write", "sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[0].action: expected an action other than SCMP_ACT_NOTIFY for sendmsg, got \"SCMP_ACT_NOTIFY\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock", "listenerMetadata": 3, "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerMetadata: expected a string, got 3",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]}),
            "linux.seccomp.flags[0]: expected SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW or _WAIT_KILLABLE_RECV, got \"SECCOMP_FILTER_FLAG_NOPE\"",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
            "linux.seccomp.flags: expected no SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without SCMP_ACT_NOTIFY rules, got an array",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
            "linux.seccomp.defaultErrnoRet: expected an errno from 0 to 4095, got 70000",
        ),
        (
            json!({}),
            "linux.seccomp.defaultAction: expected SCMP_ACT_ALLOW",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].value: expected an integer from 0 to 2^64-1, got -1",
        ),
    ];
    for (v, want) in cases {
        let errs = errors(v);
        assert!(
            errs.iter().any(|e| e.starts_with(want)),
            "{errs:?} lacks {want}"
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
    }
}

#[test]
fn good_profile_reads_every_field() {
    let v = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_MIPS", "SCMP_ARCH_X86_64"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "listenerPath": "",
        "syscalls": [
            {"names": ["read", "no_such_call"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["write"], "action": "SCMP_ACT_KILL_PROCESS", "args": [
                {"index": 2, "value": 255, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["exit"], "action": "SCMP_ACT_KILL"},
            {"names": ["close"], "action": "SCMP_ACT_ERRNO"}
        ]
    });
    let p = parse_profile(&v, "seccomp").unwrap();
    assert_eq!(p.default_action, ret::ERRNO | 38);
    assert_eq!(p.architectures, [Arch::X86_64, Arch::X86]);
    assert_eq!(p.flags, 1 | 2 | 4);
    assert_eq!(p.rules[0].action, ret::TRACE | 7);
    assert_eq!(p.rules[1].action, ret::KILL_PROCESS);
    assert_eq!(p.rules[1].args[0].value_two, 3);
    assert_eq!(p.rules[2].action, ret::KILL_THREAD);
    assert_eq!(p.rules[3].action, ret::ERRNO | 1);
    let prog = compile(&p, Arch::X86_64).unwrap();
    assert_eq!(prog.flags, 7);
    assert_eq!(run(&prog.insns, X86_64, 0, [0; 6]), ret::TRACE | 7);
    assert_eq!(
        run(&prog.insns, X86_64, 1, [0, 0, 0x103, 0, 0, 0]),
        ret::KILL_PROCESS
    );
    assert_eq!(
        run(&prog.insns, X86_64, 1, [0, 0, 0x104, 0, 0, 0]),
        ret::ERRNO | 38
    );
}

#[test]
fn notify_profiles_keep_their_listener() {
    let v = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock",
        "listenerMetadata": "m", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    let p = parse_profile(&v, "linux.seccomp").unwrap();
    let prog = compile(&p, Arch::X86_64).unwrap();
    let l = prog.listener.as_ref().unwrap();
    assert_eq!((l.path.as_str(), l.metadata.as_str()), ("/run/l.sock", "m"));
    assert_eq!(prog.flags, 32);
    let mkdir = Arch::X86_64.number("mkdir").unwrap();
    assert_eq!(
        run(&prog.insns, Arch::X86_64.audit(), mkdir, [0; 6]),
        ret::USER_NOTIF
    );
    // Without NOTIFY rules a listenerPath is not needed, and not kept.
    let v = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock"});
    assert_eq!(parse_profile(&v, "linux.seccomp").unwrap().listener, None);
}

/// The compile time of the default profile (the target: ≤ 100 µs in
/// release): `cargo test --release --lib compile_time -- --ignored --nocapture`.
#[test]
#[ignore = "a timing, meaningful in release only"]
fn compile_time_of_the_default_profile() {
    let p = default_profile();
    let mut best = std::time::Duration::MAX;
    let all = std::time::Instant::now();
    for _ in 0..2000 {
        let t = std::time::Instant::now();
        std::hint::black_box(compile(std::hint::black_box(&p), Arch::X86_64).unwrap());
        best = best.min(t.elapsed());
    }
    println!("compile: best {:?}, mean {:?}", best, all.elapsed() / 2000);
}

#[test]
fn every_name_is_found_through_the_hash_table() {
    for (i, n) in names().iter().enumerate() {
        assert_eq!(super::arch::index(n), Some(i), "{n}");
    }
    for n in ["", "read2", "rea", "readx", "nosuchcall", "mkdir\0"] {
        assert_eq!(super::arch::index(n), None, "{n:?}");
    }
}

#[test]
fn each_number_is_the_tables_read_the_other_way() {
    for arch in [Arch::X86_64, Arch::X86, Arch::X32, Arch::Aarch64, Arch::Arm] {
        let base = if arch == Arch::X32 { X32_BIT } else { 0 };
        let mut want: Vec<(u32, usize)> = arch
            .numbers()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (n - base, i)))
            .collect();
        want.sort();
        let mut got = Vec::new();
        arch.each_number(|nr, i| got.push((nr, i)));
        // In increasing order, as the ranges need.
        assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "{arch:?}");
        assert_eq!(got, want, "{arch:?}");
        assert_eq!(got.is_empty(), arch == Arch::Arm, "{arch:?}");
    }
}
