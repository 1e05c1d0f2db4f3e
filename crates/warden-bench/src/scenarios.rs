//! What each scenario sends to each system. Callers are the reader users
//! 1..=10 (see `data`), picked at random per request; ids are random over
//! the whole table (GET post), over the caller's visible articles (GET
//! article), or over the articles the caller may not see (forbidden).

use crate::data::{PASSWORD, READERS, Shape, Tokens};
use crate::load::{Generator, Request, Rng};
use crate::pocketbase;
use axum::http::Method;
use bytes::Bytes;
use std::sync::Arc;

/// PocketBase's label; `pocketbase::VERSION` is the one it names.
pub const POCKETBASE: &str = "PocketBase 0.40.6";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    Warden,
    /// Hand-written axum + sqlx, same SQL, authenticating as seed 000
    /// does: the bearer JWT verified, the caller's row and session loaded.
    Floor,
    /// The same floor with no authentication: the caller from `?user=`.
    FloorNoAuth,
    /// The no-auth floor listing with the one `author_id = ? OR id IN
    /// (SELECT article_id FROM acl WHERE user_id = ?)` warden emitted before
    /// the list read each alternative in key order.
    FloorOr,
    Fastapi,
    /// PocketBase from PyPI, its own rules and auth endpoint (`pocketbase`).
    PocketBase,
}

impl System {
    pub fn label(self) -> &'static str {
        match self {
            System::Warden => "warden",
            System::Floor => "floor (axum+sqlx+JWT)",
            System::FloorNoAuth => "floor, no auth",
            System::FloorOr => "floor, one OR",
            System::Fastapi => "FastAPI",
            System::PocketBase => POCKETBASE,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// GET one post by random id over the table, logged in (seed 000).
    GetPost,
    /// The same, anonymous: warden without the per-request caller load.
    GetPostAnon,
    /// GET one article the caller may see (ACL rule as a per-row flag).
    GetArticle,
    /// GET one article the caller may not see: 403.
    GetForbidden,
    /// GET page 1 (limit 20) of the articles the caller may see (~0.1%).
    ListAcl,
    /// PATCH the title of one of the caller's own posts.
    PatchOwn,
    /// POST /auth/token, password grant (one argon2id verification).
    Token,
    /// 60% GetPost, 15% GetArticle, 5% GetForbidden, 15% ListAcl, 5% PatchOwn.
    Mixed,
}

pub const ALL: [Scenario; 8] = [
    Scenario::GetPost,
    Scenario::GetPostAnon,
    Scenario::GetArticle,
    Scenario::GetForbidden,
    Scenario::ListAcl,
    Scenario::PatchOwn,
    Scenario::Mixed,
    // Last: argon2id's 19 MiB per verification stays in the allocator and
    // would raise every later scenario's peak RSS.
    Scenario::Token,
];

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::GetPost => "get_post",
            Scenario::GetPostAnon => "get_post_anon",
            Scenario::GetArticle => "get_article",
            Scenario::GetForbidden => "get_forbidden",
            Scenario::ListAcl => "list_acl",
            Scenario::PatchOwn => "patch_own",
            Scenario::Token => "token",
            Scenario::Mixed => "mixed",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::GetPost => "GET /posts/{random id}, bearer token",
            Scenario::GetPostAnon => "GET /posts/{random id}, anonymous",
            Scenario::GetArticle => "GET /articles/{id} visible via owner/ACL rule",
            Scenario::GetForbidden => "GET /articles/{id} not visible: 403 (PocketBase: 404)",
            Scenario::ListAcl => "GET /articles?limit=20, caller sees ~0.1%",
            Scenario::PatchOwn => "PATCH /posts/{own id} {title}",
            Scenario::Token => {
                "POST /auth/token (argon2id verify; PocketBase: auth-with-password, bcrypt)"
            }
            Scenario::Mixed => "60% get_post 15% get_article 5% 403 15% list 5% patch",
        }
    }

    pub fn systems(self) -> &'static [System] {
        match self {
            Scenario::GetPostAnon => &[System::Warden, System::Floor, System::FloorNoAuth],
            Scenario::ListAcl => &[
                System::Warden,
                System::Floor,
                System::FloorNoAuth,
                System::FloorOr,
                System::Fastapi,
                System::PocketBase,
            ],
            // One password grant: authentication is what it measures.
            Scenario::Token => &[
                System::Warden,
                System::Floor,
                System::Fastapi,
                System::PocketBase,
            ],
            Scenario::Mixed => &[
                System::Warden,
                System::Floor,
                System::FloorNoAuth,
                System::Fastapi,
            ],
            Scenario::GetPost
            | Scenario::GetArticle
            | Scenario::GetForbidden
            | Scenario::PatchOwn => &[
                System::Warden,
                System::Floor,
                System::FloorNoAuth,
                System::Fastapi,
                System::PocketBase,
            ],
        }
    }
}

/// What a generator needs to know.
#[derive(Clone)]
pub struct Context {
    pub shape: Shape,
    pub tokens: Tokens,
    visible: Arc<Vec<Vec<u64>>>,
    owned: Arc<Vec<Vec<u64>>>,
}

impl Context {
    pub fn new(shape: Shape, tokens: Tokens) -> Context {
        let visible = (1..=READERS).map(|u| shape.visible_ids(u)).collect();
        let owned = (1..=READERS).map(|u| shape.owned_ids(u)).collect();
        Context {
            shape,
            tokens,
            visible: Arc::new(visible),
            owned: Arc::new(owned),
        }
    }
}

pub fn generator(system: System, scenario: Scenario, context: Context) -> Generator {
    Arc::new(move |rng: &mut Rng| request(system, scenario, &context, rng))
}

fn request(system: System, scenario: Scenario, cx: &Context, rng: &mut Rng) -> Request {
    let user = rng.below(READERS) + 1;
    let no_auth = matches!(system, System::FloorNoAuth | System::FloorOr);
    let token = if no_auth {
        None
    } else {
        cx.tokens.0.get((user - 1) as usize).cloned()
    };
    let (posts, articles) = match system {
        System::Warden => ("/api/posts", "/api/articles"),
        System::FloorNoAuth | System::FloorOr => ("/no-auth/posts", "/no-auth/articles"),
        System::Floor | System::Fastapi => ("/posts", "/articles"),
        System::PocketBase => (pocketbase::POSTS, pocketbase::ARTICLES),
    };
    let as_user = if no_auth {
        format!("user={user}")
    } else {
        String::new()
    };
    let query = |extra: &str| -> String {
        let parts: Vec<&str> = [extra, as_user.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    };
    let get = |path: String, token: Option<Arc<str>>, expect: u16| Request {
        method: Method::GET,
        path,
        body: None,
        token,
        expect,
    };
    match scenario {
        Scenario::GetPost => {
            let id = rng.below(cx.shape.rows) + 1;
            get(format!("{posts}/{id}"), token, 200)
        }
        Scenario::GetPostAnon => {
            let id = rng.below(cx.shape.rows) + 1;
            get(format!("{posts}/{id}"), None, 200)
        }
        Scenario::GetArticle => {
            let id = *rng.pick(&cx.visible[(user - 1) as usize]);
            get(format!("{articles}/{id}{}", query("")), token, 200)
        }
        Scenario::GetForbidden => {
            let id = loop {
                let id = rng.below(cx.shape.rows) + 1;
                if !cx.shape.visible_to(user, id) {
                    break id;
                }
            };
            // PocketBase answers a view its rule refuses with 404.
            let refused = if system == System::PocketBase {
                404
            } else {
                403
            };
            get(format!("{articles}/{id}{}", query("")), token, refused)
        }
        Scenario::ListAcl => {
            let form = match system {
                System::FloorOr => "limit=20&form=or",
                System::PocketBase => pocketbase::LIST_QUERY,
                _ => "limit=20",
            };
            get(format!("{articles}{}", query(form)), token, 200)
        }
        Scenario::PatchOwn => {
            let id = *rng.pick(&cx.owned[(user - 1) as usize]);
            let body = format!("{{\"title\":\"edited {}\"}}", rng.below(1_000_000));
            Request {
                method: Method::PATCH,
                path: format!("{posts}/{id}{}", query("")),
                body: Some(("application/json", Bytes::from(body))),
                token,
                expect: 200,
            }
        }
        Scenario::Token => {
            let who = rng.below(cx.shape.users) + 1;
            if system == System::PocketBase {
                pocketbase::token_request(who)
            } else {
                token_request(who)
            }
        }
        Scenario::Mixed => {
            let roll = rng.below(100);
            let pick = match roll {
                0..60 => Scenario::GetPost,
                60..75 => Scenario::GetArticle,
                75..80 => Scenario::GetForbidden,
                80..95 => Scenario::ListAcl,
                _ => Scenario::PatchOwn,
            };
            request(system, pick, cx, rng)
        }
    }
}

/// The password grant for `user<who>@bench.test`.
pub fn token_request(who: u64) -> Request {
    let body = format!("grant_type=password&username=user{who}%40bench.test&password={PASSWORD}");
    Request {
        method: Method::POST,
        path: "/auth/token".to_owned(),
        body: Some(("application/x-www-form-urlencoded", Bytes::from(body))),
        token: None,
        expect: 200,
    }
}
