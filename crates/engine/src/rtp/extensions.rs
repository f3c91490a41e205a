//! RFC 8285 header extension elements: the one-byte (§4.2) and two-byte (§4.3) forms, and the walk over
//! an extension block that validation, lookup, iteration and id remapping share.
//!
//! Rules applied by the walk:
//! - a zero byte where an element header is expected is one byte of padding (§4.2, §4.3), whatever follows;
//! - one-byte form: id 15 ends the walk; the rest of the block is ignored (§4.2);
//! - one-byte form values are 1–16 bytes (`L + 1`), two-byte form values 0–255 bytes;
//! - an element whose value runs past the block is malformed.

use std::ops::Range;

use super::RtpError;

/// The one-byte header form's profile value (RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The two-byte header form's profile value with its 4 "appbits" zero (RFC 8285 §4.3).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// Which RFC 8285 form an extension block uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionForm {
    /// Profile `0xBEDE`: 4-bit ids 1–14, values of 1–16 bytes.
    OneByte,
    /// Profile `0x100X`: 8-bit ids 1–255, values of 0–255 bytes.
    TwoByte,
}

impl ExtensionForm {
    /// The form a profile field names; `None` for profiles other than RFC 8285's.
    pub fn from_profile(profile: u16) -> Option<Self> {
        match profile {
            ONE_BYTE_PROFILE => Some(Self::OneByte),
            p if p & 0xfff0 == TWO_BYTE_PROFILE => Some(Self::TwoByte),
            _ => None,
        }
    }

    /// The profile field written for this form (appbits zero for the two-byte form).
    pub fn profile(self) -> u16 {
        match self {
            Self::OneByte => ONE_BYTE_PROFILE,
            Self::TwoByte => TWO_BYTE_PROFILE,
        }
    }
}

/// One element found by the walk: its id, where its header starts and where its value lies, all relative
/// to the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) id: u8,
    pub(crate) header: usize,
    pub(crate) value: Range<usize>,
}

/// Reads the element at or after `*pos`, skipping padding, and moves `*pos` past it.
///
/// `Ok(None)` at the end of the block (or at a one-byte id 15); `Err(offset)` for an element that
/// overruns the block.
pub(crate) fn next_element(
    form: ExtensionForm,
    block: &[u8],
    pos: &mut usize,
) -> Result<Option<Element>, usize> {
    while let Some(&b) = block.get(*pos) {
        let header = *pos;
        if b == 0 {
            *pos += 1;
            continue;
        }
        let (id, start, len) = match form {
            ExtensionForm::OneByte => {
                let id = b >> 4;
                if id == 15 {
                    *pos = block.len();
                    return Ok(None);
                }
                (id, header + 1, usize::from(b & 0x0f) + 1)
            }
            ExtensionForm::TwoByte => {
                let Some(&len) = block.get(header + 1) else {
                    return Err(header);
                };
                (b, header + 2, usize::from(len))
            }
        };
        let end = start + len;
        if end > block.len() {
            return Err(header);
        }
        *pos = end;
        return Ok(Some(Element {
            id,
            header,
            value: start..end,
        }));
    }
    Ok(None)
}

/// Walks the whole block, refusing an element that overruns it.
pub(crate) fn validate_extensions(form: ExtensionForm, block: &[u8]) -> Result<(), RtpError> {
    let mut pos = 0;
    loop {
        match next_element(form, block, &mut pos) {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(()),
            Err(offset) => return Err(RtpError::MalformedExtension { offset }),
        }
    }
}

/// The value range of the first element with `id` (never matches id 0, which is padding).
pub(crate) fn find_extension_range(
    form: ExtensionForm,
    block: &[u8],
    id: u8,
) -> Option<Range<usize>> {
    if id == 0 {
        return None;
    }
    let mut pos = 0;
    while let Ok(Some(el)) = next_element(form, block, &mut pos) {
        if el.id == id {
            return Some(el.value);
        }
    }
    None
}

/// The value of the first element with `id`.
pub(crate) fn find_extension(form: ExtensionForm, block: &[u8], id: u8) -> Option<&[u8]> {
    find_extension_range(form, block, id).map(|r| &block[r])
}

/// The RFC 8285 elements of a packet's extension block, as `(id, value)`.
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    form: ExtensionForm,
    block: &'a [u8],
    pos: usize,
}

impl<'a> Extensions<'a> {
    pub(crate) fn new(form: ExtensionForm, block: &'a [u8]) -> Self {
        Self {
            form,
            block,
            pos: 0,
        }
    }

    pub(crate) fn empty() -> Self {
        Self {
            form: ExtensionForm::OneByte,
            block: &[],
            pos: 0,
        }
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let el = next_element(self.form, self.block, &mut self.pos).ok()??;
        Some((el.id, &self.block[el.value]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(form: ExtensionForm, block: &[u8]) -> Vec<(u8, Vec<u8>)> {
        Extensions::new(form, block)
            .map(|(id, v)| (id, v.to_vec()))
            .collect()
    }

    #[test]
    fn profiles() {
        assert_eq!(
            ExtensionForm::from_profile(0xBEDE),
            Some(ExtensionForm::OneByte)
        );
        for appbits in 0..16 {
            assert_eq!(
                ExtensionForm::from_profile(0x1000 | appbits),
                Some(ExtensionForm::TwoByte)
            );
        }
        assert_eq!(ExtensionForm::from_profile(0x1010), None);
        assert_eq!(ExtensionForm::from_profile(0xABAC), None);
    }

    /// RFC 8285 §4.2 figure: ids 1 (1 byte), 2 (2 bytes), 3 (4 bytes), then padding to the word boundary.
    #[test]
    fn rfc8285_one_byte_example() {
        let block = [
            0x10, 0xAA, // id 1, L=0
            0x21, 0xBB, 0xBB, // id 2, L=1
            0x00, // padding
            0x33, 0xCC, 0xCC, 0xCC, 0xCC, // id 3, L=3
            0x00, // padding
        ];
        assert_eq!(
            walk(ExtensionForm::OneByte, &block),
            vec![(1, vec![0xAA]), (2, vec![0xBB, 0xBB]), (3, vec![0xCC; 4])]
        );
        assert!(validate_extensions(ExtensionForm::OneByte, &block).is_ok());
    }

    /// RFC 8285 §4.3 figure: id 1 with 0 bytes, id 2 with 1 byte, id 3 with 4 bytes, padding.
    #[test]
    fn rfc8285_two_byte_example() {
        let block = [
            0x01, 0x00, // id 1, length 0
            0x02, 0x01, 0xBB, // id 2, length 1
            0x00, // padding
            0x03, 0x04, 0xCC, 0xCC, 0xCC, 0xCC, // id 3, length 4
        ];
        assert_eq!(
            walk(ExtensionForm::TwoByte, &block),
            vec![(1, vec![]), (2, vec![0xBB]), (3, vec![0xCC; 4])]
        );
    }

    #[test]
    fn one_byte_id_15_stops_the_walk() {
        let block = [0x10, 0xAA, 0xF0, 0x20, 0xBB, 0x00, 0x00, 0x00];
        assert_eq!(walk(ExtensionForm::OneByte, &block), vec![(1, vec![0xAA])]);
        assert!(validate_extensions(ExtensionForm::OneByte, &block).is_ok());
        assert_eq!(find_extension(ExtensionForm::OneByte, &block, 2), None);
    }

    #[test]
    fn overrun_is_malformed() {
        assert_eq!(
            validate_extensions(ExtensionForm::OneByte, &[0x10, 0xAA, 0x23, 0xBB]),
            Err(RtpError::MalformedExtension { offset: 2 })
        );
        assert_eq!(
            validate_extensions(ExtensionForm::TwoByte, &[0x00, 0x00, 0x00, 0x05]),
            Err(RtpError::MalformedExtension { offset: 3 })
        );
        assert_eq!(
            validate_extensions(ExtensionForm::TwoByte, &[0x01, 0x03, 0x00, 0x00]),
            Err(RtpError::MalformedExtension { offset: 0 })
        );
    }

    #[test]
    fn id_zero_is_never_found() {
        assert_eq!(
            find_extension(ExtensionForm::OneByte, &[0x00, 0x00, 0x00, 0x00], 0),
            None
        );
    }
}
