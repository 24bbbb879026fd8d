//! The parts Message-IDs and calendar UIDs are made of.

/// A part of a Message-ID or calendar UID that keeps every character of `s`: letters, digits,
/// `-` and `_` as they are, anything else as `=XX` (its UTF-8 bytes in hex). Parts are joined
/// with `.`, which never appears in a part, so different references (`RR/2026/1`, `RR.2026.1`)
/// never share a thread or a calendar entry.
pub fn id_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("={byte:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::id_part;
    use proptest::prelude::*;

    #[test]
    fn references_that_differ_only_in_punctuation_get_different_ids() {
        assert_eq!(id_part("RR/2026/1"), "RR=2F2026=2F1");
        assert_eq!(id_part("RR.2026.1"), "RR=2E2026=2E1");
        assert_eq!(id_part("RR-2026-014"), "RR-2026-014");
    }

    proptest! {
        /// The law: different strings, different parts, and a part never holds the `.` that
        /// joins parts or anything a Message-ID may not carry.
        #[test]
        fn id_parts_are_injective_and_safe(a in "[A-Za-z0-9._/=é-]{1,12}", b in "[A-Za-z0-9._/=é-]{1,12}") {
            let (pa, pb) = (id_part(&a), id_part(&b));
            prop_assert_eq!(a == b, pa == pb);
            prop_assert!(pa.chars().all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c)));
        }
    }
}
