//! What each `warden` command prints, and that it fails (exit status and
//! one `error:` message naming the problem) when it should: check, test,
//! export-rls, migrate, seed, explain, user and serve's JWT secret. The
//! commands that use a database run on each backend.

mod common;

use common::{PASSWORD, TestDatabase, backends};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// A config with an unindexed list alternative and one policy test, and
/// its seed file, in a folder of their own.
const CONFIG: &str = r#"
[database]
url = "sqlite://notes.db"

[auth]
users = "users"
login = "email"
scopes = ["notes:read", "notes:write"]

[resources.users]
fields.id       = { type = "integer", primary = true }
fields.email    = { type = "text", unique = true }
fields.password = { type = "password" }
rules.read = "row.id == user.id"

[resources.notes]
fields.id       = { type = "integer", primary = true }
fields.body     = { type = "text" }
fields.owner_id = { type = "integer", references = "users", owner = true }
rules.list = "row.owner_id == user.id || contains(row.body, 'public')"
rules.read = "row.owner_id == user.id"

[[tests]]
as = { id = 1 }
action = "read"
resource = "notes"
row = { owner_id = 1 }
expect = "allow"
"#;

const SEED: &str = r#"
[[users]]
id = 1
email = "ann@example.com"
password = "password123"

[[notes]]
id = 7
body = "mine"
owner_id = 1
"#;

struct Project {
    folder: tempfile::TempDir,
    /// The config's path, as an argument.
    config: String,
}

impl Project {
    fn new() -> Project {
        Project::with_config(CONFIG)
    }

    fn with_config(config: &str) -> Project {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("warden.toml");
        std::fs::write(&path, config).expect("config");
        std::fs::write(folder.path().join("seed.toml"), SEED).expect("seed");
        let config = path.to_str().expect("a UTF-8 temp path").to_owned();
        Project { folder, config }
    }
}

/// What one run of the binary did.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// `warden ARGS`, with `password` as `WARDEN_PASSWORD` and nothing else
/// from the environment that would change what it does.
fn warden_with_password(args: &[&str], password: &str) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .env("WARDEN_PASSWORD", password)
        .env_remove("WARDEN_LOG")
        .env_remove("WARDEN_DATABASE_URL")
        .env_remove("WARDEN_JWT_SECRET")
        .env_remove("WARDEN_JWT_SECRET_FILE")
        .stdin(Stdio::null())
        .output()
        .expect("run warden");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn warden(args: &[&str]) -> Run {
    warden_with_password(args, PASSWORD)
}

#[track_caller]
fn assert_fails(run: &Run, message: &str) {
    assert!(!run.ok, "succeeded: {}", run.stdout);
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.contains(message),
        "`{message}` not in {}",
        run.stderr
    );
}

#[test]
fn check_counts_what_the_config_declares_and_warns_of_unindexed_rules() {
    let project = Project::new();
    let run = warden(&["check", &project.config]);
    assert!(run.ok, "{}", run.stderr);
    let warning = run
        .stdout
        .lines()
        .find(|line| line.starts_with("warning: "))
        .unwrap_or_else(|| panic!("no warning in {}", run.stdout));
    assert!(
        warning.contains("contains(row.body") && warning.contains("no indexed lookup"),
        "{warning}"
    );
    assert!(
        run.stdout
            .trim_end()
            .ends_with("warden.toml: ok (2 resources, 1 policy tests)"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_points_at_a_misspelt_field_and_fails() {
    let project = Project::with_config(&CONFIG.replace(
        "rules.read = \"row.owner_id == user.id\"",
        "rules.read = \"row.ownr_id == user.id\"",
    ));
    let run = warden(&["check", &project.config]);
    assert_fails(&run, "unknown field `ownr_id` on notes");
    assert!(run.stderr.contains("warden.toml:21:"), "{}", run.stderr);
    assert!(run.stderr.contains("owner_id"), "{}", run.stderr);
}

#[test]
fn check_refuses_a_database_url_it_cannot_serve() {
    let project = Project::new();
    let run = warden(&["check", &project.config, "--database", "mysql://db/x"]);
    assert_fails(&run, "unsupported database url `mysql://db/x`");
}

#[test]
fn test_reports_each_case_and_fails_when_one_fails() {
    let project = Project::new();
    let run = warden(&["test", &project.config]);
    assert!(run.ok, "{}", run.stderr);
    assert!(
        run.stdout.contains("ok   ") && run.stdout.contains("1 passed, 0 failed"),
        "{}",
        run.stdout
    );

    let wrong = Project::with_config(&CONFIG.replace("expect = \"allow\"", "expect = \"deny\""));
    let run = warden(&["test", &wrong.config]);
    assert_fails(&run, "1 policy test(s) failed");
    assert!(
        run.stdout.contains("FAIL ") && run.stdout.contains("0 passed, 1 failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn export_rls_writes_policies_for_every_resource() {
    let project = Project::new();
    let run = warden(&["export-rls", &project.config]);
    assert!(run.ok, "{}", run.stderr);
    for table in ["users", "notes"] {
        assert!(
            run.stdout.contains(&format!(
                "ALTER TABLE \"{table}\" ENABLE ROW LEVEL SECURITY;"
            )),
            "{table}: {}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains(&format!("CREATE POLICY \"warden_select\" ON \"{table}\"")),
            "{table}: {}",
            run.stdout
        );
    }
}

#[tokio::test]
async fn migrate_reports_what_it_created_and_then_nothing_on_each_backend() {
    let project = Project::new();
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let args = ["migrate", &project.config, "--database", &database.url];
        let first = warden(&args);
        assert!(first.ok, "{backend:?}: {}", first.stderr);
        assert!(
            first.stdout.contains("created tables: users, notes"),
            "{backend:?}: {}",
            first.stdout
        );
        let again = warden(&args);
        assert_eq!(again.stdout, "schema is up to date\n", "{backend:?}");
    }
}

#[tokio::test]
async fn explain_names_the_rule_that_decided_on_each_backend() {
    let project = Project::new();
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let db = ["--database", database.url.as_str()];
        let seeded = warden(&[&["seed", project.config.as_str()][..], &db].concat());
        assert!(seeded.ok, "{backend:?}: {}", seeded.stderr);
        assert!(
            seeded
                .stdout
                .contains("seed.toml: 2 rows inserted, 0 already present"),
            "{backend:?}: {}",
            seeded.stdout
        );
        let explain = |who: &str, action: &str| {
            let args = ["explain", &project.config, "--as", who, action, "notes/7"];
            warden(&[&args[..], &db].concat())
        };
        let owner = explain("1", "read");
        assert!(owner.ok, "{backend:?}: {}", owner.stderr);
        assert!(
            owner.stdout.contains("caller: user 1")
                && owner
                    .stdout
                    .contains("allowed by resources.notes.rules.read"),
            "{backend:?}: {}",
            owner.stdout
        );
        let anonymous = explain("anonymous", "read");
        assert!(
            anonymous
                .stdout
                .contains("denied by resources.notes.rules.read"),
            "{backend:?}: {}",
            anonymous.stdout
        );
        assert_fails(&explain("1", "remove"), "unknown action `remove`");
        assert_fails(&explain("99", "read"), "no user `99`");
    }
}

#[tokio::test]
async fn user_commands_add_grant_revoke_and_list_on_each_backend() {
    let project = Project::new();
    for backend in backends() {
        let database = TestDatabase::create(&backend).await;
        let db = ["--database", database.url.as_str()];
        // `warden user COMMAND CONFIG ARGS… --database URL`
        let user = |args: &[&str]| {
            let command = ["user", args[0], &project.config];
            warden(&[&command[..], &args[1..], &db].concat())
        };
        let added = user(&["add", "Bea@Example.com", "--scope", "notes:read"]);
        assert!(added.ok, "{backend:?}: {}", added.stderr);
        assert!(
            added.stdout.starts_with("added bea@example.com (id "),
            "{backend:?}: {}",
            added.stdout
        );
        let granted = user(&["grant", "bea@example.com", "--scope", "notes:write"]);
        assert_eq!(
            granted.stdout, "1 grants added to bea@example.com\n",
            "{backend:?}: {}",
            granted.stderr
        );
        let listed = user(&["list"]);
        assert!(
            listed
                .stdout
                .contains("\tbea@example.com\tactive\tscopes: notes:read notes:write\troles: "),
            "{backend:?}: {}",
            listed.stdout
        );
        let revoked = user(&["revoke", "bea@example.com", "--scope", "notes:read"]);
        assert_eq!(
            revoked.stdout, "1 grants revoked from bea@example.com\n",
            "{backend:?}: {}",
            revoked.stderr
        );
        assert!(
            user(&["list"]).stdout.contains("scopes: notes:write\t"),
            "{backend:?}"
        );
        assert_fails(
            &user(&["grant", "bea@example.com", "--scope", "notes:delete"]),
            "`notes:delete` is not a scope declared in [auth] scopes",
        );
        assert_fails(
            &user(&["add", "BEA@example.com"]),
            "an account with this email already exists",
        );
    }
}

#[test]
fn a_refused_password_is_reported_once() {
    let project = Project::new();
    let run = warden_with_password(&["user", "add", &project.config, "cy@example.com"], "short");
    assert_fails(&run, "must be 8 to 1024 characters");
    assert_eq!(
        run.stderr.matches("must be 8 to 1024 characters").count(),
        1,
        "{}",
        run.stderr
    );
}

#[test]
fn serve_without_a_jwt_secret_refuses_to_start() {
    let project = Project::new();
    let run = warden(&["serve", &project.config, "--listen", "127.0.0.1:0"]);
    assert_fails(&run, "no JWT secret: set WARDEN_JWT_SECRET");
}

#[test]
fn serve_dev_keeps_its_generated_secret_beside_the_config() {
    let project = Project::new();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["serve", &project.config, "--listen", "127.0.0.1:0", "--dev"])
        .env_remove("WARDEN_LOG")
        .env_remove("WARDEN_DATABASE_URL")
        .env_remove("WARDEN_JWT_SECRET")
        .env_remove("WARDEN_JWT_SECRET_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start warden");
    let stdout = serve.stdout.take().expect("stdout");
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("warden listening on http://127.0.0.1:"));
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(listening, "warden --dev did not start");
    let secret = project.folder.path().join(".warden-dev-secret");
    let text = std::fs::read_to_string(&secret).expect("the development secret");
    assert!(text.trim().len() >= 32, "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
}
