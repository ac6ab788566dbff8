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

use super::arch::{Arch, Names, X32_BIT};
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

/// Where a syscall number leads: a plain return, or a chain of argument
/// checks (an index into `Emitter::chains`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Ret(u32),
    Chain(usize),
}

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
    profile: &'p Profile,
    /// (rule, table index) of each name a rule lists that the tables know.
    names: Vec<(u32, u16)>,
    /// Scratch space of [`Emitter::ranges`], reused across architectures.
    numbers: Vec<Option<u32>>,
    rules: Vec<u32>,
}

impl Emitter<'_> {
    fn push(&mut self, code: u16, k: u32, jt: u8, jf: u8) -> usize {
        self.rev.push(SockFilter { code, jt, jf, k });
        self.rev.len() - 1
    }

    /// `ret k`, shared with an earlier identical one while it is near.
    fn ret(&mut self, k: u32) -> usize {
        self.near(Target::Ret(k)).unwrap_or_else(|| {
            let l = self.push(RET_K, k, 0, 0);
            self.label(Target::Ret(k), l);
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
        self.labels.retain(|(t, _)| matches!(t, Target::Ret(_)));
        let native = self.ranges(arch);
        let tree = self.tree(&native, arch);
        if arch != Arch::X86_64 {
            self.goto(tree);
            return self.load(NR);
        }
        // x32 calls (bit 30) must not reach x86_64's tree; -1 (a tracer's
        // "skip") is not x32 and gets the tree's default, as in libseccomp.
        let x32 = if self.profile.architectures.contains(&Arch::X32) {
            let r = self.ranges(Arch::X32);
            self.tree(&r, Arch::X32)
        } else {
            self.ret(ret::KILL_PROCESS)
        };
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
        let c = match t {
            Target::Ret(k) => return self.ret(k),
            Target::Chain(c) => c,
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

/// Compile `p` for a kernel running `native` (x86_64 or aarch64) code.
pub fn compile(p: &Profile, native: Arch) -> Result<Program> {
    let table = Names::new();
    let mut names = Vec::with_capacity(512);
    let mut unknown = Vec::new();
    for (i, r) in p.rules.iter().enumerate() {
        for n in &r.names {
            match table.index(n) {
                Some(k) => names.push((i as u32, k as u16)),
                None => unknown.push(n.as_str()),
            }
        }
    }
    if !unknown.is_empty() {
        crate::log::debug(&Unknown(&unknown));
    }
    let mut e = Emitter {
        rev: Vec::with_capacity(512),
        labels: Vec::with_capacity(64),
        chains: Vec::new(),
        profile: p,
        names,
        numbers: vec![None; super::tables::COUNT],
        rules: Vec::with_capacity(512),
    };
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

/// The debug line naming the calls a profile lists that nsinit does not know.
struct Unknown<'a>(&'a [&'a str]);

impl std::fmt::Display for Unknown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("seccomp: unknown syscalls skipped:")?;
        self.0.iter().try_for_each(|n| write!(f, " {n}"))
    }
}

/// Syscall numbers (without the x32 bit) stay below this.
const NR_LIMIT: u32 = 1024;

impl Emitter<'_> {
    /// The outcome of every number on `arch`, as ranges `(first number,
    /// target)` sorted by first number, starting at 0, neighbours different.
    fn ranges(&mut self, arch: Arch) -> Vec<(u32, Target)> {
        arch.numbers_into(&mut self.numbers);
        let base = if arch == Arch::X32 { X32_BIT } else { 0 };
        let number = |numbers: &[Option<u32>], n: u16| {
            // A name this ABI lacks (i386's socketcall on x86_64) is skipped.
            let nr = numbers[usize::from(n)]? - base;
            (nr < NR_LIMIT).then_some(nr as usize)
        };
        // The rules of each number, in rule order: a counting sort, the
        // rules of `nr` at `rules[ends[nr]..ends[nr + 1]]`.
        let mut ends = [0u16; NR_LIMIT as usize + 1];
        for &(_, n) in &self.names {
            if let Some(nr) = number(&self.numbers, n) {
                ends[nr + 1] += 1;
            }
        }
        for nr in 1..ends.len() {
            ends[nr] += ends[nr - 1];
        }
        let mut rules = std::mem::take(&mut self.rules);
        rules.clear();
        rules.resize(usize::from(ends[NR_LIMIT as usize]), 0);
        let mut next = ends;
        for &(rule, n) in &self.names {
            if let Some(nr) = number(&self.numbers, n) {
                rules[usize::from(next[nr])] = rule;
                next[nr] += 1;
            }
        }
        let default = Target::Ret(self.profile.default_action);
        let mut out = Vec::with_capacity(128);
        out.push((0, default));
        // The first of a run of numbers without rules.
        let mut gap = None;
        for (nr, w) in ends.windows(2).enumerate() {
            if w[0] == w[1] {
                gap = gap.or(Some(nr as u32));
                continue;
            }
            if let Some(g) = gap.take() {
                push_range(&mut out, base + g, default);
            }
            let of_nr = &rules[usize::from(w[0])..usize::from(w[1])];
            let t = self.chain(of_nr.iter().map(|&r| r as usize));
            push_range(&mut out, base + nr as u32, t);
        }
        push_range(&mut out, base + gap.unwrap_or(NR_LIMIT), default);
        self.rules = rules;
        out
    }

    /// The rules of one number, cut at the first without conditions (it
    /// always matches): a plain return when nothing is left to check.
    fn chain(&mut self, rules: impl Iterator<Item = usize>) -> Target {
        let p = self.profile;
        let mut fallback = p.default_action;
        let mut kept = Vec::new();
        for r in rules {
            if p.rules[r].args.is_empty() {
                fallback = p.rules[r].action;
                break;
            }
            kept.push(r);
        }
        if kept.is_empty() {
            return Target::Ret(fallback);
        }
        let chain = (kept, fallback);
        let i = match self.chains.iter().position(|c| *c == chain) {
            Some(i) => i,
            None => {
                self.chains.push(chain);
                self.chains.len() - 1
            }
        };
        Target::Chain(i)
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
