//! Black-box tests of the RealWorld example: every path of the spec, the
//! denials warden's rules make (401, 403, 404, 409, 422) and the list
//! filters, on SQLite and (with `WARDEN_TEST_POSTGRES`) PostgreSQL.

use reqwest::Method;
use serde_json::{Value as Json, json};
use std::path::Path;
use warden_testkit::{TestDatabase, TestServer, backends};

const SECRET: &str = "realworld-example-test-secret-of-40-bytes";

struct Conduit {
    server: TestServer,
    _database: TestDatabase,
}

impl Conduit {
    /// `method /api<path>` with an optional `Authorization` value.
    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: Option<Json>,
    ) -> (u16, Json) {
        self.server
            .call(method, &format!("/api{path}"), auth, body)
            .await
    }

    /// Registers `name` (email `name@example.com`, password
    /// `password123`) and returns `Token <jwt>`.
    async fn register(&self, name: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/users",
                None,
                Some(json!({"user": {"username": name, "email": format!("{name}@example.com"), "password": "password123"}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        format!("Token {}", body["user"]["token"].as_str().expect("token"))
    }

    /// Creates an article and returns its slug.
    async fn article(&self, auth: &str, title: &str, tags: &[&str]) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/articles",
                Some(auth),
                Some(json!({"article": {"title": title, "description": "about it", "body": "the text", "tagList": tags}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["article"]["slug"].as_str().expect("slug").to_owned()
    }

    /// The slugs of `GET /api<path>` and its `articlesCount`.
    async fn slugs(&self, path: &str, auth: Option<&str>) -> (Vec<String>, i64) {
        let (status, body) = self.call(Method::GET, path, auth, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        let slugs = body["articles"]
            .as_array()
            .expect("articles")
            .iter()
            .map(|a| a["slug"].as_str().expect("slug").to_owned())
            .collect();
        (
            slugs,
            body["articlesCount"].as_i64().expect("articlesCount"),
        )
    }
}

async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Conduit) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("warden.toml");
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let warden = warden::Warden::from_file(&config)
            .database(&database.url)
            .jwt_secret(SECRET)
            .build()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let server = TestServer::spawn(warden_example_realworld::app(warden)).await;
        scenario(Conduit {
            server,
            _database: database,
        })
        .await;
    }
}

/// The one key of an `{"errors": {…}}` body.
fn error_key(body: &Json) -> String {
    let errors = body["errors"].as_object().expect("an errors object");
    assert!(
        errors
            .values()
            .all(|v| v.as_array().is_some_and(|m| !m.is_empty())),
        "{body}"
    );
    errors.keys().next().expect("one key").clone()
}

/// Every key of an `{"errors": {…}}` body, sorted.
fn error_keys(body: &Json) -> Vec<String> {
    let mut keys: Vec<String> = body["errors"]
        .as_object()
        .expect("an errors object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn registration_and_login_answer_the_user_with_a_token() {
    on_each_backend(|app| async move {
        let (status, body) = app
            .call(Method::POST, "/users", None, Some(json!({"user": {"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}})))
            .await;
        assert_eq!(status, 201, "{body}");
        let user = &body["user"];
        assert_eq!((&user["username"], &user["email"]), (&json!("jake"), &json!("jake@jake.jake")));
        assert_eq!((&user["bio"], &user["image"]), (&Json::Null, &Json::Null));
        assert!(user.get("password").is_none(), "{body}");

        let (status, login) = app
            .call(Method::POST, "/users/login", None, Some(json!({"user": {"email": "jake@jake.jake", "password": "jakejake"}})))
            .await;
        assert_eq!(status, 200, "{login}");
        let token = format!("Token {}", login["user"]["token"].as_str().expect("token"));
        let (status, me) = app.call(Method::GET, "/user", Some(&token), None).await;
        assert_eq!(status, 200, "{me}");
        assert_eq!(me["user"]["username"], json!("jake"));
        assert_eq!(me["user"]["token"], login["user"]["token"], "the token sent comes back");

        let (status, wrong) = app
            .call(Method::POST, "/users/login", None, Some(json!({"user": {"email": "jake@jake.jake", "password": "not-his-password"}})))
            .await;
        assert_eq!(status, 401, "{wrong}");
        assert_eq!(wrong, json!({"errors": {"credentials": ["invalid"]}}));
        let (status, unknown) = app
            .call(Method::POST, "/users/login", None, Some(json!({"user": {"email": "nobody@jake.jake", "password": "jakejake"}})))
            .await;
        assert_eq!((status, unknown), (401, wrong), "an unknown email answers alike");
    })
    .await;
}

#[tokio::test]
async fn a_taken_username_or_email_is_409() {
    on_each_backend(|app| async move {
        app.register("jake").await;
        let (status, body) = app
            .call(Method::POST, "/users", None, Some(json!({"user": {"username": "jake", "email": "other@example.com", "password": "password123"}})))
            .await;
        assert_eq!((status, error_key(&body)), (409, "username".to_owned()), "{body}");
        let (status, body) = app
            .call(Method::POST, "/users", None, Some(json!({"user": {"username": "other", "email": "jake@example.com", "password": "password123"}})))
            .await;
        assert_eq!((status, error_key(&body)), (409, "email".to_owned()), "{body}");
    })
    .await;
}

#[tokio::test]
async fn bad_registrations_and_logins_are_422() {
    on_each_backend(|app| async move {
        let (status, body) = app
            .call(Method::POST, "/users", None, Some(json!({"user": {"username": "", "password": "password123"}})))
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error_keys(&body), ["email", "username"], "{body}");
        let (status, body) = app
            .call(Method::POST, "/users", None, Some(json!({"user": {"username": "a", "email": "a@example.com", "password": "short"}})))
            .await;
        assert_eq!((status, error_key(&body)), (422, "password".to_owned()), "{body}");
        for bad in [json!({"username": "a"}), json!([1]), json!({"user": "jake"})] {
            let (status, body) = app.call(Method::POST, "/users", None, Some(bad.clone())).await;
            assert_eq!(status, 422, "{bad}: {body}");
            error_key(&body);
        }
        let (status, body) = app
            .call(Method::POST, "/users/login", None, Some(json!({"user": {"email": "a@example.com"}})))
            .await;
        assert_eq!((status, error_key(&body)), (422, "password".to_owned()), "{body}");
    })
    .await;
}

#[tokio::test]
async fn the_current_user_needs_a_valid_token() {
    on_each_backend(|app| async move {
        let (status, body) = app.call(Method::GET, "/user", None, None).await;
        assert_eq!(
            (status, error_key(&body)),
            (401, "token".to_owned()),
            "{body}"
        );
        let (status, body) = app
            .call(Method::GET, "/user", Some("Token not.a.jwt"), None)
            .await;
        assert_eq!(
            (status, error_key(&body)),
            (401, "token".to_owned()),
            "{body}"
        );
        let (status, _) = app
            .call(
                Method::PUT,
                "/user",
                None,
                Some(json!({"user": {"bio": "x"}})),
            )
            .await;
        assert_eq!(status, 401);
    })
    .await;
}

#[tokio::test]
async fn a_user_updates_themselves() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        app.register("taken").await;
        let (status, body) = app
            .call(Method::PUT, "/user", Some(&jake), Some(json!({"user": {"bio": "I work at statefarm", "image": "https://i.example/j.png", "email": "jake@jake.jake"}})))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["bio"], json!("I work at statefarm"));
        assert_eq!(body["user"]["email"], json!("jake@jake.jake"));
        // A new password needs the current one (warden's rule, beyond the spec).
        let (status, body) = app
            .call(Method::PUT, "/user", Some(&jake), Some(json!({"user": {"password": "a-new-password"}})))
            .await;
        assert_eq!((status, error_key(&body)), (422, "current_password".to_owned()), "{body}");
        let (status, body) = app
            .call(Method::PUT, "/user", Some(&jake), Some(json!({"user": {"password": "a-new-password", "current_password": "password123", "image": null}})))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["user"]["image"], Json::Null);
        let (status, _) = app
            .call(Method::POST, "/users/login", None, Some(json!({"user": {"email": "jake@jake.jake", "password": "a-new-password"}})))
            .await;
        assert_eq!(status, 200, "new email and password log in");

        let (status, body) = app
            .call(Method::PUT, "/user", Some(&jake), Some(json!({"user": {"username": "taken"}})))
            .await;
        assert_eq!((status, error_key(&body)), (409, "username".to_owned()), "{body}");
        for bad in [json!({"user": {}}), json!({"user": {"id": 2}}), json!({"user": {"username": " "}}), json!({"user": {"bio": 5}})] {
            let (status, body) = app.call(Method::PUT, "/user", Some(&jake), Some(bad.clone())).await;
            assert_eq!(status, 422, "{bad}: {body}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_blank_bio_or_image_is_stored_as_null() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        for field in ["bio", "image"] {
            let (status, body) = app
                .call(
                    Method::PUT,
                    "/user",
                    Some(&jake),
                    Some(json!({"user": {field: "something"}})),
                )
                .await;
            assert_eq!(
                (status, &body["user"][field]),
                (200, &json!("something")),
                "{body}"
            );
            for blank in ["", "  "] {
                let (status, body) = app
                    .call(
                        Method::PUT,
                        "/user",
                        Some(&jake),
                        Some(json!({"user": {field: blank}})),
                    )
                    .await;
                assert_eq!(
                    (status, &body["user"][field]),
                    (200, &Json::Null),
                    "{field} {blank:?}: {body}"
                );
                let (_, me) = app.call(Method::GET, "/user", Some(&jake), None).await;
                assert_eq!(
                    me["user"][field],
                    Json::Null,
                    "{field} {blank:?} stored as null"
                );
            }
        }
        let (_, profile) = app.call(Method::GET, "/profiles/jake", None, None).await;
        assert_eq!(
            (&profile["profile"]["bio"], &profile["profile"]["image"]),
            (&Json::Null, &Json::Null)
        );
    })
    .await;
}

#[tokio::test]
async fn a_null_email_username_or_password_is_422_and_changes_nothing() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        for field in ["email", "username", "password"] {
            let (status, body) = app
                .call(
                    Method::PUT,
                    "/user",
                    Some(&jake),
                    Some(json!({"user": {field: null}})),
                )
                .await;
            assert_eq!(
                (status, error_key(&body)),
                (422, field.to_owned()),
                "{body}"
            );
        }
        // The policy is checked before the current password is asked for.
        let (status, body) = app
            .call(
                Method::PUT,
                "/user",
                Some(&jake),
                Some(json!({"user": {"password": "short7c", "current_password": "password123"}})),
            )
            .await;
        assert_eq!(
            (status, error_key(&body)),
            (422, "password".to_owned()),
            "{body}"
        );
        let (_, me) = app.call(Method::GET, "/user", Some(&jake), None).await;
        assert_eq!(
            (&me["user"]["email"], &me["user"]["username"]),
            (&json!("jake@example.com"), &json!("jake"))
        );
        let (status, _) = app
            .call(
                Method::POST,
                "/users/login",
                None,
                Some(json!({"user": {"email": "jake@example.com", "password": "password123"}})),
            )
            .await;
        assert_eq!(status, 200, "the password is unchanged");
    })
    .await;
}

#[tokio::test]
async fn profiles_follow_and_unfollow() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        app.register("celeb").await;
        let (status, body) = app.call(Method::GET, "/profiles/celeb", None, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["profile"],
            json!({"username": "celeb", "bio": null, "image": null, "following": false})
        );
        assert!(body["profile"].get("email").is_none());

        let (status, body) = app
            .call(Method::POST, "/profiles/celeb/follow", Some(&jake), None)
            .await;
        assert_eq!(
            (status, &body["profile"]["following"]),
            (200, &json!(true)),
            "{body}"
        );
        let (status, body) = app
            .call(Method::POST, "/profiles/celeb/follow", Some(&jake), None)
            .await;
        assert_eq!(
            (status, &body["profile"]["following"]),
            (200, &json!(true)),
            "twice: {body}"
        );
        let (_, body) = app
            .call(Method::GET, "/profiles/celeb", Some(&jake), None)
            .await;
        assert_eq!(body["profile"]["following"], json!(true));
        let (_, body) = app.call(Method::GET, "/profiles/celeb", None, None).await;
        assert_eq!(
            body["profile"]["following"],
            json!(false),
            "anonymous follows nobody"
        );

        let (status, body) = app
            .call(Method::DELETE, "/profiles/celeb/follow", Some(&jake), None)
            .await;
        assert_eq!(
            (status, &body["profile"]["following"]),
            (200, &json!(false)),
            "{body}"
        );
        let (status, _) = app
            .call(Method::DELETE, "/profiles/celeb/follow", Some(&jake), None)
            .await;
        assert_eq!(status, 200, "unfollowing twice");

        let (status, body) = app.call(Method::GET, "/profiles/nobody", None, None).await;
        assert_eq!((status, error_key(&body)), (404, "profile".to_owned()));
        let (status, _) = app
            .call(Method::POST, "/profiles/nobody/follow", Some(&jake), None)
            .await;
        assert_eq!(status, 404);
        let (status, _) = app
            .call(Method::POST, "/profiles/celeb/follow", None, None)
            .await;
        assert_eq!(status, 401);
    })
    .await;
}

#[tokio::test]
async fn an_author_creates_reads_updates_and_deletes_an_article() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let slug = app
            .article(&jake, "How to train your dragon", &["training", "dragons"])
            .await;
        assert!(slug.starts_with("how-to-train-your-dragon-"), "{slug}");

        let (status, body) = app
            .call(Method::GET, &format!("/articles/{slug}"), None, None)
            .await;
        assert_eq!(status, 200, "{body}");
        let article = &body["article"];
        assert_eq!(article["title"], json!("How to train your dragon"));
        assert_eq!(article["body"], json!("the text"));
        assert_eq!(article["tagList"], json!(["dragons", "training"]));
        assert_eq!(
            (&article["favorited"], &article["favoritesCount"]),
            (&json!(false), &json!(0))
        );
        assert_eq!(article["author"]["username"], json!("jake"));
        assert!(
            article["createdAt"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z') && t.contains('T'))
        );

        let (status, body) = app
            .call(
                Method::PUT,
                &format!("/articles/{slug}"),
                Some(&jake),
                Some(json!({"article": {"body": "With two hands", "title": "A new title"}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["article"]["body"], json!("With two hands"));
        assert_eq!(body["article"]["title"], json!("A new title"));
        assert_eq!(body["article"]["slug"], json!(slug), "the slug stays");
        assert!(body["article"]["updatedAt"].as_str() > article["updatedAt"].as_str());

        let (status, body) = app
            .call(
                Method::PUT,
                &format!("/articles/{slug}"),
                Some(&jake),
                Some(json!({"article": {"tagList": ["training", "fire"]}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["article"]["tagList"],
            json!(["fire", "training"]),
            "alphabetical"
        );
        let (_, tags) = app.call(Method::GET, "/tags", None, None).await;
        assert_eq!(tags["tags"], json!(["fire", "training"]));

        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("/articles/{slug}"),
                Some(&jake),
                None,
            )
            .await;
        assert_eq!((status, body), (204, Json::Null));
        let (status, body) = app
            .call(Method::GET, &format!("/articles/{slug}"), None, None)
            .await;
        assert_eq!((status, error_key(&body)), (404, "article".to_owned()));
        let (_, tags) = app.call(Method::GET, "/tags", None, None).await;
        assert_eq!(tags["tags"], json!([]), "its tags went with it");
    })
    .await;
}

#[tokio::test]
async fn only_the_author_updates_or_deletes_an_article() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let other = app.register("other").await;
        let slug = app.article(&jake, "Mine", &["mine"]).await;
        let path = format!("/articles/{slug}");
        let (status, body) = app
            .call(
                Method::PUT,
                &path,
                Some(&other),
                Some(json!({"article": {"body": "defaced", "tagList": []}})),
            )
            .await;
        assert_eq!(
            (status, error_key(&body)),
            (403, "article".to_owned()),
            "{body}"
        );
        let (status, body) = app.call(Method::DELETE, &path, Some(&other), None).await;
        assert_eq!(
            (status, error_key(&body)),
            (403, "article".to_owned()),
            "{body}"
        );
        let (status, body) = app
            .call(
                Method::PUT,
                &path,
                None,
                Some(json!({"article": {"body": "x"}})),
            )
            .await;
        assert_eq!((status, error_key(&body)), (401, "token".to_owned()));
        let (status, _) = app.call(Method::DELETE, &path, None, None).await;
        assert_eq!(status, 401);
        let (_, body) = app.call(Method::GET, &path, None, None).await;
        assert_eq!(body["article"]["body"], json!("the text"), "unchanged");
        assert_eq!(
            body["article"]["tagList"],
            json!(["mine"]),
            "tags unchanged"
        );
    })
    .await;
}

#[tokio::test]
async fn a_null_article_field_is_422_and_changes_nothing() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let slug = app.article(&jake, "Kept", &["kept"]).await;
        let path = format!("/articles/{slug}");
        for (field, message) in [
            ("title", "can't be blank"),
            ("description", "can't be blank"),
            ("body", "can't be blank"),
            ("tagList", "can't be null"),
        ] {
            // Beside a valid change, which must not be written either.
            let mut article = json!({"title": "Changed?", "body": "changed?"});
            article[field] = Json::Null;
            let (status, body) = app
                .call(Method::PUT, &path, Some(&jake), Some(json!({"article": article})))
                .await;
            assert_eq!((status, body), (422, json!({"errors": {field: [message]}})), "{field}: null");
        }
        let (_, body) = app.call(Method::GET, &path, None, None).await;
        let article = &body["article"];
        assert_eq!(
            (&article["title"], &article["description"], &article["body"], &article["tagList"]),
            (&json!("Kept"), &json!("about it"), &json!("the text"), &json!(["kept"])),
            "nothing changed"
        );
        // Left out, a member stays; `[]` removes every tag.
        let (status, body) = app
            .call(Method::PUT, &path, Some(&jake), Some(json!({"article": {"body": "new text"}})))
            .await;
        assert_eq!((status, &body["article"]["tagList"]), (200, &json!(["kept"])), "{body}");
        let (status, body) = app
            .call(Method::PUT, &path, Some(&jake), Some(json!({"article": {"tagList": []}})))
            .await;
        assert_eq!((status, &body["article"]["tagList"]), (200, &json!([])), "{body}");
        // On create too, a null tagList is refused before anything is written.
        let (status, body) = app
            .call(Method::POST, "/articles", Some(&jake), Some(json!({"article": {"title": "t", "description": "d", "body": "b", "tagList": null}})))
            .await;
        assert_eq!((status, error_key(&body)), (422, "tagList".to_owned()), "{body}");
        assert_eq!(app.slugs("/articles", None).await, (vec![slug], 1));
    })
    .await;
}

#[tokio::test]
async fn lists_leave_out_the_body_and_one_article_has_it() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let ann = app.register("ann").await;
        let slug = app.article(&ann, "Listed", &["t"]).await;
        app.call(Method::POST, "/profiles/ann/follow", Some(&jake), None)
            .await;
        app.call(
            Method::POST,
            &format!("/articles/{slug}/favorite"),
            Some(&jake),
            None,
        )
        .await;
        for (path, auth) in [
            ("/articles", None),
            ("/articles", Some(&jake)),
            ("/articles?tag=t", None),
            ("/articles?author=ann", None),
            ("/articles?favorited=jake", Some(&jake)),
            ("/articles/feed", Some(&jake)),
        ] {
            let (status, list) = app
                .call(Method::GET, path, auth.map(String::as_str), None)
                .await;
            assert_eq!(status, 200, "{path}: {list}");
            let item = list["articles"][0].as_object().expect("one article");
            assert_eq!(item["slug"], json!(slug), "{path}");
            assert!(!item.contains_key("body"), "{path}: {list}");
            assert_eq!(item["description"], json!("about it"), "{path}");
        }
        let (_, one) = app
            .call(Method::GET, &format!("/articles/{slug}"), None, None)
            .await;
        assert_eq!(one["article"]["body"], json!("the text"));
        let (_, favorited) = app
            .call(
                Method::POST,
                &format!("/articles/{slug}/favorite"),
                Some(&jake),
                None,
            )
            .await;
        assert_eq!(favorited["article"]["body"], json!("the text"));
    })
    .await;
}

#[tokio::test]
async fn creating_an_article_needs_a_login_and_its_fields() {
    on_each_backend(|app| async move {
        let article = json!({"article": {"title": "t", "description": "d", "body": "b"}});
        let (status, body) = app.call(Method::POST, "/articles", None, Some(article.clone())).await;
        assert_eq!((status, error_key(&body)), (401, "token".to_owned()), "{body}");
        let jake = app.register("jake").await;
        let (status, body) = app
            .call(Method::POST, "/articles", Some(&jake), Some(json!({"article": {"title": "t", "body": ""}})))
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error_keys(&body), ["body", "description"]);
        let (status, _) = app
            .call(Method::POST, "/articles", Some(&jake), Some(json!({"article": {"title": "t", "description": "d", "body": "b", "tagList": "x"}})))
            .await;
        assert_eq!(status, 422);
        // A bad tag is refused before anything is written.
        let (status, body) = app
            .call(
                Method::POST,
                "/articles",
                Some(&jake),
                Some(json!({"article": {"title": "nul", "description": "d", "body": "b", "tagList": ["a\0b"]}})),
            )
            .await;
        assert_eq!((status, error_key(&body)), (422, "tagList".to_owned()), "{body}");
        assert_eq!(app.slugs("/articles", None).await, (vec![], 0));
        // The author is the caller, whatever the body claims.
        let (status, body) = app
            .call(Method::POST, "/articles", Some(&jake), Some(json!({"article": {"title": "t", "description": "d", "body": "b", "author": {"username": "other"}}})))
            .await;
        assert_eq!((status, &body["article"]["author"]["username"]), (201, &json!("jake")), "{body}");
        // Equal titles get distinct slugs.
        let (_, again) = app.call(Method::POST, "/articles", Some(&jake), Some(article)).await;
        let (_, third) = app
            .call(Method::POST, "/articles", Some(&jake), Some(json!({"article": {"title": "t", "description": "d", "body": "b"}})))
            .await;
        assert_ne!(again["article"]["slug"], third["article"]["slug"]);
    })
    .await;
}

#[tokio::test]
async fn a_missing_article_is_404_everywhere() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let cases = [
            (Method::GET, "/articles/nope", None),
            (
                Method::PUT,
                "/articles/nope",
                Some(json!({"article": {"body": "x"}})),
            ),
            (Method::DELETE, "/articles/nope", None),
            (Method::POST, "/articles/nope/favorite", None),
            (Method::DELETE, "/articles/nope/favorite", None),
            (Method::GET, "/articles/nope/comments", None),
            (
                Method::POST,
                "/articles/nope/comments",
                Some(json!({"comment": {"body": "hi"}})),
            ),
            (Method::DELETE, "/articles/nope/comments/1", None),
        ];
        for (method, path, body) in cases {
            let (status, answer) = app.call(method.clone(), path, Some(&jake), body).await;
            assert_eq!(
                (status, error_key(&answer)),
                (404, "article".to_owned()),
                "{method} {path}: {answer}"
            );
        }
        let (status, body) = app.call(Method::GET, "/nowhere", None, None).await;
        assert_eq!(status, 404, "{body}");
    })
    .await;
}

#[tokio::test]
async fn favorites_count_per_article_and_flag_per_viewer() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let ann = app.register("ann").await;
        let slug = app.article(&jake, "Liked", &[]).await;
        let path = format!("/articles/{slug}/favorite");
        let (status, body) = app.call(Method::POST, &path, Some(&ann), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (
                &body["article"]["favorited"],
                &body["article"]["favoritesCount"]
            ),
            (&json!(true), &json!(1))
        );
        let (_, body) = app.call(Method::POST, &path, Some(&ann), None).await;
        assert_eq!(
            body["article"]["favoritesCount"],
            json!(1),
            "favoriting twice counts once"
        );
        let (_, body) = app.call(Method::POST, &path, Some(&jake), None).await;
        assert_eq!(body["article"]["favoritesCount"], json!(2));

        let (_, body) = app
            .call(Method::GET, &format!("/articles/{slug}"), None, None)
            .await;
        assert_eq!(
            (
                &body["article"]["favorited"],
                &body["article"]["favoritesCount"]
            ),
            (&json!(false), &json!(2))
        );
        let (_, list) = app.call(Method::GET, "/articles", Some(&ann), None).await;
        assert_eq!(list["articles"][0]["favorited"], json!(true));

        let (status, body) = app.call(Method::DELETE, &path, Some(&ann), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (
                &body["article"]["favorited"],
                &body["article"]["favoritesCount"]
            ),
            (&json!(false), &json!(1))
        );
        let (status, body) = app.call(Method::DELETE, &path, Some(&ann), None).await;
        assert_eq!(
            (status, &body["article"]["favoritesCount"]),
            (200, &json!(1)),
            "jake's favorite stays"
        );
        let (status, _) = app.call(Method::POST, &path, None, None).await;
        assert_eq!(status, 401);
    })
    .await;
}

#[tokio::test]
async fn the_list_filters_by_tag_author_and_favorited() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let ann = app.register("ann").await;
        let dragons = app
            .article(&jake, "Dragons", &["dragons", "training"])
            .await;
        let cats = app.article(&ann, "Cats", &["cats"]).await;
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/articles/{cats}/favorite"),
                Some(&jake),
                None,
            )
            .await;
        assert_eq!(status, 200);

        assert_eq!(
            app.slugs("/articles", None).await,
            (vec![cats.clone(), dragons.clone()], 2)
        );
        assert_eq!(
            app.slugs("/articles?tag=dragons", None).await,
            (vec![dragons.clone()], 1)
        );
        assert_eq!(app.slugs("/articles?tag=none", None).await, (vec![], 0));
        assert_eq!(
            app.slugs("/articles?author=ann", None).await,
            (vec![cats.clone()], 1)
        );
        assert_eq!(
            app.slugs("/articles?author=nobody", None).await,
            (vec![], 0)
        );
        assert_eq!(
            app.slugs("/articles?favorited=jake", None).await,
            (vec![cats.clone()], 1)
        );
        assert_eq!(
            app.slugs("/articles?favorited=ann", None).await,
            (vec![], 0)
        );
        assert_eq!(
            app.slugs("/articles?tag=cats&author=ann&favorited=jake", Some(&ann))
                .await,
            (vec![cats], 1)
        );
        // A tag value is bound, never SQL.
        assert_eq!(
            app.slugs("/articles?tag=x'%20OR%201=1--", None).await,
            (vec![], 0)
        );
    })
    .await;
}

#[tokio::test]
async fn limit_and_offset_page_the_list() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let first = app.article(&jake, "First", &[]).await;
        let second = app.article(&jake, "Second", &[]).await;
        let third = app.article(&jake, "Third", &[]).await;
        assert_eq!(
            app.slugs("/articles?limit=2", None).await,
            (vec![third, second.clone()], 3)
        );
        assert_eq!(
            app.slugs("/articles?limit=2&offset=2", None).await,
            (vec![first], 3)
        );
        assert_eq!(
            app.slugs("/articles?offset=1&limit=1", None).await,
            (vec![second], 3)
        );
        assert_eq!(app.slugs("/articles?offset=9", None).await, (vec![], 3));
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=ten",
            "offset=-1",
            "offset=99999999999999999999",
        ] {
            let (status, body) = app
                .call(Method::GET, &format!("/articles?{bad}"), None, None)
                .await;
            assert_eq!(status, 422, "{bad}: {body}");
            error_key(&body);
        }
    })
    .await;
}

#[tokio::test]
async fn the_feed_shows_only_followed_authors() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let ann = app.register("ann").await;
        let bob = app.register("bob").await;
        let by_ann = app.article(&ann, "By Ann", &[]).await;
        app.article(&bob, "By Bob", &[]).await;
        app.article(&jake, "By Jake", &[]).await;
        let (status, body) = app.call(Method::GET, "/articles/feed", None, None).await;
        assert_eq!((status, error_key(&body)), (401, "token".to_owned()));
        assert_eq!(app.slugs("/articles/feed", Some(&jake)).await, (vec![], 0));
        app.call(Method::POST, "/profiles/ann/follow", Some(&jake), None)
            .await;
        assert_eq!(
            app.slugs("/articles/feed", Some(&jake)).await,
            (vec![by_ann.clone()], 1)
        );
        let (_, feed) = app
            .call(
                Method::GET,
                "/articles/feed?limit=1&offset=0",
                Some(&jake),
                None,
            )
            .await;
        assert_eq!(feed["articles"][0]["author"]["following"], json!(true));
        assert_eq!(
            app.slugs("/articles/feed", Some(&bob)).await,
            (vec![], 0),
            "bob follows nobody"
        );
        app.call(Method::DELETE, "/profiles/ann/follow", Some(&jake), None)
            .await;
        assert_eq!(app.slugs("/articles/feed", Some(&jake)).await, (vec![], 0));
    })
    .await;
}

#[tokio::test]
async fn comments_are_added_listed_and_deleted_by_their_author_only() {
    on_each_backend(|app| async move {
        let jake = app.register("jake").await;
        let ann = app.register("ann").await;
        let slug = app.article(&jake, "Discuss", &[]).await;
        let other = app.article(&jake, "Elsewhere", &[]).await;
        let comments = format!("/articles/{slug}/comments");
        let (status, body) = app
            .call(
                Method::POST,
                &comments,
                Some(&ann),
                Some(json!({"comment": {"body": "Thank you so much!"}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let comment = &body["comment"];
        assert_eq!(
            (&comment["body"], &comment["author"]["username"]),
            (&json!("Thank you so much!"), &json!("ann"))
        );
        assert!(comment["createdAt"].is_string() && comment["updatedAt"].is_string());
        let id = comment["id"].as_i64().expect("id");

        let (status, list) = app.call(Method::GET, &comments, None, None).await;
        assert_eq!(status, 200);
        assert_eq!(list["comments"].as_array().map(Vec::len), Some(1), "{list}");
        assert_eq!(list["comments"][0]["id"], json!(id));

        let (status, body) = app
            .call(
                Method::POST,
                &comments,
                None,
                Some(json!({"comment": {"body": "x"}})),
            )
            .await;
        assert_eq!((status, error_key(&body)), (401, "token".to_owned()));
        let (status, body) = app
            .call(
                Method::POST,
                &comments,
                Some(&ann),
                Some(json!({"comment": {"body": " "}})),
            )
            .await;
        assert_eq!((status, error_key(&body)), (422, "body".to_owned()));

        // Not even the article's author deletes ann's comment.
        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("{comments}/{id}"),
                Some(&jake),
                None,
            )
            .await;
        assert_eq!(
            (status, error_key(&body)),
            (403, "comment".to_owned()),
            "{body}"
        );
        let (status, _) = app
            .call(Method::DELETE, &format!("{comments}/{id}"), None, None)
            .await;
        assert_eq!(status, 401);
        // The comment is not on the other article.
        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("/articles/{other}/comments/{id}"),
                Some(&ann),
                None,
            )
            .await;
        assert_eq!((status, error_key(&body)), (404, "comment".to_owned()));
        for missing in ["999", "abc"] {
            let (status, _) = app
                .call(
                    Method::DELETE,
                    &format!("{comments}/{missing}"),
                    Some(&ann),
                    None,
                )
                .await;
            assert_eq!(status, 404, "{missing}");
        }
        let (status, body) = app
            .call(
                Method::DELETE,
                &format!("{comments}/{id}"),
                Some(&ann),
                None,
            )
            .await;
        assert_eq!((status, body), (204, Json::Null));
        let (_, list) = app.call(Method::GET, &comments, None, None).await;
        assert_eq!(list["comments"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn tags_lists_the_tags_in_use_most_used_first() {
    on_each_backend(|app| async move {
        let (status, body) = app.call(Method::GET, "/tags", None, None).await;
        assert_eq!((status, body), (200, json!({"tags": []})));
        let jake = app.register("jake").await;
        app.article(&jake, "One", &["rust", "sql", " rust ", ""])
            .await;
        app.article(&jake, "Two", &["rust"]).await;
        let (_, body) = app.call(Method::GET, "/tags", None, None).await;
        assert_eq!(body, json!({"tags": ["rust", "sql"]}));
    })
    .await;
}
