//! A small schema shaped like the seed systems, shared by unit tests and
//! the fuzz targets (`fuzz/bodies/`, feature `fixtures`).

use crate::check::{Action, CheckOptions};
use crate::diagnostic::{Diagnostic, RuleSource};
use crate::rules::{Rule, RuleSet};
use crate::schema::Schema;
use crate::value::FieldType::{Bool, Float, Integer, Text, Timestamp};

pub fn schema() -> Schema {
    let mut s = Schema::new();
    s.resource("users", "id")
        .field("id", Integer, false)
        .field("email", Text, false)
        .field("is_superuser", Bool, false)
        .field("manager_id", Integer, true);
    s.resource("posts", "id")
        .field("id", Integer, false)
        .field("title", Text, false)
        .field("content", Text, true)
        .field("published", Bool, true)
        .field("owner_id", Integer, false)
        .field("assignee_id", Integer, true)
        .field("score", Float, true)
        .field("created_at", Timestamp, false)
        .to_one("owner", "users", "owner_id")
        .to_many("votes", "votes", "post_id");
    s.resource("votes", "id")
        .field("id", Integer, false)
        .field("post_id", Integer, false)
        .field("user_id", Integer, false)
        .to_one("post", "posts", "post_id");
    s.resource("article_read_access", "id")
        .field("id", Integer, false)
        .field("article_id", Integer, false)
        .field("user_id", Integer, false);
    s.user_attribute("id", Integer, false)
        .user_attribute("email", Text, false)
        .user_attribute("is_superuser", Bool, false)
        .user_attribute("manager_id", Integer, true);
    s.function("check_article_access", vec![Integer, Integer], Bool);
    s
}

pub fn rules() -> RuleSet {
    let mut set = RuleSet::new(schema());
    set.add_named(
        Some("posts"),
        "is_owner",
        "posts.rules.is_owner",
        source("row.owner_id == user.id"),
    )
    .expect("named rule");
    set.add_named(
        None,
        "is_admin",
        "rules.is_admin",
        source("user.is_superuser || has_scope('admin:write')"),
    )
    .expect("named rule");
    set
}

pub fn source(text: &str) -> RuleSource {
    RuleSource {
        text: text.to_owned(),
        location: None,
    }
}

pub fn compile_with(
    resource: &str,
    action: Action,
    text: &str,
    options: CheckOptions,
) -> Result<Rule, Vec<Diagnostic>> {
    rules().compile(resource, action, "test", source(text), options)
}

pub fn compile(resource: &str, action: Action, text: &str) -> Rule {
    compile_with(
        resource,
        action,
        text,
        CheckOptions {
            in_memory: false,
            sql_functions: true,
        },
    )
    .unwrap_or_else(|d| panic!("{text}: {d:?}"))
}
