//! `warden user passwd` ends every session of the account, as any other
//! password change does (crates/warden/tests/password_changes.rs), and
//! holds to the same password policy.

mod common;

use common::sessions::{assert_all_ended, sessions, token_works, tokens};
use common::{fixture_config, on_each_backend_config};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const NEW_PASSWORD: &str = "a-new-password-9";

#[tokio::test]
async fn warden_user_passwd_ends_every_session_of_the_account() {
    on_each_backend_config(&fixture_config("auth"), |app| async move {
        let alice = sessions(&app, ALICE, 1).await;
        let bob = sessions(&app, BOB, 2).await;
        let passwd = |password: String| {
            std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
                .args(["user", "passwd"])
                .arg(fixture_config("auth"))
                .args([ALICE, "--database", app.database_url()])
                .env("WARDEN_PASSWORD", password)
                .output()
                .expect("run warden user passwd")
        };
        let refused = passwd("a".repeat(1025));
        assert!(
            !refused.status.success(),
            "the password policy holds here too"
        );
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("must be 8 to 1024 characters"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(
            token_works(&app, &alice.access, 1).await,
            "a refused change ends nothing"
        );

        let changed = passwd(NEW_PASSWORD.to_owned());
        assert!(
            changed.status.success(),
            "{}",
            String::from_utf8_lossy(&changed.stderr)
        );
        assert_all_ended(&app, &alice, 1, "after warden user passwd").await;
        assert!(tokens(&app, ALICE, NEW_PASSWORD).await.is_some());
        assert!(token_works(&app, &bob.access, 2).await, "another account");
    })
    .await;
}
