//! The NHS number: ten digits, the last a modulus-11 check digit over the first nine.

use std::fmt;
use std::str::FromStr;

/// A valid NHS number. It can only be made by [`NhsNumber::parse`], so holding one means the check digit is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber([u8; 10]);

/// Why a string is not an NHS number. Each variant names its message id in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    #[error("enter an NHS number")]
    Empty,
    #[error("an NHS number has 10 digits")]
    WrongLength,
    #[error("an NHS number contains only digits")]
    NotDigits,
    #[error("the NHS number's check digit is wrong")]
    BadCheckDigit,
}

impl NhsNumberError {
    pub fn message_id(self) -> &'static str {
        match self {
            Self::Empty => "error-nhs-number-empty",
            Self::WrongLength => "error-nhs-number-length",
            Self::NotDigits => "error-nhs-number-digits",
            Self::BadCheckDigit => "error-nhs-number-check",
        }
    }
}

impl NhsNumber {
    /// Parses an NHS number as people write it: spaces and hyphens between digit groups are allowed.
    pub fn parse(input: &str) -> Result<Self, NhsNumberError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if compact.is_empty() {
            return Err(NhsNumberError::Empty);
        }
        if !compact.chars().all(|c| c.is_ascii_digit()) {
            return Err(NhsNumberError::NotDigits);
        }
        if compact.len() != 10 {
            return Err(NhsNumberError::WrongLength);
        }
        let mut digits = [0u8; 10];
        for (slot, byte) in digits.iter_mut().zip(compact.bytes()) {
            *slot = byte - b'0';
        }
        let (first_nine, check) = digits.split_at(9);
        match check_digit(first_nine) {
            Some(expected) if check.first() == Some(&expected) => Ok(Self(digits)),
            _ => Err(NhsNumberError::BadCheckDigit),
        }
    }

    /// The ten digits with no spaces, as stored and exchanged (FHIR identifier value).
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

/// The modulus-11 check digit for nine digits, or `None` when the remainder makes the number invalid (10).
pub fn check_digit(first_nine: &[u8]) -> Option<u8> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        n => u8::try_from(n).ok(),
    }
}

impl fmt::Display for NhsNumber {
    /// The NHS way of showing the number to people: `943 476 5919`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.as_digits();
        write!(f, "{} {} {}", &d[..3], &d[3..6], &d[6..])
    }
}

impl FromStr for NhsNumber {
    type Err = NhsNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_known_valid_numbers_in_any_spacing() {
        for s in ["9434765919", "943 476 5919", "943-476-5919", " 9434765919 "] {
            let n = NhsNumber::parse(s).unwrap();
            assert_eq!(n.as_digits(), "9434765919");
            assert_eq!(n.to_string(), "943 476 5919");
        }
    }

    #[test]
    fn explains_each_kind_of_bad_number() {
        assert_eq!(NhsNumber::parse(""), Err(NhsNumberError::Empty));
        assert_eq!(NhsNumber::parse("943476591"), Err(NhsNumberError::WrongLength));
        assert_eq!(NhsNumber::parse("94347659190"), Err(NhsNumberError::WrongLength));
        assert_eq!(NhsNumber::parse("94347659l9"), Err(NhsNumberError::NotDigits));
        assert_eq!(NhsNumber::parse("9434765918"), Err(NhsNumberError::BadCheckDigit));
    }

    #[test]
    fn a_remainder_of_ten_is_never_valid() {
        // 0000000060: weights give sum 6*3=18 -> 11 - 7 = 4; find nine digits whose check would be 10 instead.
        let nine = [0, 0, 0, 0, 0, 0, 0, 0, 1]; // sum 2 -> 11 - 2 = 9
        assert_eq!(check_digit(&nine), Some(9));
        let ten = [0, 0, 0, 0, 0, 0, 0, 0, 5]; // sum 10 -> 11 - 10 = 1
        assert_eq!(check_digit(&ten), Some(1));
        let invalid = [0, 0, 0, 0, 0, 0, 0, 1, 4]; // sum 3 + 8 = 11 -> 11 - 0 = 11 -> 0
        assert_eq!(check_digit(&invalid), Some(0));
        let remainder_one = [0, 0, 0, 0, 0, 0, 0, 0, 6]; // sum 12 -> 12 % 11 = 1 -> 10: invalid
        assert_eq!(check_digit(&remainder_one), None);
        for last in 0..=9u8 {
            let s = format!("00000000{}{last}", 6);
            assert_eq!(NhsNumber::parse(&s), Err(NhsNumberError::BadCheckDigit));
        }
    }

    proptest! {
        #[test]
        fn every_number_built_with_its_check_digit_parses(nine in proptest::array::uniform9(0u8..10)) {
            if let Some(check) = check_digit(&nine) {
                let s: String = nine.iter().chain(std::iter::once(&check)).map(|d| char::from(b'0' + d)).collect();
                let parsed = NhsNumber::parse(&s).unwrap();
                prop_assert_eq!(parsed.as_digits(), s);
                // Changing the check digit always breaks it.
                let wrong = (check + 1) % 10;
                let bad: String = nine.iter().chain(std::iter::once(&wrong)).map(|d| char::from(b'0' + d)).collect();
                prop_assert_eq!(NhsNumber::parse(&bad), Err(NhsNumberError::BadCheckDigit));
            }
        }

        #[test]
        fn never_panics_on_any_input(s in ".{0,40}") {
            let _ = NhsNumber::parse(&s);
        }
    }
}
