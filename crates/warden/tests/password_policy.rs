//! One password policy — 8 to 1,024 characters — on every path that sets
//! a password: API bodies (`PATCH`, `PUT`, registration), seed files (and
//! `warden user`, in `password_changes.rs`). A refused password leaves the
//! stored one as it was.

mod common;

use common::{PASSWORD, fixture_config, on_each_backend_config};
use reqwest::Method;
use serde_json::json;
use warden::config::Config;
use warden::store::SeedData;

const ALICE: &str = "alice@example.com";

#[tokio::test]
async fn patch_put_and_register_refuse_a_password_outside_8_to_1024_characters() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let token = app.login(ALICE).await;
        let too_long = "a".repeat(1025);
        let cases = [
            (Method::PATCH, json!({"password": too_long})),
            (Method::PATCH, json!({"password": "short"})),
            (Method::PUT, json!({"password": too_long, "name": null})),
        ];
        for (method, body) in cases {
            let shown: String = body.to_string().chars().take(40).collect();
            let context = format!("{:?} {method} {shown}", app.backend);
            let reply = app
                .json_with(method, "/api/users/1", Some(&token), &[], Some(body))
                .await;
            reply.assert_problem(400, "validation", &context);
            assert_eq!(reply.json["errors"][0]["field"], "password", "{context}");
            assert_eq!(
                reply.json["errors"][0]["message"], "must be 8 to 1024 characters",
                "{context}"
            );
        }
        // Nothing changed: the old password still logs in.
        app.login(ALICE).await;

        let reply = app
            .post_json(
                "/auth/register",
                json!({"email": "long@example.com", "password": too_long}),
            )
            .await;
        reply.assert_problem(400, "validation", "register");
        assert_eq!(reply.json["errors"][0]["field"], "password");
    })
    .await;
}

#[tokio::test]
async fn seed_files_apply_the_same_password_policy() {
    let path = fixture_config("auth");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let seed = path.with_file_name("seed.toml");
    for password in ["short".to_owned(), "a".repeat(1025)] {
        let text =
            format!("[[users]]\nid = 9\nemail = \"x@example.com\"\npassword = \"{password}\"\n");
        let refused = SeedData::parse(&seed, &text, &config)
            .expect_err("a password outside the policy is refused");
        assert!(
            refused
                .to_string()
                .contains("users #1: password: must be 8 to 1024 characters"),
            "{refused}"
        );
    }
    let text = format!("[[users]]\nid = 9\nemail = \"x@example.com\"\npassword = \"{PASSWORD}\"\n");
    assert!(SeedData::parse(&seed, &text, &config).is_ok());
}
