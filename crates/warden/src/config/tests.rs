//! Config loading: the example loads, and each kind of mistake is reported
//! at its exact line and column with a fix.

use super::*;
use std::time::Duration;
use warden_policy::FieldType;

/// A config with only a users resource (also used by other modules' tests).
pub(crate) const MINIMAL: &str = r#"
[auth]
users = "users"
login = "email"

[resources.users]
fields.id       = { type = "integer", primary = true }
fields.email    = { type = "text", unique = true }
fields.password = { type = "password" }
"#;

fn load(source: &str) -> Result<Config, Vec<String>> {
    Config::parse(Path::new("warden.toml"), source).map_err(|error| match error {
        ConfigError::Invalid(problems) => problems.iter().map(ToString::to_string).collect(),
        ConfigError::Read { .. } => vec![error.to_string()],
    })
}

fn errors(source: &str) -> Vec<String> {
    match load(source) {
        Ok(_) => vec![],
        Err(problems) => problems,
    }
}

fn example() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/posts/warden.toml");
    match Config::load(&path) {
        Ok(config) => config,
        Err(error) => panic!("the posts example must load:\n{error}"),
    }
}

#[test]
fn posts_example_loads_with_defaults_applied() {
    let config = example();
    assert_eq!(
        config.resources.keys().collect::<Vec<_>>(),
        ["users", "posts", "votes"]
    );
    let posts = &config.resources["posts"];
    assert_eq!(posts.primary_key, "id");
    assert_eq!(posts.page_size, 20);
    assert_eq!(posts.max_page_size, 100);
    assert_eq!(posts.deny_status, DenyStatus::NotFound);
    assert_eq!(posts.readonly_input, ReadonlyInput::Reject);
    assert_eq!(
        posts.owner_field().map(|f| f.name.as_str()),
        Some("owner_id")
    );
    assert_eq!(posts.fields["created_at"].default, Some(DefaultValue::Now));
    assert_eq!(
        posts.fields["owner_id"].references,
        Some(ForeignKey {
            resource: "users".into(),
            on_delete: OnDelete::Cascade
        })
    );
    assert_eq!(posts.relations["votes"].kind, RelationKind::ToMany);
    assert!(config.resources["users"].fields["password"].hidden);
    assert_eq!(config.resources["votes"].unique, [["post_id", "user_id"]]);
    assert!(config.resources["votes"].named_rules.contains_key("mine"));
    let auth = config.auth.as_ref().expect("posts has [auth]");
    assert_eq!(auth.token_ttl, Duration::from_secs(30 * 60));
    assert_eq!(auth.roles["admin"], ["posts:moderate"]);
    assert!(
        config.tests.len() >= 10,
        "the example carries its policy tests"
    );
    assert!(
        config
            .tests
            .iter()
            .any(|t| t.principal == TestPrincipal::Anonymous)
    );
}

#[test]
fn rule_location_points_at_the_rule_text_in_the_file() {
    let config = example();
    let rule = config.resources["posts"]
        .rules
        .update
        .as_ref()
        .expect("posts has an update rule");
    assert!(rule.location.exact);
    let start = rule.location.offset;
    assert_eq!(
        &config.source[start..start + rule.text.len()],
        "row.owner_id == user.id"
    );
    let source = rule.to_rule_source(&config);
    assert_eq!(source.location.map(|l| l.offset), Some(start));
}

#[test]
fn escaped_and_multiline_rules_are_marked_inexact() {
    let config = load(&format!(
        "{MINIMAL}rules.read = \"row.email == \\\"a\\\"\"\nrules.update = '''\nrow.id == user.id'''\n"
    ))
    .expect("valid");
    let users = &config.resources["users"];
    let read = users.rules.read.as_ref().expect("read rule");
    assert_eq!(read.text, "row.email == \"a\"");
    assert!(!read.location.exact);
    let update = users.rules.update.as_ref().expect("update rule");
    assert!(!update.location.exact);
    assert_eq!(&config.source[update.location.offset..][..6], "row.id");
}

#[test]
fn unknown_field_type_names_place_and_choices() {
    let source = format!(
        "{MINIMAL}\n[resources.posts]\nfields.id = {{ type = \"integer\", primary = true }}\nfields.title = {{ type = \"strng\" }}\n"
    );
    assert_eq!(
        errors(&source),
        [
            "warden.toml:13:25: unknown field type `strng` on posts.title; expected one of integer, float, text, bool, timestamp, json, password"
        ]
    );
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let source = format!(
        "{MINIMAL}
[resources.posts]
fields.title    = {{ type = \"text\" }}
fields.owner_id = {{ type = \"integer\", references = \"user\", owner = true }}
relations.owner = {{ to = \"users\", via = \"ownerid\" }}
"
    );
    assert_eq!(
        errors(&source),
        [
            "warden.toml:11:12: resource posts has no primary key; mark one field `primary = true`, e.g. fields.id = { type = \"integer\", primary = true }",
            "warden.toml:13:52: posts.owner_id references `user`, which is not a resource; did you mean `users`?",
            "warden.toml:13:68: owner field posts.owner_id must reference the users resource; add `references = \"users\"`",
            "warden.toml:14:41: relation posts.owner: `ownerid` is not a field of this resource",
        ]
    );
}

#[test]
fn to_many_relation_written_as_to_one_gets_a_hint() {
    let source = format!(
        "{MINIMAL}relations.posts = {{ to = \"posts\", via = \"author_id\" }}
[resources.posts]
fields.id        = {{ type = \"integer\", primary = true }}
fields.author_id = {{ type = \"integer\", references = \"users\" }}
"
    );
    let problems = errors(&source);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("warden.toml:10:41:"),
        "{problems:?}"
    );
    assert!(problems[0].contains("add `many = true`"), "{problems:?}");
}

#[test]
fn identifiers_must_be_sql_safe() {
    let source = format!("{MINIMAL}fields.\"Last Name\" = {{ type = \"text\" }}\n");
    assert_eq!(
        errors(&source),
        [
            "warden.toml:10:8: field name `Last Name` is not a valid identifier; use lowercase letters, digits and `_`, starting with a letter or `_` (e.g. `last_name`)"
        ]
    );
}

#[test]
fn defaults_are_type_checked() {
    let source = format!(
        "{MINIMAL}fields.age = {{ type = \"integer\", default = \"ten\" }}\nfields.seen = {{ type = \"timestamp\", default = \"today\" }}\n"
    );
    assert_eq!(
        errors(&source),
        [
            "warden.toml:10:44: default of users.age must be an integer, found string",
            "warden.toml:11:47: default of users.seen must be \"now\" or an RFC 3339 time such as \"2026-01-01T00:00:00Z\"",
        ]
    );
}

#[test]
fn auth_names_must_exist() {
    let source = MINIMAL.replace(
        "login = \"email\"",
        "login = \"mail\"\ntoken_ttl = \"soon\"",
    );
    assert_eq!(
        errors(&source),
        [
            "warden.toml:4:9: [auth] login names `mail`, which is not a field of users; did you mean `email`?",
            "warden.toml:5:13: token_ttl `soon` is not a duration; write e.g. \"30m\", \"1h\" or \"7days\"",
        ]
    );
}

#[test]
fn toml_shape_errors_have_positions() {
    let source = format!("{MINIMAL}fields.bio = {{ type = \"text\", hiden = true }}\n");
    let problems = errors(&source);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("warden.toml:10:31:"),
        "{problems:?}"
    );
    assert!(
        problems[0].contains("unknown field `hiden`"),
        "{problems:?}"
    );
}

#[test]
fn policy_schema_exposes_fields_relations_and_user_attributes() {
    let schema = example().policy_schema();
    let posts = &schema.resources["posts"];
    assert_eq!(posts.fields["owner_id"].ty, FieldType::Integer);
    assert_eq!(posts.relations["owner"].target, "users");
    assert!(!schema.resources["users"].fields.contains_key("password"));
    assert_eq!(schema.user["is_superuser"].ty, FieldType::Bool);
    assert!(schema.user.contains_key("id"));
    assert!(!schema.user.contains_key("password"));
}

#[test]
fn auth_durations_limits_and_require_scopes() {
    let source = format!(
        "{MINIMAL}\n[resources.notes]\nfields.id = {{ type = \"integer\", primary = true }}\nrequire_scopes.create = [\"notes:write\"]\nrules.create = \"true\"\n"
    )
    .replace(
        "login = \"email\"",
        "login = \"email\"\nrefresh_ttl = \"2days\"\nsession_idle = \"10m\"\nlogin_limit = { per_account = 2, window = \"1m\" }\nscopes = [\"notes:write\"]",
    );
    let config = load(&source).unwrap_or_else(|e| panic!("{e:?}"));
    let auth = config.auth.as_ref().expect("auth");
    assert_eq!(auth.refresh_ttl, Duration::from_secs(2 * 24 * 3600));
    assert_eq!(auth.refresh_max_age, Duration::from_secs(30 * 24 * 3600));
    assert_eq!(auth.session_idle, Duration::from_secs(600));
    assert_eq!(auth.session_ttl, Duration::from_secs(12 * 3600));
    assert_eq!(auth.login_limit.per_account, 2);
    assert_eq!(auth.login_limit.per_address, 20);
    assert_eq!(auth.login_limit.window, Duration::from_secs(60));
    assert_eq!(
        config.resources["notes"].require_scopes.get(Action::Create),
        ["notes:write"]
    );
    assert!(
        config.resources["notes"]
            .require_scopes
            .get(Action::Read)
            .is_empty()
    );

    let wrong = source
        .replace(
            "require_scopes.create = [\"notes:write\"]",
            "require_scopes.create = [\"notes:wirte\"]\nrequire_scopes.erase = [\"notes:write\"]",
        )
        .replace("session_idle = \"10m\"", "session_idle = \"soon\"")
        .replace("refresh_ttl", "refresh_max_age = \"0s\"\nrefresh_ttl");
    let problems = errors(&wrong).join("\n");
    assert!(
        problems.contains("session_idle `soon` is not a duration"),
        "{problems}"
    );
    assert!(problems.contains("refresh_max_age"), "{problems}");
    assert!(
        problems.contains("undeclared scope `notes:wirte`"),
        "{problems}"
    );
    assert!(
        problems.contains("did you mean `notes:write`"),
        "{problems}"
    );
    assert!(
        problems.contains("require_scopes.erase is not an action"),
        "{problems}"
    );
}

#[test]
fn the_login_field_is_unique_and_flagged_and_registrations_have_a_limit() {
    let config = load(MINIMAL).unwrap_or_else(|e| panic!("{e:?}"));
    let auth = config.auth.as_ref().expect("auth");
    assert_eq!(
        auth.registration_limit,
        RegistrationLimit {
            per_address: 10,
            window: Duration::from_secs(3600),
        }
    );
    let users = &config.resources["users"];
    assert!(users.fields["email"].login && !users.fields["id"].login);

    let source = MINIMAL.replace(
        "login = \"email\"",
        "login = \"email\"\nregistration_limit = { per_address = 4, window = \"10m\" }",
    );
    let config = load(&source).unwrap_or_else(|e| panic!("{e:?}"));
    let limit = config.auth.as_ref().expect("auth").registration_limit;
    assert_eq!(
        (limit.per_address, limit.window),
        (4, Duration::from_secs(600))
    );

    let source = MINIMAL
        .replace(
            "login = \"email\"",
            "login = \"email\"\nregistration_limit = { per_address = 0 }",
        )
        .replace(
            "fields.email    = { type = \"text\", unique = true }",
            "fields.email    = { type = \"text\" }",
        );
    assert_eq!(
        errors(&source),
        [
            "warden.toml:4:9: [auth] login field users.email must be `unique = true`: two accounts with one login name could not be told apart",
            "warden.toml:5:38: registration_limit.per_address must be a positive whole number",
        ]
    );
}
