//! Architectures a filter can meet and their syscall numbers.
//!
//! On x86_64 a process can enter the kernel three ways, all reported with a
//! distinct (arch, nr) pair: x86_64 (`AUDIT_ARCH_X86_64`), i386 through
//! `int 0x80` or a 32-bit binary (`AUDIT_ARCH_I386`), and x32
//! (`AUDIT_ARCH_X86_64` with bit 30 set in the number). aarch64 is listed so
//! the compiler is not x86-only; its 32-bit compat ABI (arm) has no table.

use super::tables::{COUNT, GENERIC, GENERIC_END, HASHED, LOW, NAMES, STARTS};

/// `__X32_SYSCALL_BIT`.
pub const X32_BIT: u32 = 0x4000_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    X86,
    X32,
    Aarch64,
    /// aarch64's 32-bit compat ABI: known by name, no table.
    Arm,
}

/// OCI architecture names (after `SCMP_ARCH_`): first those in [`OWN`]
/// order, then foreign ones, accepted (a profile lists them all) and ignored,
/// since a kernel this binary runs on never reports them.
const ARCHES: &str = "X86_64 X86 X32 AARCH64 ARM MIPS MIPS64 MIPS64N32 MIPSEL MIPSEL64 \
MIPSEL64N32 PPC PPC64 PPC64LE S390 S390X PARISC PARISC64 RISCV64 LOONGARCH64 M68K SH SHEB";
const OWN: [Arch; 5] = [Arch::X86_64, Arch::X86, Arch::X32, Arch::Aarch64, Arch::Arm];

impl Arch {
    /// The architecture this binary runs as.
    pub fn native() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        }
    }

    /// `SCMP_ARCH_X86_64` → `Some(Some(X86_64))`; a known foreign name →
    /// `Some(None)`; anything else → `None`.
    pub fn from_oci(name: &str) -> Option<Option<Arch>> {
        let bare = name.strip_prefix("SCMP_ARCH_")?;
        let i = ARCHES.split(' ').position(|n| n == bare)?;
        Some(OWN.get(i).copied())
    }

    /// `AUDIT_ARCH_*`, what the kernel reports in `seccomp_data.arch`.
    pub fn audit(self) -> u32 {
        match self {
            Arch::X86_64 | Arch::X32 => 0xc000_003e,
            Arch::X86 => 0x4000_0003,
            Arch::Aarch64 => 0xc000_00b7,
            Arch::Arm => 0x4000_0028,
        }
    }

    /// Whether arguments are 32 bits wide: only the low half of each
    /// `seccomp_data.args` slot is what the system call acts on.
    pub fn narrow(self) -> bool {
        matches!(self, Arch::X86 | Arch::Arm)
    }

    #[cfg(test)]
    /// The number `seccomp_data.nr` carries for `name` on this ABI.
    pub fn number(self, name: &str) -> Option<u32> {
        let i = index(name)?;
        self.numbers()[i]
    }

    #[cfg(test)]
    /// The number of each name of [`NAMES`] on this ABI, in one pass over
    /// the tables.
    pub fn numbers(self) -> Vec<Option<u32>> {
        let mut out = vec![None; COUNT];
        self.numbers_into(&mut out);
        out
    }

    #[cfg(test)]
    /// [`Arch::numbers`] into `out` (as long as the tables).
    pub fn numbers_into(self, out: &mut [Option<u32>]) {
        out.fill(None);
        let (low, high) = match self {
            Arch::X86 => i386_low(),
            Arch::Aarch64 => aarch64_low(),
            _ => (&[][..], &[][..]),
        };
        for (nr, &l) in low.iter().enumerate() {
            let h = high.get(nr / 8).map_or(0, |h| (h >> (nr % 8)) & 1);
            // 511 (a hole) is past the end.
            if let Some(slot) = out.get_mut(usize::from(l) | usize::from(h) << 8) {
                *slot = Some(nr as u32);
            }
        }
        if matches!(self, Arch::X86_64 | Arch::X32) {
            for (i, slot) in out.iter_mut().enumerate().take(LOW) {
                *slot = Some(i as u32);
            }
        }
        if self != Arch::Arm {
            // The shared range (424 on) is numbered alike everywhere.
            for (i, slot) in out.iter_mut().enumerate().take(GENERIC_END).skip(LOW) {
                *slot = Some(GENERIC + (i - LOW) as u32);
            }
        }
        if self == Arch::X32 {
            x32_renumber(out);
        }
    }
}

impl Arch {
    /// `f(nr, name index)` for every number this ABI has, in increasing
    /// order (x32's without [`X32_BIT`]): the tables read the other way
    /// round from [`Arch::numbers`], for the compiler's ranges.
    pub fn each_number(self, mut f: impl FnMut(u32, usize)) {
        let (low, high) = match self {
            Arch::X86 => i386_low(),
            Arch::Aarch64 => aarch64_low(),
            _ => (&[][..], &[][..]),
        };
        for (nr, &l) in low.iter().enumerate() {
            let h = high.get(nr / 8).map_or(0, |h| (h >> (nr % 8)) & 1);
            let i = usize::from(l) | usize::from(h) << 8;
            // 511 (a hole) is past the end.
            if i < COUNT {
                f(nr as u32, i);
            }
        }
        let (moved, gone) = match self {
            Arch::X32 => x32_tables(),
            _ => (&[][..], &[][..]),
        };
        if matches!(self, Arch::X86_64 | Arch::X32) {
            // x32 lacks `gone` and has `moved` at 512.. instead.
            let mut skip = [0u64; LOW.div_ceil(64)];
            for &nr in gone.iter().chain(moved) {
                skip[usize::from(nr) / 64] |= 1 << (nr % 64);
            }
            for nr in 0..LOW {
                if skip[nr / 64] >> (nr % 64) & 1 == 0 {
                    f(nr as u32, nr);
                }
            }
        }
        if self != Arch::Arm {
            for i in LOW..GENERIC_END {
                f(GENERIC + (i - LOW) as u32, i);
            }
        }
        for (j, &nr) in moved.iter().enumerate() {
            f(512 + j as u32, usize::from(nr));
        }
    }
}

/// The `i`-th name of the tables.
fn name(i: usize) -> &'static [u8] {
    let (a, b) = (STARTS[i], STARTS[i + 1] - 1);
    &NAMES[usize::from(a)..usize::from(b)]
}

/// The table index of syscall `name`, found through [`HASHED`]: only a
/// slot whose hash bits match is compared.
pub fn index(name: &str) -> Option<usize> {
    let h = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let check = (h >> 25) as u16;
    let mut k = h as usize % HASHED.len();
    loop {
        let slot = HASHED[k];
        let i = usize::from(slot & 0x1ff);
        if i >= COUNT {
            return None;
        }
        if slot >> 9 == check && self::name(i) == name.as_bytes() {
            return Some(i);
        }
        k = (k + 1) % HASHED.len();
    }
}

/// Every syscall name the tables know, in table order, space-separated.
#[cfg(test)]
pub fn names_text() -> String {
    let names: Vec<_> = (0..COUNT)
        .map(|i| String::from_utf8(name(i).to_vec()).unwrap())
        .collect();
    names.join(" ")
}

#[cfg(test)]
fn x32_renumber(out: &mut [Option<u32>]) {
    let (moved, gone) = x32_tables();
    for &nr in gone {
        out[usize::from(nr)] = None;
    }
    for (j, &nr) in moved.iter().enumerate() {
        out[usize::from(nr)] = Some(512 + j as u32);
    }
    for n in out.iter_mut().flatten() {
        *n |= X32_BIT;
    }
}

/// A packed low table: the low 8 bits of each index, then the 9th bits.
type Low = (&'static [u8], &'static [u8]);

#[cfg(any(test, target_arch = "x86_64"))]
fn i386_low() -> Low {
    (&super::tables::I386_LOW, &super::tables::I386_HIGH)
}

#[cfg(not(any(test, target_arch = "x86_64")))]
fn i386_low() -> Low {
    (&[], &[])
}

#[cfg(any(test, target_arch = "aarch64"))]
fn aarch64_low() -> Low {
    (&super::tables::AARCH64_LOW, &super::tables::AARCH64_HIGH)
}

#[cfg(not(any(test, target_arch = "aarch64")))]
fn aarch64_low() -> Low {
    (&[], &[])
}

/// x32 shares x86_64's numbers below 424 except the ones it moved to
/// 512.. (calls whose structures differ) and the few it lacks.
#[cfg(any(test, target_arch = "x86_64"))]
fn x32_tables() -> (&'static [u16], &'static [u16]) {
    (&super::tables::X32_MOVED, &super::tables::X32_GONE)
}

#[cfg(not(any(test, target_arch = "x86_64")))]
fn x32_tables() -> (&'static [u16], &'static [u16]) {
    (&[], &[])
}
