//! Identifiers of the objects the engine owns.
//!
//! Server-made objects (transports, producers, consumers, data producers, data consumers) carry uuid
//! newtypes minted by the control layer and never reused. Rooms and broadcasters carry names chosen by
//! clients (the mediasoup-demo contract), validated once here so that no bare `String` travels as an id.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;

/// Declares a uuid-backed identifier: serde-transparent, `Display`/`FromStr`, an OpenAPI schema.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A fresh random (v4) identifier.
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }

            /// The identifier as a uuid.
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(value: uuid::Uuid) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    )))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Declares a client-chosen name used as an identifier: 1 to 128 characters from `[A-Za-z0-9._~-]`. Shared
/// (`Arc<str>`), so the packet path can hold a copy without allocating.
macro_rules! name_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                validate_name(&value)?;
                Ok(Self(std::sync::Arc::from(value)))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::try_from(s.to_owned())
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .min_length(Some(1))
                    .max_length(Some(NAME_MAX_LEN))
                    .pattern(Some(NAME_PATTERN))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// Longest accepted client-chosen name.
pub const NAME_MAX_LEN: usize = 128;
/// The characters a client-chosen name may use, as a regular expression (for the OpenAPI document).
pub const NAME_PATTERN: &str = "^[A-Za-z0-9._~-]{1,128}$";

/// A client-chosen name that breaks the naming rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    /// The name is empty.
    #[error("must not be empty")]
    Empty,
    /// The name is longer than [`NAME_MAX_LEN`].
    #[error("must be at most {NAME_MAX_LEN} characters")]
    TooLong,
    /// The name holds a character outside `[A-Za-z0-9._~-]`.
    #[error("may only contain letters, digits, '.', '_', '~' and '-' (found {0:?})")]
    BadCharacter(char),
}

fn validate_name(value: &str) -> Result<(), InvalidName> {
    if value.is_empty() {
        return Err(InvalidName::Empty);
    }
    if value.len() > NAME_MAX_LEN {
        return Err(InvalidName::TooLong);
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-')))
    {
        return Err(InvalidName::BadCharacter(c));
    }
    Ok(())
}

name_id!(
    /// A room (a mediasoup Router), named by its clients.
    RoomId
);
name_id!(
    /// A broadcaster (a peer) in a room, named by its client or generated.
    BroadcasterId
);
uuid_id!(
    /// A transport (WebRTC or plain).
    TransportId
);
uuid_id!(
    /// A producer: media into the room.
    ProducerId
);
uuid_id!(
    /// A consumer: media out of the room.
    ConsumerId
);
uuid_id!(
    /// A data producer: SCTP (or direct) messages into the room.
    DataProducerId
);
uuid_id!(
    /// A data consumer: SCTP (or direct) messages out of the room.
    DataConsumerId
);

/// A map keyed by a server-minted uuid id ([`TransportId`], [`ProducerId`], [`ConsumerId`], …), hashed
/// with [`IdHasher`]. Not for client-chosen keys (names, SSRCs): those keep the default SipHash.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The hash of a v4 uuid is its own bits: the ids are random and minted by the server, so clients cannot
/// pick colliding keys, and SipHash's cost on every packet-path lookup buys nothing. Folds 8-byte words
/// (a uuid is one 16-byte write after its length) with a rotation; anything else is folded bytewise.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let word = u64::from_le_bytes(word.try_into().expect("an 8-byte chunk"));
            self.0 = self.0.rotate_left(23) ^ word;
        }
        for &b in words.remainder() {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = self.0.rotate_left(23) ^ n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_hashes_spread_over_buckets_and_top_bits() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (0..4096)
            .map(|_| build.hash_one(ConsumerId::new_random()))
            .collect();
        // hashbrown takes the bucket from the low bits and its tag from the top 7: both must vary.
        let low: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 0x3ff).collect();
        let top: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(low.len() > 900, "{} of 1024 buckets used", low.len());
        assert_eq!(top.len(), 128);
        let id = TransportId::new_random();
        let mut map = IdMap::default();
        map.insert(id, 1);
        assert_eq!(map.get(&id), Some(&1));
    }

    #[test]
    fn names_follow_the_rule() {
        assert!("room-1.a_b~c".parse::<RoomId>().is_ok());
        assert_eq!("".parse::<RoomId>(), Err(InvalidName::Empty));
        assert_eq!("a/b".parse::<RoomId>(), Err(InvalidName::BadCharacter('/')));
        assert_eq!("x".repeat(129).parse::<RoomId>(), Err(InvalidName::TooLong));
    }

    #[test]
    fn uuid_ids_round_trip_through_json() {
        let id = ProducerId::new_random();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<ProducerId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<RoomId>("\"bad name\"").is_err());
    }
}
