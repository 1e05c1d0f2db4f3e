//! CI keeps the bench from rotting: `warden-bench smoke` on SQLite with
//! tiny data, about a second per scenario. Asserts only that every
//! scenario ran and got the answers it expects (200s, 403s), never timing.
//! FastAPI and PocketBase take part when their virtualenvs are already in
//! the target folder (a full run creates them; the test installs nothing).

use std::process::Command;

#[test]
fn smoke_run_answers_every_scenario_correctly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("smoke.json");
    let output = Command::new(env!("CARGO_BIN_EXE_warden-bench"))
        .arg("smoke")
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run warden-bench smoke");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "smoke run failed:\n{stdout}\n{stderr}"
    );
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("smoke.json")).expect("json");
    let scenarios = [
        ("get_post", "200"),
        ("get_post_anon", "200"),
        ("get_article", "200"),
        ("get_forbidden", "403"),
        ("list_acl", "200"),
        ("patch_own", "200"),
        ("token", "200"),
    ];
    for (scenario, status) in scenarios {
        // The fair floor everywhere; the no-auth line beside it except on
        // the password grant, which is authentication itself.
        let no_auth = (scenario != "token").then_some("floor, no auth");
        for system in ["warden", "floor (axum+sqlx+JWT)"]
            .into_iter()
            .chain(no_auth)
        {
            let record = records
                .iter()
                .find(|r| r["scenario"] == scenario && r["system"] == system)
                .unwrap_or_else(|| panic!("no {scenario} result for {system}:\n{stdout}"));
            assert!(
                record["requests"].as_u64().unwrap_or(0) > 0,
                "{scenario} {system}: no requests"
            );
            assert_eq!(record["unexpected"], 0, "{scenario} {system}: {record}");
            assert_eq!(record["errors"], 0, "{scenario} {system}: {record}");
            assert!(
                record["statuses"][status].as_u64().unwrap_or(0) > 0,
                "{scenario} {system}: expected {status} answers: {record}"
            );
        }
    }
    // PocketBase, when its virtualenv was there: every scenario it can
    // express, a view its rule refuses answered 404 as PocketBase does.
    if records.iter().any(|r| r["system"] == "PocketBase 0.40.6") {
        for (scenario, status) in [
            ("get_post", "200"),
            ("get_article", "200"),
            ("get_forbidden", "404"),
            ("list_acl", "200"),
            ("patch_own", "200"),
            ("token", "200"),
        ] {
            let record = records
                .iter()
                .find(|r| r["scenario"] == scenario && r["system"] == "PocketBase 0.40.6")
                .unwrap_or_else(|| panic!("no {scenario} result for PocketBase:\n{stdout}"));
            assert!(
                record["statuses"][status].as_u64().unwrap_or(0) > 0,
                "{scenario} PocketBase: expected {status} answers: {record}"
            );
        }
    }
    // Every measurement, FastAPI's too when its virtualenv was there.
    for record in &records {
        assert!(record["requests"].as_u64().unwrap_or(0) > 0, "{record}");
        assert_eq!(record["unexpected"], 0, "{record}");
    }
}
