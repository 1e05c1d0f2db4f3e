//! The one spelling of a login name: Unicode NFKC (fullwidth and other
//! compatibility forms become their plain letters), lower case, no
//! surrounding white space. Every path that stores or looks up a login
//! name goes through [`normalize`], so the users table's unique index
//! compares the names people mean. Pure text; it must not decide whether a
//! name is acceptable (empty, taken) nor touch the database.

use unicode_normalization::UnicodeNormalization;

/// The normalised form of a login name.
///
/// ```
/// use warden::login_name::normalize;
/// assert_eq!(normalize(" USER22@Example.com "), "user22@example.com");
/// // Fullwidth look-alikes, and an ideographic space, are the same name.
/// assert_eq!(normalize("\u{3000}ｕｓｅｒ２２＠ｅｘａｍｐｌｅ．ｃｏｍ"), "user22@example.com");
/// ```
pub fn normalize(name: &str) -> String {
    // NFKC first: compatibility forms can turn into capitals (U+210C is
    // "H") or into spaces (U+3000). NFKC again after lower-casing, which
    // can leave a decomposed sequence ("İ" becomes "i" + U+0307).
    let lower = name.nfkc().collect::<String>().to_lowercase();
    lower.nfkc().collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_width_and_space_variants_are_one_name() {
        let plain = "user22@example.com";
        for variant in [
            "USER22@example.com",
            " user22@example.com",
            "user22@example.com\t\n",
            "ｕｓｅｒ２２＠ｅｘａｍｐｌｅ．ｃｏｍ",
            "ＵＳＥＲ２２@EXAMPLE.COM\u{3000}",
            "\u{2003}User22@Example.Com",
        ] {
            assert_eq!(normalize(variant), plain, "{variant:?}");
        }
        assert_eq!(normalize("ﬁle"), "file");
        assert_eq!(normalize("ℌello"), "hello");
        assert_eq!(normalize("Å"), normalize("A\u{30A}"));
        assert_ne!(
            normalize("user22@example.com"),
            normalize("user23@example.com")
        );
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        // Every scalar value of planes 0 to 3 (the higher ones hold no
        // letters but tags and variation selectors), alone and between
        // letters: a stored name, normalised again at the next start or
        // lookup, must not move.
        for code in (0..=0x3FFFF_u32).chain(0xE0000..=0xE01EF) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            for text in [c.to_string(), format!("a{c}b"), format!("{c}\u{301}")] {
                let once = normalize(&text);
                assert_eq!(normalize(&once), once, "U+{code:04X} in {text:?}");
            }
        }
    }
}
