//! Replay protection: a sliding window over packet indices (RFC 3711 §3.3.2).

/// Largest window a session can be configured with, in packets.
pub const MAX_REPLAY_WINDOW: u16 = 1024;

const WORDS: usize = MAX_REPLAY_WINDOW as usize / 64;

/// Which indices at or below the highest accepted one were already seen.
///
/// The bitmap is a ring over the last [`MAX_REPLAY_WINDOW`] indices; a configured window smaller than that
/// only narrows what counts as "too old". Fixed size, so it lives inline in the per-SSRC state.
#[derive(Clone, Debug)]
pub(crate) struct ReplayWindow {
    highest: u64,
    seen: [u64; WORDS],
}

/// Why an index was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Already received.
    Duplicate,
    /// Older than the window reaches.
    TooOld,
}

impl ReplayWindow {
    /// A window whose first accepted index is `index`.
    pub(crate) fn new(index: u64) -> Self {
        let mut window = ReplayWindow {
            highest: index,
            seen: [0; WORDS],
        };
        window.mark(index);
        window
    }

    /// Highest accepted index.
    pub(crate) fn highest(&self) -> u64 {
        self.highest
    }

    /// Whether `index` may be accepted under a window of `size` packets (0 disables the check).
    pub(crate) fn check(&self, index: u64, size: u16) -> Result<(), Replay> {
        if size == 0 || index > self.highest {
            return Ok(());
        }
        if self.highest - index >= u64::from(size) {
            return Err(Replay::TooOld);
        }
        if self.is_marked(index) {
            return Err(Replay::Duplicate);
        }
        Ok(())
    }

    /// Records an authenticated `index`, sliding the window forward when it is the new highest.
    pub(crate) fn accept(&mut self, index: u64) {
        if index > self.highest {
            let advance = index - self.highest;
            if advance >= u64::from(MAX_REPLAY_WINDOW) {
                self.seen = [0; WORDS];
            } else {
                for skipped in self.highest + 1..=index {
                    self.unmark(skipped);
                }
            }
            self.highest = index;
        } else if self.highest - index >= u64::from(MAX_REPLAY_WINDOW) {
            // Outside the ring (only reachable with the check disabled): nothing to remember.
            return;
        }
        self.mark(index);
    }

    fn slot(index: u64) -> (usize, u64) {
        let bit = (index % u64::from(MAX_REPLAY_WINDOW)) as usize;
        (bit / 64, 1u64 << (bit % 64))
    }

    fn mark(&mut self, index: u64) {
        let (word, mask) = Self::slot(index);
        self.seen[word] |= mask;
    }

    fn unmark(&mut self, index: u64) {
        let (word, mask) = Self::slot(index);
        self.seen[word] &= !mask;
    }

    fn is_marked(&self, index: u64) -> bool {
        let (word, mask) = Self::slot(index);
        self.seen[word] & mask != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_old_indices_are_refused_reordered_ones_accepted() {
        let mut window = ReplayWindow::new(1000);
        assert_eq!(window.check(1000, 128), Err(Replay::Duplicate));
        assert_eq!(window.check(1001, 128), Ok(()));
        window.accept(1005);
        // 1001..1004 were skipped: reordered arrivals are fine, once each.
        for index in 1001..1005 {
            assert_eq!(window.check(index, 128), Ok(()));
            window.accept(index);
            assert_eq!(window.check(index, 128), Err(Replay::Duplicate));
        }
        assert_eq!(window.check(1005 - 127, 128), Ok(()));
        assert_eq!(window.check(1005 - 128, 128), Err(Replay::TooOld));
        assert_eq!(window.check(1005 - 128, 1024), Ok(()));
        assert_eq!(window.check(1005, 0), Ok(()));
    }

    #[test]
    fn a_large_jump_forgets_the_old_ring() {
        let mut window = ReplayWindow::new(5);
        window.accept(5 + 3 * u64::from(MAX_REPLAY_WINDOW));
        // The slot of index 5 was reused: the index it maps to now must read as unseen.
        let reused = 5 + 2 * u64::from(MAX_REPLAY_WINDOW) + 1;
        assert_eq!(window.check(reused, MAX_REPLAY_WINDOW), Ok(()));
        assert_eq!(window.highest(), 5 + 3 * u64::from(MAX_REPLAY_WINDOW));
    }

    #[test]
    fn slots_of_skipped_indices_are_cleared_when_the_window_slides() {
        let size = MAX_REPLAY_WINDOW;
        let mut window = ReplayWindow::new(10);
        window.accept(500);
        window.accept(1100);
        // 1034 shares the ring slot of 10: sliding past it must have cleared 10's bit.
        assert_eq!(window.check(1034, size), Ok(()));
        assert_eq!(window.check(500, size), Err(Replay::Duplicate));
        assert_eq!(window.check(1100, size), Err(Replay::Duplicate));
        assert_eq!(window.check(10, size), Err(Replay::TooOld));
    }
}
