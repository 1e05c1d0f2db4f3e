//! Where a browser goes back to after logging in (`next`): a path on this
//! site, judged the way the browser will read the `Location` header — as
//! a WHATWG URL (the `url` crate), which drops tabs and newlines anywhere,
//! trims control characters and spaces, and reads `\` as `/`. It must not
//! pass on anything a browser could resolve to another origin.

use url::Url;

/// A host no request can name (RFC 6761 `.invalid`): the base `next` is
/// resolved against, so any other origin shows as a different one.
const BASE: &str = "http://warden.invalid/";

/// `next` as a path (with its query and fragment) on this site, as the
/// URL parser normalised it; `fallback` when it is absent or could leave
/// the site.
pub fn local_path(next: Option<&str>, fallback: &str) -> String {
    next.and_then(same_site_path)
        .unwrap_or_else(|| fallback.to_owned())
}

fn same_site_path(next: &str) -> Option<String> {
    // What the browser sees once it has dropped what it ignores: it must
    // start with exactly one slash (`//host` and `/\host` name a host).
    let seen: String = next
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    let seen = seen.trim_matches(|c: char| c <= ' ');
    if !seen.starts_with('/') || seen.starts_with("//") {
        return None;
    }
    let base = Url::parse(BASE).ok()?;
    let url = base.join(next).ok()?;
    if url.origin() != base.origin() {
        return None;
    }
    // Dot segments can leave two slashes in front (`/.//evil.example`
    // becomes `//evil.example`), which would name a host again.
    let path = url.path();
    if path.starts_with("//") {
        return None;
    }
    let mut local = path.to_owned();
    if let Some(query) = url.query() {
        local.push('?');
        local.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        local.push('#');
        local.push_str(fragment);
    }
    Some(local)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    fn next(value: &str) -> String {
        local_path(Some(value), "/fallback")
    }

    #[test]
    fn paths_on_this_site_pass_normalised() {
        for (given, expected) in [
            ("/ui", "/ui"),
            (
                "/ui/posts?search=a%20b&sort=-id",
                "/ui/posts?search=a%20b&sort=-id",
            ),
            ("/api/posts/4#top", "/api/posts/4#top"),
            ("/", "/"),
            // Ignored characters go, as the browser drops them.
            ("/u\ti", "/ui"),
            (" /ui ", "/ui"),
            ("\u{0}/ui", "/ui"),
            // Encoded, a tab or slash is a path character, not a host.
            ("/%09/evil.example", "/%09/evil.example"),
            ("/%2F/evil.example", "/%2F/evil.example"),
            // What the header cannot carry raw is encoded.
            ("/ui/café", "/ui/caf%C3%A9"),
            ("/ui/a b", "/ui/a%20b"),
            ("/ui/../api", "/api"),
            ("/ui?next=//evil.example", "/ui?next=//evil.example"),
        ] {
            assert_eq!(next(given), expected, "{given:?}");
        }
    }

    #[test]
    fn anything_a_browser_reads_as_another_origin_falls_back() {
        for hostile in [
            "//evil.example",
            "///evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            "/\t\r\n/evil.example",
            " //evil.example",
            "\u{1}//evil.example",
            "\u{1f}/\t/evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "\\\\evil.example",
            "/\t\\evil.example",
            "/.//evil.example",
            "/..//evil.example",
            "/%2e//evil.example",
            "/%2E%2E//evil.example",
            "/./\t/evil.example",
            "https://evil.example",
            "http://evil.example/ui",
            "HTTPS://evil.example",
            "https:evil.example",
            "http:\\\\evil.example",
            "//warden.invalid/ui",
            "http://warden.invalid/ui",
            "javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "evil.example",
            "ui",
            "?next=/ui",
            "#/ui",
            "",
            " ",
        ] {
            assert_eq!(next(hostile), "/fallback", "{hostile:?}");
        }
        assert_eq!(local_path(None, "/ui"), "/ui");
    }
}
