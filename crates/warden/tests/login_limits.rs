//! Login limits under concurrency, black-box: many guesses sent at once,
//! on the token endpoint and the cookie login alike, and at most the
//! configured number of wrong ones get a password checked — counted by
//! their answers: a checked wrong guess is answered 400 `invalid_grant`
//! (token) or 401 (cookie login), a checked right one 200, and one never
//! checked 429. Fixture `auth`: `per_account = 3`, `per_address = 6`.

mod common;

use common::{PASSWORD, TestApp, backends, fixture_config};
use serde_json::{Value as Json, json};
use tokio::task::JoinSet;

const ALICE: &str = "alice@example.com";
const GUESSES: usize = 40;
const PER_ACCOUNT: usize = 3;
const PER_ADDRESS: usize = 6;

/// One guess's answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Json,
    retry_after: Option<u64>,
    right_password: bool,
}

/// A guess at `login`'s password: a password grant when `cookie` is
/// false, else a JSON cookie login.
async fn guess(
    client: reqwest::Client,
    base: String,
    login: String,
    password: &'static str,
    cookie: bool,
) -> Answer {
    let request = if cookie {
        client
            .post(format!("{base}/auth/login"))
            .json(&json!({"email": login, "password": password}))
    } else {
        client.post(format!("{base}/auth/token")).form(&[
            ("grant_type", "password"),
            ("username", &login),
            ("password", password),
        ])
    };
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body: Json = response.json().await.unwrap_or(Json::Null);
    Answer {
        status,
        body,
        retry_after,
        right_password: password == PASSWORD,
    }
}

/// Sends every guess at once, half to each login endpoint; returns the
/// answers.
async fn all_at_once(app: &TestApp, guesses: Vec<(String, &'static str)>) -> Vec<Answer> {
    let mut running = JoinSet::new();
    for (index, (login, password)) in guesses.into_iter().enumerate() {
        running.spawn(guess(
            app.client.clone(),
            app.base.clone(),
            login,
            password,
            index % 2 == 1,
        ));
    }
    running.join_all().await
}

/// Asserts every answer is a checked one (wrong password or logged in)
/// or a 429 with `Retry-After`; returns how many wrong guesses were
/// checked and how many logged in.
fn tally(answers: &[Answer], context: &str) -> (usize, usize) {
    let (mut wrong, mut logged_in) = (0, 0);
    for answer in answers {
        match answer.status {
            429 => {
                assert_eq!(
                    answer.body["type"], "https://warden.dev/problems/too-many-requests",
                    "{context}: {answer:?}"
                );
                assert!(
                    answer.retry_after.is_some_and(|s| s >= 1),
                    "{context}: {answer:?}"
                );
            }
            200 => {
                assert!(answer.right_password, "{context}: {answer:?}");
                logged_in += 1;
            }
            400 => {
                assert_eq!(
                    answer.body["error"], "invalid_grant",
                    "{context}: {answer:?}"
                );
                wrong += 1;
            }
            401 => {
                assert_eq!(
                    answer.body["type"], "https://warden.dev/problems/unauthenticated",
                    "{context}: {answer:?}"
                );
                wrong += 1;
            }
            _ => panic!("{context}: unexpected answer {answer:?}"),
        }
    }
    (wrong, logged_in)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_on_one_account_are_checked_at_most_per_account_times() {
    for backend in backends() {
        let app = TestApp::spawn(&fixture_config("auth"), backend, true).await;
        let context = format!("{:?}", app.backend);
        // Wrong guesses, with the right password among them (last, so an
        // unreserved check would most likely let it through).
        let mut guesses: Vec<(String, &'static str)> =
            vec![(ALICE.to_owned(), "wrong password"); GUESSES - 1];
        guesses.push((ALICE.to_owned(), PASSWORD));
        let answers = all_at_once(&app, guesses).await;
        let (wrong, logged_in) = tally(&answers, &context);
        assert!(
            (1..=PER_ACCOUNT).contains(&wrong),
            "{context}: {wrong} of {} wrong guesses were checked; the account allows {PER_ACCOUNT}",
            GUESSES - 1
        );
        assert!(logged_in <= 1, "{context}: {answers:?}");
        if logged_in == 0 {
            // The right password was not among the reserved attempts: the
            // wrong ones used the budget up, and it stays closed to it.
            let later = guess(
                app.client.clone(),
                app.base.clone(),
                ALICE.to_owned(),
                PASSWORD,
                false,
            )
            .await;
            assert_eq!(later.status, 429, "{context}: {later:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_from_one_address_are_checked_at_most_per_address_times() {
    for backend in backends() {
        let app = TestApp::spawn(&fixture_config("auth"), backend, true).await;
        let context = format!("{:?}", app.backend);
        // A password spray: one guess per account, so no account's own
        // budget stops any of them; only the address's can.
        let guesses = (0..GUESSES)
            .map(|n| (format!("sprayed{n}@example.com"), "password123"))
            .collect();
        let answers = all_at_once(&app, guesses).await;
        let (wrong, logged_in) = tally(&answers, &context);
        assert_eq!(logged_in, 0, "{context}: no sprayed account exists");
        assert!(
            (1..=PER_ADDRESS).contains(&wrong),
            "{context}: {wrong} of {GUESSES} guesses were checked; the address allows {PER_ADDRESS}"
        );
    }
}
