//! Profile → classic BPF.
//!
//! The program's shape:
//! ```text
//!   ld arch; jeq X86_64 → B0; jeq I386 → B1; ...; ret KILL_PROCESS (unlisted arch)
//!   B0: ld nr; jge X32_BIT → (nr == -1 ? tree : x32 tree or KILL_PROCESS); tree
//!   tree: a balanced binary search (jge) over ranges of numbers with the same
//!         outcome: a return, or the chain of argument checks of those calls
//!   chain: rule 1's conditions (ANDed) → its action; else rule 2 ...; else default
//! ```
//! Contiguous numbers with the same outcome are one range, so a 350-call
//! allow-list is ~70 ranges and any call costs about log2(70) ≈ 6 jumps.
//!
//! Code is emitted back to front, so every jump target already exists and its
//! distance is known: a conditional jump (8-bit offsets) to a target more than
//! 255 instructions ahead goes through a `ja` (32-bit offset) placed right
//! after it.

use super::arch::{self, Arch, X32_BIT};
use super::tables::COUNT;
use super::{Cond, Op, Profile, Program, ret};
use crate::error::{Error, Result};
use crate::sys::raw::SockFilter;

const LD_W_ABS: u16 = 0x20;
const AND_K: u16 = 0x54;
const JA: u16 = 0x05;
const JEQ: u16 = 0x15;
const JGT: u16 = 0x25;
const JGE: u16 = 0x35;
const RET_K: u16 = 0x06;
/// `offsetof(struct seccomp_data, …)`; args are little-endian u64s.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARGS: u32 = 16;
/// `BPF_MAXINSNS`.
const MAX_INSNS: usize = 4096;

/// Where a syscall number leads: a plain return (`SECCOMP_RET_*` with its
/// data, below 2^32), or the chain of argument checks `c` (an index into
/// `Emitter::chains`) as 2^32 + c. One integer: compared often, cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Target(u64);

impl Target {
    fn ret(k: u32) -> Target {
        Target(u64::from(k))
    }

    fn chain(c: usize) -> Target {
        Target((1 << 32) + c as u64)
    }

    /// The chain, or `None` for a return.
    fn as_chain(self) -> Option<usize> {
        self.0.checked_sub(1 << 32).map(|c| c as usize)
    }
}

/// A name's outcome while the rules are read: not decided yet.
const OPEN: Target = Target(u64::MAX);

/// A program under construction, in reverse: index `i` is the `i`-th
/// instruction from the end, a label is such an index.
struct Emitter<'p> {
    rev: Vec<SockFilter>,
    /// The newest code emitted for each target (the nearest one: code is
    /// emitted back to front).
    labels: Vec<(Target, usize)>,
    /// Distinct chains: rules (indexes into the profile, in order) whose
    /// conditions are tried, then the fallback action.
    chains: Vec<(Vec<usize>, u32)>,
    profile: &'p Profile<'p>,
    /// The outcome of each name of the tables (by index), the same on
    /// every architecture.
    targets: [Target; COUNT],
    /// Scratch space of [`Emitter::ranges`], reused across architectures.
    scratch: Vec<(u32, Target)>,
}

impl Emitter<'_> {
    fn push(&mut self, code: u16, k: u32, jt: u8, jf: u8) -> usize {
        self.rev.push(SockFilter { code, jt, jf, k });
        self.rev.len() - 1
    }

    /// `ret k`, shared with an earlier identical one while it is near.
    fn ret(&mut self, k: u32) -> usize {
        self.near(Target::ret(k)).unwrap_or_else(|| {
            let l = self.push(RET_K, k, 0, 0);
            self.label(Target::ret(k), l);
            l
        })
    }

    /// Code for `t` close enough to reach without a trampoline.
    fn near(&self, t: Target) -> Option<usize> {
        let n = self.rev.len();
        let found = self.labels.iter().find(|(x, l)| *x == t && n - l < 200);
        found.map(|(_, l)| *l)
    }

    fn label(&mut self, t: Target, l: usize) {
        match self.labels.iter_mut().find(|(x, _)| *x == t) {
            Some(slot) => slot.1 = l,
            None => self.labels.push((t, l)),
        }
    }

    /// `if (A op k) goto jt else goto jf`, with trampolines for far targets.
    fn jump(&mut self, op: u16, k: u32, jt: usize, jf: usize) -> usize {
        if jt == jf {
            return jt;
        }
        // At most two trampolines go in between: measure from there.
        let far = |e: &Self, t: usize| e.rev.len() + 2 - t - 1 > 255;
        let jf = if far(self, jf) { self.ja(jf) } else { jf };
        let jt = if far(self, jt) { self.ja(jt) } else { jt };
        let n = self.rev.len();
        self.push(op, k, (n - jt - 1) as u8, (n - jf - 1) as u8)
    }

    fn ja(&mut self, t: usize) -> usize {
        let n = self.rev.len();
        self.push(JA, (n - t - 1) as u32, 0, 0)
    }

    /// Make `l` the next instruction (in program order) of what comes next.
    fn goto(&mut self, l: usize) {
        if l + 1 != self.rev.len() {
            self.ja(l);
        }
    }

    fn load(&mut self, off: u32) -> usize {
        self.push(LD_W_ABS, off, 0, 0)
    }

    /// The block for one architecture, starting with the load of `nr`.
    fn arch_block(&mut self, arch: Arch) -> usize {
        // Chains compare 32 or 64 bits: never shared across architectures.
        self.labels.retain(|(t, _)| t.as_chain().is_none());
        let mut ranges = std::mem::take(&mut self.scratch);
        self.ranges(arch, &mut ranges);
        let tree = self.tree(&ranges, arch);
        // x32 calls (bit 30) must not reach x86_64's tree; -1 (a tracer's
        // "skip") is not x32 and gets the tree's default, as in libseccomp.
        let x32 =
            (arch == Arch::X86_64 && self.profile.architectures.contains(&Arch::X32)).then(|| {
                self.ranges(Arch::X32, &mut ranges);
                self.tree(&ranges, Arch::X32)
            });
        self.scratch = ranges;
        if arch != Arch::X86_64 {
            self.goto(tree);
            return self.load(NR);
        }
        let x32 = x32.unwrap_or_else(|| self.ret(ret::KILL_PROCESS));
        let minus_one = self.jump(JEQ, u32::MAX, tree, x32);
        let split = self.jump(JGE, X32_BIT, minus_one, tree);
        self.goto(split);
        self.load(NR)
    }

    /// A balanced binary search over `ranges` (sorted starts, the first 0).
    fn tree(&mut self, ranges: &[(u32, Target)], arch: Arch) -> usize {
        if let [(_, t)] = ranges {
            return self.target(*t, arch);
        }
        let mid = ranges.len() / 2;
        let right = self.tree(&ranges[mid..], arch);
        let left = self.tree(&ranges[..mid], arch);
        self.jump(JGE, ranges[mid].0, right, left)
    }

    fn target(&mut self, t: Target, arch: Arch) -> usize {
        let Some(c) = t.as_chain() else {
            return self.ret(t.0 as u32);
        };
        if let Some(l) = self.near(t) {
            return l;
        }
        let mut fail = self.ret(self.chains[c].1);
        for k in (0..self.chains[c].0.len()).rev() {
            let rule = &self.profile.rules[self.chains[c].0[k]];
            let mut next = self.ret(rule.action);
            for c in rule.args.iter().rev() {
                next = self.cond(c, next, fail, arch.narrow());
            }
            fail = next;
        }
        self.label(t, fail);
        fail
    }

    /// One comparison: each 64-bit argument is two 32-bit words, the high
    /// word decides unless equal. A 32-bit ABI compares the low word only.
    fn cond(&mut self, c: &Cond, pass: usize, fail: usize, narrow: bool) -> usize {
        let lo = ARGS + 8 * u32::from(c.index);
        let (v, w) = (c.value, c.value_two);
        let (hi_v, lo_v) = ((v >> 32) as u32, v as u32);
        // (op on the low word, pass, fail); the high word's verdict below.
        let (op, k, t, f) = match c.op {
            Op::Eq => (JEQ, lo_v, pass, fail),
            Op::Ne => (JEQ, lo_v, fail, pass),
            Op::Gt => (JGT, lo_v, pass, fail),
            Op::Ge => (JGE, lo_v, pass, fail),
            Op::Lt => (JGE, lo_v, fail, pass),
            Op::Le => (JGT, lo_v, fail, pass),
            Op::MaskedEq => (JEQ, w as u32, pass, fail),
        };
        let check = self.jump(op, k, t, f);
        self.goto(check);
        if c.op == Op::MaskedEq {
            self.push(AND_K, lo_v, 0, 0);
        }
        let low_word = self.load(lo);
        if narrow {
            return low_word;
        }
        let check = match c.op {
            Op::Eq => self.jump(JEQ, hi_v, low_word, fail),
            Op::Ne => self.jump(JEQ, hi_v, low_word, pass),
            Op::Gt | Op::Ge => {
                let eq = self.jump(JEQ, hi_v, low_word, fail);
                self.jump(JGT, hi_v, pass, eq)
            }
            Op::Lt | Op::Le => {
                let eq = self.jump(JEQ, hi_v, low_word, pass);
                self.jump(JGT, hi_v, fail, eq)
            }
            Op::MaskedEq => {
                let check = self.jump(JEQ, (w >> 32) as u32, low_word, fail);
                self.goto(check);
                self.push(AND_K, hi_v, 0, 0)
            }
        };
        self.goto(check);
        self.load(lo + 4)
    }
}

/// Compile `p` for a kernel running `native` (x86_64 or aarch64) code;
/// names the tables lack are skipped and named in a debug line.
pub fn compile(p: &Profile<'_>, native: Arch) -> Result<Program> {
    let mut unknown = Vec::new();
    let prog = compile_noting(p, native, &mut unknown);
    log_unknown(&unknown);
    prog
}

/// The debug line naming the calls a profile lists that nsinit does not know.
pub fn log_unknown(names: &[&str]) {
    if !names.is_empty() {
        crate::log::debug(&Unknown(names));
    }
}

/// [`compile`], collecting the unknown names into `unknown` instead of
/// logging them (so that a timing leaves out the debug line's write).
pub fn compile_noting<'p>(
    p: &Profile<'p>,
    native: Arch,
    unknown: &mut Vec<&'p str>,
) -> Result<Program> {
    let mut e = Emitter {
        rev: Vec::with_capacity(512),
        labels: Vec::with_capacity(32),
        chains: Vec::new(),
        profile: p,
        targets: [OPEN; COUNT],
        scratch: Vec::with_capacity(128),
    };
    // Each name's outcome, read in rule order: its first rule without
    // conditions decides (it always matches); rules with conditions before
    // that one make a chain, tried first.
    let mut checked = Vec::new();
    for (r, rule) in p.rules.iter().enumerate() {
        for n in &rule.names {
            let Some(i) = arch::index(n) else {
                unknown.push(n);
                continue;
            };
            if e.targets[i] != OPEN {
                continue; // decided by an earlier rule
            }
            if rule.args.is_empty() {
                e.targets[i] = Target::ret(rule.action);
            } else {
                checked.push((i, r));
            }
        }
    }
    for k in 0..checked.len() {
        let i = checked[k].0;
        if e.targets[i] != OPEN && e.targets[i].as_chain().is_some() {
            continue; // done
        }
        let rules = checked[k..].iter().filter(|c| c.0 == i).map(|c| c.1);
        let rules = rules.collect();
        let fallback = match e.targets[i] {
            OPEN => p.default_action,
            t => t.0 as u32,
        };
        e.targets[i] = e.chain(rules, fallback);
    }
    for t in &mut e.targets {
        if *t == OPEN {
            *t = Target::ret(p.default_action);
        }
    }
    let family: &[Arch] = match native {
        Arch::X86_64 => &[Arch::X86_64, Arch::X86],
        _ => &[Arch::Aarch64, Arch::Arm],
    };
    let mut next = e.ret(ret::KILL_PROCESS);
    for &arch in family.iter().rev() {
        if arch != native && !p.architectures.contains(&arch) {
            continue;
        }
        let block = if arch == Arch::Arm {
            // Listed, but nsinit has no table: the default action, as runc.
            e.ret(p.default_action)
        } else {
            e.arch_block(arch)
        };
        next = e.jump(JEQ, arch.audit(), block, next);
    }
    e.goto(next);
    e.load(ARCH);
    if e.rev.len() > MAX_INSNS {
        return Err(Error::new(format!(
            "the filter has {} instructions, more than the kernel's {MAX_INSNS}",
            e.rev.len()
        )));
    }
    e.rev.reverse();
    Ok(Program {
        insns: e.rev,
        flags: p.flags,
        listener: p.listener.clone(),
    })
}

/// The names of [`log_unknown`]'s line.
struct Unknown<'a>(&'a [&'a str]);

impl std::fmt::Display for Unknown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("seccomp: unknown syscalls skipped:")?;
        self.0.iter().try_for_each(|n| write!(f, " {n}"))
    }
}

impl Emitter<'_> {
    /// The outcome of every number on `arch`, as ranges `(first number,
    /// target)` sorted by first number, starting at 0, neighbours different.
    fn ranges(&self, arch: Arch, out: &mut Vec<(u32, Target)>) {
        let base = if arch == Arch::X32 { X32_BIT } else { 0 };
        let default = Target::ret(self.profile.default_action);
        out.clear();
        out.push((0, default));
        // The first number not covered yet: a gap before `nr` (a number
        // this ABI lacks) gets the default.
        let mut next = 0;
        arch.each_number(|nr, i| {
            if nr != next {
                push_range(out, base + next, default);
            }
            push_range(out, base + nr, self.targets[i]);
            next = nr + 1;
        });
        push_range(out, base + next, default);
    }

    /// The chain of `rules` (with conditions, tried in this order), then
    /// `fallback`: one per distinct pair.
    fn chain(&mut self, rules: Vec<usize>, fallback: u32) -> Target {
        let chain = (rules, fallback);
        let i = match self.chains.iter().position(|c| *c == chain) {
            Some(i) => i,
            None => {
                self.chains.push(chain);
                self.chains.len() - 1
            }
        };
        Target::chain(i)
    }
}

fn push_range(out: &mut Vec<(u32, Target)>, start: u32, t: Target) {
    match out.last_mut() {
        Some(last) if last.1 == t => {}
        // Only the first range, at 0.
        Some(last) if last.0 == start => last.1 = t,
        _ => out.push((start, t)),
    }
}
