//! The cgroup v2 device allow-list: an eBPF program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE`, built here instruction by instruction.
//!
//! The kernel runs the program on every device access (open, mknod) by a task
//! of the cgroup, with a context `struct bpf_cgroup_dev_ctx { u32 access_type;
//! u32 major; u32 minor; }` where `access_type = access << 16 | type`
//! (type: block 1, char 2; access bits: mknod 1, read 2, write 4). Returning 1
//! allows the access, 0 denies it (`EPERM`).
//!
//! The program has the same meaning as v1's "deny `a`, then allow each rule":
//!
//! ```text
//!     r2 = ctx->access_type & 0xffff      // device type
//!     r3 = ctx->access_type >> 16         // requested access bits
//!     r4 = ctx->major
//!     r5 = ctx->minor
//!   rule i:                               // one block per rule, checks skipped for wildcards
//!     if r2 != TYPE goto rule i+1
//!     r1 = r3; r1 &= ~ALLOWED; if r1 != 0 goto rule i+1   // asks for more than allowed
//!     if r4 != MAJOR goto rule i+1
//!     if r5 != MINOR goto rule i+1
//!     r0 = 1; exit
//!   end:
//!     r0 = 0; exit
//! ```

use crate::config::{Device, DeviceKind};
use crate::sys::bpf::RawInsn;

/// Device types in `access_type`'s low half (`BPF_DEVCG_DEV_*`).
pub const DEV_BLOCK: u32 = 1;
pub const DEV_CHAR: u32 = 2;
/// Access bits in `access_type`'s high half (`BPF_DEVCG_ACC_*`).
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;

// Opcodes (class | op | source) from include/uapi/linux/bpf_common.h and bpf.h.
/// `BPF_LDX | BPF_MEM | BPF_W`: dst = *(u32 *)(src + off).
pub const LDX_W: u8 = 0x61;
/// `BPF_ALU64 | BPF_AND | BPF_K`.
pub const AND_K: u8 = 0x57;
/// `BPF_ALU64 | BPF_RSH | BPF_K`.
pub const RSH_K: u8 = 0x77;
/// `BPF_ALU64 | BPF_MOV | BPF_K`.
pub const MOV_K: u8 = 0xb7;
/// `BPF_ALU64 | BPF_MOV | BPF_X`.
pub const MOV_X: u8 = 0xbf;
/// `BPF_JMP | BPF_JNE | BPF_K`: if dst != imm, pc += off.
pub const JNE_K: u8 = 0x55;
/// `BPF_JMP | BPF_EXIT`.
pub const EXIT: u8 = 0x95;

/// One eBPF instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// The kernel's `struct bpf_insn` bytes (little-endian bitfield order).
    pub fn encode(self) -> RawInsn {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.src << 4) | (self.dst & 0x0f),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }
}

/// The access bits of a `rwm` permission string.
pub fn access_bits(permissions: &str) -> u32 {
    permissions.chars().fold(0, |bits, c| match c {
        'r' => bits | ACC_READ,
        'w' => bits | ACC_WRITE,
        'm' => bits | ACC_MKNOD,
        _ => bits,
    })
}

const ALL_ACCESS: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// The checks of one rule block, before its `r0 = 1; exit`.
fn rule_checks(rule: &Device) -> Vec<Insn> {
    // Each check is a conditional jump "to the next rule"; the offset is
    // patched once the block's length is known.
    let mut out = Vec::new();
    match rule.kind {
        DeviceKind::Char => out.push(Insn::new(JNE_K, 2, 0, 0, DEV_CHAR as i32)),
        DeviceKind::Block => out.push(Insn::new(JNE_K, 2, 0, 0, DEV_BLOCK as i32)),
        DeviceKind::All => {}
        // No device type is a FIFO: the rule matches nothing.
        DeviceKind::Fifo => out.push(Insn::new(JNE_K, 2, 0, 0, -1)),
    }
    let allowed = access_bits(&rule.permissions);
    if allowed != ALL_ACCESS {
        out.push(Insn::new(MOV_X, 1, 3, 0, 0));
        out.push(Insn::new(
            AND_K,
            1,
            0,
            0,
            !allowed as i32 & ALL_ACCESS as i32,
        ));
        out.push(Insn::new(JNE_K, 1, 0, 0, 0));
    }
    if let Some(major) = rule.major {
        out.push(Insn::new(JNE_K, 4, 0, 0, major as i32));
    }
    if let Some(minor) = rule.minor {
        out.push(Insn::new(JNE_K, 5, 0, 0, minor as i32));
    }
    out
}

/// The program allowing exactly the devices `rules` allow (and nothing when
/// `rules` is empty).
pub fn device_program(rules: &[Device]) -> Vec<Insn> {
    let mut prog = vec![
        Insn::new(LDX_W, 2, 1, 0, 0),
        Insn::new(AND_K, 2, 0, 0, 0xffff),
        Insn::new(LDX_W, 3, 1, 0, 0),
        Insn::new(RSH_K, 3, 0, 0, 16),
        Insn::new(LDX_W, 4, 1, 4, 0),
        Insn::new(LDX_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().filter(|r| access_bits(&r.permissions) != 0) {
        let mut block = rule_checks(rule);
        block.push(Insn::new(MOV_K, 0, 0, 0, 1));
        block.push(Insn::new(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if insn.code == JNE_K {
                // Land on the first instruction after this block.
                insn.off = (len - i - 1) as i16;
            }
        }
        prog.extend(block);
    }
    prog.push(Insn::new(MOV_K, 0, 0, 0, 0));
    prog.push(Insn::new(EXIT, 0, 0, 0, 0));
    prog
}

/// The program's bytes, ready for `BPF_PROG_LOAD`.
pub fn encode(prog: &[Insn]) -> Vec<RawInsn> {
    prog.iter().map(|i| i.encode()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter for the instructions [`device_program`] emits, run on
    /// a `bpf_cgroup_dev_ctx`. Unknown opcodes fail the test.
    fn run(prog: &[Insn], dev_type: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [(access << 16) | dev_type, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            pc += 1;
            match i.code {
                LDX_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                AND_K => r[d] &= i.imm as i64 as u64,
                RSH_K => r[d] >>= i.imm,
                MOV_K => r[d] = i.imm as i64 as u64,
                MOV_X => r[d] = r[s],
                JNE_K => {
                    if r[d] != i.imm as i64 as u64 {
                        pc = (pc as isize + i.off as isize) as usize;
                    }
                }
                EXIT => return r[0],
                op => panic!("unexpected opcode {op:#x}"),
            }
        }
    }

    const R: u32 = ACC_READ;
    const W: u32 = ACC_WRITE;
    const M: u32 = ACC_MKNOD;

    #[test]
    fn empty_rule_list_denies_everything() {
        let p = device_program(&[]);
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 0);
        assert_eq!(run(&p, DEV_BLOCK, M, 8, 0), 0);
    }

    #[test]
    fn rules_allow_exactly_what_they_name() {
        let rules = [
            Device::rule(DeviceKind::Char, None, None, "m"),
            Device::rule(DeviceKind::Block, None, None, "m"),
            Device::rule(DeviceKind::Char, Some(1), Some(3), "rwm"),
            Device::rule(DeviceKind::Char, Some(136), None, "rw"),
            Device::rule(DeviceKind::Char, Some(1), Some(9), "r"),
        ];
        let p = device_program(&rules);
        // /dev/null: everything.
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 1);
        // mknod of any char or block device.
        assert_eq!(run(&p, DEV_CHAR, M, 10, 229), 1);
        assert_eq!(run(&p, DEV_BLOCK, M, 8, 0), 1);
        // ...but no reading of them.
        assert_eq!(run(&p, DEV_CHAR, R, 10, 229), 0);
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 0), 0);
        // pty slaves: any minor, read/write but not mknod+read together.
        assert_eq!(run(&p, DEV_CHAR, R | W, 136, 7), 1);
        assert_eq!(run(&p, DEV_CHAR, R | M, 136, 7), 0);
        assert_eq!(run(&p, DEV_CHAR, R | W, 137, 7), 0);
        // /dev/urandom is read-only.
        assert_eq!(run(&p, DEV_CHAR, R, 1, 9), 1);
        assert_eq!(run(&p, DEV_CHAR, W, 1, 9), 0);
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 9), 0);
        // Block 1:3 is not char 1:3.
        assert_eq!(run(&p, DEV_BLOCK, R, 1, 3), 0);
        // /dev/zero (1:5) is not listed.
        assert_eq!(run(&p, DEV_CHAR, R, 1, 5), 0);
    }

    #[test]
    fn an_all_rule_allows_both_types() {
        let p = device_program(&[Device::rule(DeviceKind::All, None, None, "rwm")]);
        assert_eq!(run(&p, DEV_CHAR, R | W | M, 4, 1), 1);
        assert_eq!(run(&p, DEV_BLOCK, R | W | M, 8, 1), 1);
        let p = device_program(&[Device::rule(DeviceKind::All, Some(8), None, "r")]);
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 1), 1);
        assert_eq!(run(&p, DEV_CHAR, R, 8, 1), 1);
        assert_eq!(run(&p, DEV_CHAR, W, 8, 1), 0);
        assert_eq!(run(&p, DEV_CHAR, R, 9, 1), 0);
    }

    #[test]
    fn rules_without_permissions_are_skipped() {
        let p = device_program(&[Device::rule(DeviceKind::Char, Some(1), Some(3), "")]);
        assert_eq!(p.len(), 8, "prologue + deny only");
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 0);
    }

    #[test]
    fn block_layout_and_jump_offsets() {
        let p = device_program(&[Device::rule(DeviceKind::Char, Some(1), Some(3), "rw")]);
        // Every failed check lands just past the block (its index 8).
        let block = &p[6..p.len() - 2];
        assert_eq!(
            block,
            &[
                Insn::new(JNE_K, 2, 0, 7, DEV_CHAR as i32),
                Insn::new(MOV_X, 1, 3, 0, 0),
                Insn::new(AND_K, 1, 0, 0, M as i32),
                Insn::new(JNE_K, 1, 0, 4, 0),
                Insn::new(JNE_K, 4, 0, 3, 1),
                Insn::new(JNE_K, 5, 0, 2, 3),
                Insn::new(MOV_K, 0, 0, 0, 1),
                Insn::new(EXIT, 0, 0, 0, 0),
            ]
        );
    }

    #[test]
    fn encoding_matches_struct_bpf_insn() {
        // r4 = *(u32 *)(r1 + 4)
        assert_eq!(
            Insn::new(LDX_W, 4, 1, 4, 0).encode(),
            [0x61, 0x14, 4, 0, 0, 0, 0, 0]
        );
        // if r5 != 136 goto +2
        assert_eq!(
            Insn::new(JNE_K, 5, 0, 2, 136).encode(),
            [0x55, 0x05, 2, 0, 136, 0, 0, 0]
        );
        // r0 = -1 (sign of imm kept)
        assert_eq!(
            Insn::new(MOV_K, 0, 0, 0, -1).encode(),
            [0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(encode(&device_program(&[])).len(), 8);
    }
}
