//! Login cross-site request forgery. A login has no session, hence no
//! CSRF token yet: [`login_from_this_site`] refuses one that another
//! site's page sent. (A session's own CSRF token is checked by the caller
//! extractor, `auth::caller`.) It must not read bodies.

use axum::http::header::{HOST, ORIGIN};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Uri};

/// A login that another site's page sent, and how that showed.
#[derive(Debug, thiserror::Error)]
#[error("a login must come from this site's own pages; {0}")]
pub struct CrossSiteLogin(&'static str);

/// Refuses a login that another site's page sent (login CSRF: the victim's
/// browser would be logged into the attacker's account, and whatever the
/// victim then types would be the attacker's to read).
///
/// Browsers say where a request comes from. `Sec-Fetch-Site` (sent by
/// current browsers) must be `same-origin`, or `none` (typed or
/// bookmarked: no page sent it); `same-site` is refused too, because a
/// sibling subdomain is another origin. Without it, `Origin` (sent by
/// every browser on a cross-origin `POST`) must name this server: its host
/// and port equal the request's `Host` (or, with `trust_proxy_headers`,
/// `X-Forwarded-Host`, and then its scheme equals `X-Forwarded-Proto` when
/// the proxy sends one). A request with neither header comes from no
/// browser (a script, `curl`): no page can make a browser send that, so it
/// passes.
pub fn login_from_this_site(
    headers: &HeaderMap,
    uri: &Uri,
    trust_proxy_headers: bool,
) -> Result<(), CrossSiteLogin> {
    let refused = |why: &'static str| Err(CrossSiteLogin(why));
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().map(str::trim) {
            Ok(site) if site.eq_ignore_ascii_case("same-origin") => Ok(()),
            Ok(site) if site.eq_ignore_ascii_case("none") => Ok(()),
            _ => refused("Sec-Fetch-Site says another site sent it"),
        };
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    // `Origin: null` (sandboxed frames, some redirects) names no site.
    let Some(origin) = origin
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse::<Uri>().ok())
        .filter(|uri| uri.path_and_query().is_none_or(|p| p.as_str() == "/"))
    else {
        return refused("its Origin names no site");
    };
    let (Some(scheme), Some(authority)) = (origin.scheme_str(), origin.authority()) else {
        return refused("its Origin names no site");
    };
    let last = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|list| list.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let forwarded_host = trust_proxy_headers
        .then(|| last("x-forwarded-host"))
        .flatten();
    let host = forwarded_host
        .or_else(|| headers.get(HOST).and_then(|v| v.to_str().ok()))
        .and_then(|host| host.trim().parse::<Authority>().ok())
        .or_else(|| uri.authority().cloned());
    let same_host = host.is_some_and(|host| {
        host.host().eq_ignore_ascii_case(authority.host())
            && host.port_u16() == authority.port_u16()
    });
    let forwarded_proto = trust_proxy_headers
        .then(|| last("x-forwarded-proto"))
        .flatten();
    let same_scheme = forwarded_proto.is_none_or(|proto| proto.eq_ignore_ascii_case(scheme));
    if same_host && same_scheme {
        Ok(())
    } else {
        refused("its Origin is another site")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn check(pairs: &[(&'static str, &'static str)], trust: bool) -> bool {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        login_from_this_site(&headers, &Uri::from_static("/auth/login"), trust).is_ok()
    }

    #[test]
    fn logins_from_other_sites_are_refused() {
        let host = ("host", "app.example:8080");
        assert!(check(&[host], false), "no browser headers: a script");
        assert!(check(&[host, ("origin", "http://app.example:8080")], false));
        assert!(check(
            &[host, ("origin", "https://APP.example:8080")],
            false
        ));
        assert!(check(&[host, ("sec-fetch-site", "same-origin")], false));
        assert!(check(&[host, ("sec-fetch-site", "none")], false));
        for refused in [
            vec![host, ("origin", "https://evil.example")],
            vec![host, ("origin", "http://app.example")],
            vec![host, ("origin", "http://app.example:8081")],
            vec![host, ("origin", "null")],
            vec![host, ("origin", "http://app.example:8080/path")],
            vec![host, ("sec-fetch-site", "cross-site")],
            vec![host, ("sec-fetch-site", "same-site")],
            // The browser's own verdict wins over a matching Origin.
            vec![
                host,
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://app.example:8080"),
            ],
            vec![("origin", "http://app.example:8080")],
        ] {
            assert!(!check(&refused, false), "{refused:?}");
        }
    }

    #[test]
    fn forwarded_host_and_scheme_count_only_from_a_trusted_proxy() {
        let behind = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "app.example"),
            ("x-forwarded-proto", "https"),
            ("origin", "https://app.example"),
        ];
        assert!(check(&behind, true));
        assert!(!check(&behind, false), "forwarded headers are not trusted");
        let wrong_scheme = [
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-host", "app.example"),
            ("x-forwarded-proto", "https"),
            ("origin", "http://app.example"),
        ];
        assert!(!check(&wrong_scheme, true));
    }
}
