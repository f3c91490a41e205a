//! The server's first look at a client: reassembles the first ClientHello from its handshake fragments
//! and reads the two things the server decides on before the DTLS library sees anything — the SRTP
//! profiles offered in `use_srtp` and whether DTLS 1.3 is offered in `supported_versions`.
//!
//! Must not: answer anything, keep state beyond the first ClientHello, or trust lengths (every length is
//! checked against what is there; anything that does not parse is ignored and reported as such).
//!
//! Implements (reading only): RFC 6347 §4.1 (record header), §4.2.2 (handshake header) and §4.2.3
//! (fragment reassembly, overlapping fragments allowed); RFC 5246 §7.4.1.2 / RFC 6347 §4.2.1 (ClientHello
//! body); RFC 5764 §4.1.1 (`use_srtp`, extension 14); RFC 8446 §4.2.1 / RFC 9147 §5.3
//! (`supported_versions`, extension 43; DTLS 1.3 is 0xfefc).

/// Largest ClientHello we reassemble; real ones are under 2 KB (Firefox's post-quantum share included).
const MAX_HELLO_LEN: usize = 16 * 1024;
/// Largest number of datagrams kept while the first ClientHello is incomplete.
pub(super) const MAX_BUFFERED_DATAGRAMS: usize = 16;

const RECORD_HEADER_LEN: usize = 13;
const HANDSHAKE_HEADER_LEN: usize = 12;
const CONTENT_HANDSHAKE: u8 = 22;
/// Handshake type of a ClientHello.
pub(super) const CLIENT_HELLO: u8 = 1;
/// Handshake type of a ServerHello.
pub(super) const SERVER_HELLO: u8 = 2;
const EXT_USE_SRTP: u16 = 14;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const DTLS_1_3: u16 = 0xfefc;
/// TLS 1.3 cipher suites (RFC 8446 §B.4) all sit in 0x13xx; DTLS 1.2 ones never do.
const TLS13_SUITE_PREFIX: u8 = 0x13;

/// What the server needs from the client's first ClientHello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ClientHelloInfo {
    /// `use_srtp` protection profile ids, in the client's order (empty without the extension).
    pub srtp_profiles: Vec<u16>,
    /// `supported_versions` lists DTLS 1.3.
    pub offers_dtls13: bool,
    /// The client offers at least one cipher suite that is not a TLS 1.3 one (it can do DTLS 1.2).
    pub offers_dtls12_suites: bool,
}

/// Collects the fragments of the first ClientHello seen (epoch 0).
#[derive(Debug, Default)]
pub(super) struct ClientHelloAssembler {
    /// `(message_seq, total length, body, covered bytes)` of the ClientHello being reassembled.
    pending: Option<(u16, usize, Vec<u8>, Vec<bool>)>,
    covered: usize,
}

/// Whether `datagram` is a sequence of complete DTLS 1.0/1.2 records (RFC 6347 §4.1): at least one, each
/// header complete and each length inside the datagram. DTLS 1.3 ciphertext records (unified header,
/// RFC 9147 §4) are not: only a DTLS 1.2 association is judged by this.
pub(super) fn is_well_framed(datagram: &[u8]) -> bool {
    let mut rest = datagram;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        if rest.len() < RECORD_HEADER_LEN || !(20..=25).contains(&rest[0]) || rest[1] != 0xfe {
            return false;
        }
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        let Some(next) = rest.get(RECORD_HEADER_LEN + len..) else {
            return false;
        };
        rest = next;
    }
    true
}

/// Whether `datagram` carries a plaintext (epoch 0) handshake fragment of type `msg_type` (1 ClientHello,
/// 2 ServerHello) at the start of one of its records.
pub(super) fn carries_handshake(datagram: &[u8], msg_type: u8) -> bool {
    let mut rest = datagram;
    while rest.len() >= RECORD_HEADER_LEN {
        let epoch = u16::from_be_bytes([rest[3], rest[4]]);
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        if rest[0] == CONTENT_HANDSHAKE
            && epoch == 0
            && rest.get(RECORD_HEADER_LEN) == Some(&msg_type)
        {
            return true;
        }
        rest = rest.get(RECORD_HEADER_LEN + len..).unwrap_or(&[]);
    }
    false
}

impl ClientHelloAssembler {
    /// Takes the ClientHello fragments of one datagram; returns the parsed hello once it is complete.
    /// `None` while fragments are missing, or if the completed hello does not parse (the assembler is
    /// then reset, to try the next one).
    pub fn push(&mut self, datagram: &[u8]) -> Option<ClientHelloInfo> {
        let mut rest = datagram;
        while rest.len() >= RECORD_HEADER_LEN {
            let content_type = rest[0];
            let epoch = u16::from_be_bytes([rest[3], rest[4]]);
            let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
            let body = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len)?;
            rest = &rest[RECORD_HEADER_LEN + len..];
            if content_type == CONTENT_HANDSHAKE && epoch == 0 {
                let done = self.push_handshake(body);
                if done.is_some() {
                    return done;
                }
            }
        }
        None
    }

    /// One record's handshake fragments (a record may carry several).
    fn push_handshake(&mut self, mut body: &[u8]) -> Option<ClientHelloInfo> {
        while body.len() >= HANDSHAKE_HEADER_LEN {
            let msg_type = body[0];
            let total = u24(&body[1..4]);
            let seq = u16::from_be_bytes([body[4], body[5]]);
            let offset = u24(&body[6..9]);
            let frag_len = u24(&body[9..12]);
            let fragment = body.get(HANDSHAKE_HEADER_LEN..HANDSHAKE_HEADER_LEN + frag_len)?;
            body = &body[HANDSHAKE_HEADER_LEN + frag_len..];
            if msg_type != CLIENT_HELLO
                || total > MAX_HELLO_LEN
                || offset.checked_add(frag_len).is_none_or(|end| end > total)
            {
                continue;
            }
            let fits = matches!(&self.pending, Some((s, t, _, _)) if *s == seq && *t == total);
            if !fits {
                // A different hello than the one in progress: start over with this one.
                self.pending = Some((seq, total, vec![0; total], vec![false; total]));
                self.covered = 0;
            }
            let (_, _, data, covered) = self.pending.as_mut()?;
            data[offset..offset + frag_len].copy_from_slice(fragment);
            for flag in &mut covered[offset..offset + frag_len] {
                if !*flag {
                    *flag = true;
                    self.covered += 1;
                }
            }
            if self.covered == total {
                let (_, _, data, _) = self.pending.take()?;
                self.covered = 0;
                if let Some(info) = parse_client_hello(&data) {
                    return Some(info);
                }
            }
        }
        None
    }
}

fn u24(bytes: &[u8]) -> usize {
    (usize::from(bytes[0]) << 16) | (usize::from(bytes[1]) << 8) | usize::from(bytes[2])
}

/// A cursor over untrusted bytes: every read is checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

/// A reassembled ClientHello body (RFC 6347 §4.2.1): version, random, session id, cookie, cipher suites,
/// compression methods, extensions.
fn parse_client_hello(body: &[u8]) -> Option<ClientHelloInfo> {
    let mut r = Reader(body);
    r.take(2 + 32)?;
    r.vec8()?;
    r.vec8()?;
    let suites = r.vec16()?;
    r.vec8()?;
    let mut info = ClientHelloInfo {
        offers_dtls12_suites: suites
            .chunks_exact(2)
            .any(|suite| suite[0] != TLS13_SUITE_PREFIX),
        ..ClientHelloInfo::default()
    };
    if r.0.is_empty() {
        return Some(info);
    }
    let mut extensions = Reader(r.vec16()?);
    while !extensions.0.is_empty() {
        let kind = extensions.u16()?;
        let mut data = Reader(extensions.vec16()?);
        match kind {
            EXT_USE_SRTP => {
                info.srtp_profiles = data
                    .vec16()?
                    .chunks_exact(2)
                    .map(|id| u16::from_be_bytes([id[0], id[1]]))
                    .collect();
            }
            EXT_SUPPORTED_VERSIONS => {
                info.offers_dtls13 = data
                    .vec8()?
                    .chunks_exact(2)
                    .any(|version| u16::from_be_bytes([version[0], version[1]]) == DTLS_1_3);
            }
            _ => {}
        }
    }
    Some(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello body with the given cipher suites and extensions.
    fn hello_body(suites: &[u16], extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![0xfe, 0xfd];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.push(0); // cookie
        body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
        for suite in suites {
            body.extend_from_slice(&suite.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]); // compression: null
        let mut ext = Vec::new();
        for (kind, data) in extensions {
            ext.extend_from_slice(&kind.to_be_bytes());
            ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
            ext.extend_from_slice(data);
        }
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        body
    }

    fn use_srtp(ids: &[u16]) -> (u16, Vec<u8>) {
        let mut data = ((ids.len() * 2) as u16).to_be_bytes().to_vec();
        for id in ids {
            data.extend_from_slice(&id.to_be_bytes());
        }
        data.push(0); // no MKI
        (EXT_USE_SRTP, data)
    }

    /// Records (epoch 0) carrying `body` as ClientHello fragments `[start, end)`.
    fn records_for(body: &[u8], pieces: &[(usize, usize)]) -> Vec<Vec<u8>> {
        pieces
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| {
                let mut handshake = vec![CLIENT_HELLO];
                handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
                handshake.extend_from_slice(&[0, 0]);
                handshake.extend_from_slice(&(start as u32).to_be_bytes()[1..]);
                handshake.extend_from_slice(&((end - start) as u32).to_be_bytes()[1..]);
                handshake.extend_from_slice(&body[start..end]);
                let mut record = vec![CONTENT_HANDSHAKE, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, i as u8];
                record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
                record.extend_from_slice(&handshake);
                record
            })
            .collect()
    }

    #[test]
    fn chrome_order_profiles_in_one_record() {
        // Chrome: AES_CM_128_HMAC_SHA1_80, AEAD_AES_256_GCM, AEAD_AES_128_GCM; ECDHE-ECDSA-AES128-GCM.
        let body = hello_body(&[0xc02b], &[use_srtp(&[1, 8, 7]), (23, Vec::new())]);
        let mut assembler = ClientHelloAssembler::default();
        let info = assembler
            .push(&records_for(&body, &[(0, body.len())])[0])
            .unwrap();
        assert_eq!(info.srtp_profiles, vec![1, 8, 7]);
        assert!(!info.offers_dtls13);
        assert!(info.offers_dtls12_suites);
    }

    #[test]
    fn fragments_out_of_order_and_overlapping_are_reassembled() {
        let versions = (EXT_SUPPORTED_VERSIONS, vec![4, 0xfe, 0xfc, 0xfe, 0xfd]);
        let body = hello_body(&[0x1301, 0xc02b], &[versions, use_srtp(&[7, 1])]);
        let n = body.len();
        let records = records_for(&body, &[(n / 2, n), (0, n / 2 + 3)]);
        let mut assembler = ClientHelloAssembler::default();
        assert_eq!(assembler.push(&records[0]), None);
        // The same fragment again changes nothing.
        assert_eq!(assembler.push(&records[0]), None);
        let info = assembler.push(&records[1]).unwrap();
        assert_eq!(info.srtp_profiles, vec![7, 1]);
        assert!(info.offers_dtls13);
        assert!(info.offers_dtls12_suites);
        // Both fragments in one datagram.
        let both = [records[1].clone(), records[0].clone()].concat();
        assert!(is_well_framed(&both));
        assert!(ClientHelloAssembler::default().push(&both).is_some());
    }

    #[test]
    fn dtls13_only_suites_are_recognised() {
        let versions = (EXT_SUPPORTED_VERSIONS, vec![2, 0xfe, 0xfc]);
        let body = hello_body(&[0x1301, 0x1302], &[versions, use_srtp(&[7])]);
        let info = ClientHelloAssembler::default()
            .push(&records_for(&body, &[(0, body.len())])[0])
            .unwrap();
        assert!(info.offers_dtls13);
        assert!(!info.offers_dtls12_suites);
    }

    #[test]
    fn lies_and_truncations_are_not_a_hello() {
        let body = hello_body(&[0xc02b], &[use_srtp(&[7])]);
        let record = records_for(&body, &[(0, body.len())]).remove(0);
        // Every truncation: nothing, and no panic.
        for len in 0..record.len() {
            assert_eq!(ClientHelloAssembler::default().push(&record[..len]), None);
            assert!(!is_well_framed(&record[..len]));
        }
        assert!(is_well_framed(&record));
        // A use_srtp list longer than its extension.
        let mut bad = body.clone();
        let at = bad.len() - 5; // the high byte of use_srtp's list length
        bad[at] = 0xff;
        let record = records_for(&bad, &[(0, bad.len())]).remove(0);
        assert_eq!(ClientHelloAssembler::default().push(&record), None);
        // A fragment claiming to run past the message.
        let mut past = records_for(&body, &[(0, body.len())]).remove(0);
        past[13 + 11] = past[13 + 11].wrapping_add(1);
        assert_eq!(ClientHelloAssembler::default().push(&past), None);
        // Not a handshake record, or a later epoch.
        let mut alert = records_for(&body, &[(0, body.len())]).remove(0);
        alert[0] = 21;
        assert_eq!(ClientHelloAssembler::default().push(&alert), None);
        let mut later = records_for(&body, &[(0, body.len())]).remove(0);
        later[4] = 1;
        assert_eq!(ClientHelloAssembler::default().push(&later), None);
    }
}
