//! Deterministic pseudo-random bytes for the parsers' "noise" tests: xorshift64, seeded per test, so a
//! failure reproduces exactly.

/// A xorshift64 generator (Marsaglia, 2003).
pub(crate) struct XorShift(u64);

impl XorShift {
    /// A generator from a seed; a zero seed is replaced because xorshift never leaves zero.
    pub(crate) fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 pseudo-random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fills `buf` with pseudo-random bytes.
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }

    /// Applies a few random edits to `buf`: flipped bits, overwritten bytes.
    pub(crate) fn mutate(&mut self, buf: &mut [u8]) {
        if buf.is_empty() {
            return;
        }
        for _ in 0..1 + self.below(4) {
            let i = self.below(buf.len());
            match self.below(3) {
                0 => buf[i] ^= 1 << self.below(8),
                1 => buf[i] = self.next_u64() as u8,
                _ => buf[i] = [0x00, 0xff, 0x7f, 0x80][self.below(4)],
            }
        }
    }
}
