//! [`ExtensionIdMap`]: the translation of header extension ids from a producer's negotiation to a
//! consumer's, applied in place by [`super::RtpPacketMut::remap_extension_ids`].

/// A total map from extension id (0–255) to extension id, where 0 means "drop".
///
/// [`ExtensionIdMap::new`] drops everything: an SFU forwards only the extensions the consumer negotiated,
/// so each forwarded id is [`set`](ExtensionIdMap::set) explicitly. [`ExtensionIdMap::identity`] keeps every
/// id as it is. A fixed 256-byte table: lookups are one index, and the map is `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionIdMap {
    table: [u8; 256],
}

impl Default for ExtensionIdMap {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtensionIdMap {
    /// A map that drops every id.
    pub const fn new() -> Self {
        Self { table: [0; 256] }
    }

    /// A map that keeps every id unchanged.
    pub fn identity() -> Self {
        let mut table = [0; 256];
        for (i, t) in table.iter_mut().enumerate() {
            *t = i as u8;
        }
        Self { table }
    }

    /// Maps `from` to `to` (`to == 0` drops `from`). Setting id 0 has no effect: 0 is padding.
    pub fn set(&mut self, from: u8, to: u8) -> &mut Self {
        if from != 0 {
            self.table[usize::from(from)] = to;
        }
        self
    }

    /// The id `from` becomes; 0 when it is dropped.
    pub fn get(&self, from: u8) -> u8 {
        self.table[usize::from(from)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_drops_identity_keeps() {
        let m = ExtensionIdMap::new();
        assert!((0..=255).all(|i| m.get(i) == 0));
        let m = ExtensionIdMap::identity();
        assert!((0..=255).all(|i| m.get(i) == i));
    }

    #[test]
    fn set_and_padding_id() {
        let mut m = ExtensionIdMap::new();
        m.set(3, 9).set(4, 0).set(0, 7);
        assert_eq!(m.get(3), 9);
        assert_eq!(m.get(4), 0);
        assert_eq!(m.get(0), 0);
    }
}
