//! The global allocator: a fixed arena first, musl's malloc after it.
//!
//! Why: musl's allocator (mallocng) hands whole groups back to the kernel
//! as soon as they empty, so a start was about 60 `mmap`/`munmap` pairs and
//! as many page faults for a few dozen kilobytes of short-lived strings,
//! paths and JSON values. Here allocations bump a cursor through a static
//! arena (in .bss: pages the kernel maps on first touch, never unmapped);
//! freeing the most recent allocation moves the cursor back, freeing any
//! other one leaves its bytes unused. Once the arena is used up, every
//! allocation is musl's, as before: a long-lived supervisor wastes at most
//! the arena.
//!
//! Invariant: every live arena block lies below the cursor. An allocation
//! moves the cursor past its block (one compare-and-swap); a free moves it
//! back to the block's start only if the cursor is exactly the block's end,
//! so no live block lies beyond it. Threads race only on that one atomic
//! (acquire/release: a thread handed bytes another thread freed sees that
//! thread's last writes to them happen before its own); a
//! forked child has its own copy of arena and cursor (nsinit never clones
//! with CLONE_VM).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Arena size: what a start allocates, with room to spare.
const SIZE: usize = 192 * 1024;

#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; SIZE]>);

// SAFETY: the bytes are only reached through blocks handed out by
// `Bump`, which never hands out overlapping live blocks (module invariant);
// each block is used by one owner at a time, as with any allocator.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; SIZE]));
/// Offset of the first free byte in `ARENA`.
static CURSOR: AtomicUsize = AtomicUsize::new(0);

pub struct Bump;

#[global_allocator]
static GLOBAL: Bump = Bump;

fn base() -> usize {
    ARENA.0.get() as usize
}

/// The arena offset of `ptr` when it is an arena block.
fn offset_of(ptr: *mut u8) -> Option<usize> {
    let p = ptr as usize;
    (p >= base() && p < base() + SIZE).then(|| p - base())
}

/// Reserve `layout` in the arena: the block's offset, or `None` when it
/// does not fit in what is left.
fn bump(layout: Layout) -> Option<usize> {
    let mut cur = CURSOR.load(Ordering::Acquire);
    loop {
        // Alignment is of the address; `base()` is page-aligned, so aligning
        // the offset aligns the address for any align up to a page, and for
        // larger ones the address is aligned explicitly.
        let addr = (base() + cur).checked_next_multiple_of(layout.align())?;
        let start = addr - base();
        let end = start.checked_add(layout.size())?;
        if end > SIZE {
            return None;
        }
        match CURSOR.compare_exchange_weak(cur, end, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some(start),
            Err(now) => cur = now,
        }
    }
}

// SAFETY: `alloc` returns either a block of `System` (for `System` to free
// and resize) or a block of the arena of `layout.size()` bytes at an address
// aligned to `layout.align()`, below the cursor and overlapping no live
// block (module invariant); `dealloc` and `realloc` tell the two apart by
// address, and arena blocks are never passed to `System`.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout) {
            // SAFETY: `start + size <= SIZE`, so the block is inside ARENA.
            Some(start) => unsafe { (ARENA.0.get() as *mut u8).add(start) },
            // SAFETY: the caller's layout has a non-zero size (GlobalAlloc contract).
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match offset_of(ptr) {
            Some(start) => {
                // The last block: give its bytes back; any other stays unused.
                let _ = CURSOR.compare_exchange(
                    start + layout.size(),
                    start,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
            // SAFETY: not an arena address, so `System` allocated it with `layout`.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(start) = offset_of(ptr) else {
            // SAFETY: a `System` block with `layout`; the caller upholds the rest.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        // A shrinking block stays where it is (if it was the last one, its
        // tail is given back).
        if new_size <= layout.size() {
            let _ = CURSOR.compare_exchange(
                start + layout.size(),
                start + new_size,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            return ptr;
        }
        // The last block grows in place while it fits.
        if let Some(end) = start.checked_add(new_size)
            && end <= SIZE
            && CURSOR
                .compare_exchange(
                    start + layout.size(),
                    end,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            return ptr;
        }
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a
        // valid layout (GlobalAlloc::realloc contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: non-zero size (contract); a fresh block of either kind.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct (the old one is still
            // allocated) and at least this long.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: the old block, with its layout, no longer used.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_distinct_and_the_last_one_is_reused() {
        let b = Bump;
        let l = Layout::from_size_align(24, 8).unwrap();
        // SAFETY (test): layouts are valid and non-zero; each block is freed once.
        unsafe {
            let a = b.alloc(l);
            let c = b.alloc(Layout::from_size_align(100, 64).unwrap());
            assert_eq!(c as usize % 64, 0);
            assert!(c as usize >= a as usize + 24 || (c as usize) + 100 <= a as usize);
            a.write_bytes(1, 24);
            c.write_bytes(2, 100);
            assert_eq!(*a.add(23), 1);
            // Grown in place while last; contents kept when moved.
            let c2 = b.realloc(c, Layout::from_size_align(100, 64).unwrap(), 200);
            assert_eq!(*c2.add(99), 2);
            b.dealloc(c2, Layout::from_size_align(200, 64).unwrap());
            let big = Layout::from_size_align(SIZE + 1, 8).unwrap();
            let s = b.alloc(big);
            assert!(!s.is_null() && offset_of(s).is_none(), "too big: System's");
            b.dealloc(s, big);
            b.dealloc(a, l);
        }
    }
}
