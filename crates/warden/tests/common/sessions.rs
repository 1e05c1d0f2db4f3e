//! The sessions an account can hold (a token family, a cookie session)
//! and whether each still authenticates: for tests of what ends them. It
//! changes nothing on the server but by logging in.

use super::{PASSWORD, TestApp};
use reqwest::Method;

/// A password grant: (access token, refresh token).
pub async fn tokens(app: &TestApp, user: &str, password: &str) -> Option<(String, String)> {
    let reply = app.password_grant(user, password).await;
    (reply.status == 200).then(|| reply.tokens())
}

pub async fn refreshes(app: &TestApp, refresh_token: &str) -> bool {
    app.refresh(refresh_token).await.status == 200
}

/// Whether a bearer token still authenticates, on `/auth/me` and on a
/// read of a row.
pub async fn token_works(app: &TestApp, access: &str, id: i64) -> bool {
    let me = app
        .raw(Method::GET, "/auth/me", Some(access), &[], None)
        .await;
    let read = app
        .raw(
            Method::GET,
            &format!("/api/users/{id}"),
            Some(access),
            &[],
            None,
        )
        .await;
    assert_eq!(
        me.status == 200,
        read.status == 200,
        "{} / {}",
        me.text,
        read.text
    );
    me.status == 200
}

pub async fn cookie_works(app: &TestApp, cookie: &str) -> bool {
    let me = app
        .raw(Method::GET, "/auth/me", None, &[("cookie", cookie)], None)
        .await;
    me.status == 200
}

/// Logs in, two token families and a cookie session, and uses the first
/// token once.
pub struct Sessions {
    pub access: String,
    pub refresh: String,
    pub cookie: String,
}

pub async fn sessions(app: &TestApp, user: &str, id: i64) -> Sessions {
    let (access, refresh) = tokens(app, user, PASSWORD).await.expect("login");
    for _ in 0..2 {
        assert!(token_works(app, &access, id).await);
    }
    let cookie = app.cookie_login(user).await.cookie;
    Sessions {
        access,
        refresh,
        cookie,
    }
}

pub async fn assert_all_ended(app: &TestApp, ended: &Sessions, id: i64, context: &str) {
    assert!(
        !token_works(app, &ended.access, id).await,
        "{context}: access token"
    );
    assert!(!cookie_works(app, &ended.cookie).await, "{context}: cookie");
    assert!(
        !refreshes(app, &ended.refresh).await,
        "{context}: refresh token"
    );
}
