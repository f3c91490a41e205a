//! A small deterministic pseudo-random generator (xorshift64*) for SSRCs, CNAMEs and stream ids.
//!
//! The engine draws no entropy itself: the control layer seeds each router, so engine scenarios replay
//! exactly. Values are not secret (SSRCs and CNAMEs are visible on the wire); credentials are made by the
//! control layer from the operating system's generator.

/// Seeded xorshift64* generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (zero is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// An SSRC in mediasoup's range (100000000..=999999999), leaving room for `+ n` offsets.
    pub fn ssrc(&mut self) -> u32 {
        100_000_000 + (self.next_u64() % 900_000_000) as u32
    }

    /// `len` characters from `[a-z0-9]`.
    pub fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| ALPHABET[(self.next_u64() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let s = a.ssrc();
            assert_eq!(s, b.ssrc());
            assert!((100_000_000..1_000_000_000).contains(&s));
        }
        assert_eq!(Rng::new(1).token(8).len(), 8);
    }
}
