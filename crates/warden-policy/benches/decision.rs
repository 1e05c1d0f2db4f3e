//! One in-memory authorization decision, warden's rule language next to the
//! same policy written for `cedar-policy`, in the same run.
//!
//! Run with `cargo bench -p warden-policy --bench decision`; results and the
//! method are in `docs/policy-bench.md`.
//!
//! Fairness: on both sides everything that a server would prepare once (the
//! checked rule / the policy set, the principal, the row / the entity store,
//! the loaded ACL rows, the request) is built *outside* the timed closure.
//! The closure is only the decision itself: `Rule::evaluate(&Env)` for us,
//! `Authorizer::is_authorized(&Request, &PolicySet, &Entities)` for Cedar.
//! Inputs pass through `black_box` so nothing is constant-folded away.

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use warden_policy::{
    Action, CheckOptions, Dataset, Env, FieldType, Principal, Row, Rule, RuleSet, RuleSource,
    Schema, Value,
};

// ------------------------------------------------------------------ warden

const OWNER_RULE: &str = "row.owner_id == user.id || user.is_superuser";
const ACL_RULE: &str = "user.is_superuser || row.author_id == user.id || \
     exists(article_read_access where it.article_id == row.id && it.user_id == user.id)";

fn schema() -> Schema {
    use FieldType::{Bool, Integer, Text};
    let mut s = Schema::new();
    s.resource("posts", "id")
        .field("id", Integer, false)
        .field("title", Text, false)
        .field("owner_id", Integer, false);
    s.resource("articles", "id")
        .field("id", Integer, false)
        .field("title", Text, false)
        .field("author_id", Integer, false);
    s.resource("article_read_access", "id")
        .field("id", Integer, false)
        .field("article_id", Integer, false)
        .field("user_id", Integer, false);
    s.user_attribute("id", Integer, false)
        .user_attribute("is_superuser", Bool, false);
    s
}

const IN_MEMORY: CheckOptions = CheckOptions {
    in_memory: true,
    sql_functions: false,
};

fn compile(rules: &mut RuleSet, resource: &str, action: Action, text: &str) -> Rule {
    rules
        .compile(
            resource,
            action,
            "bench",
            RuleSource {
                text: text.to_owned(),
                location: None,
            },
            IN_MEMORY,
        )
        .unwrap_or_else(|d| panic!("{text}: {d:?}"))
}

fn row(pairs: &[(&str, Value)]) -> Row {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn user(id: i64, superuser: bool) -> Principal {
    Principal::with_id(id).attribute("is_superuser", superuser)
}

/// The ACL: (row id, article id, user id). Ten rows over five articles;
/// user 23 may read article 8 through the 7th row.
const ACL: [(i64, i64, i64); 10] = [
    (1, 5, 30),
    (2, 5, 31),
    (3, 6, 30),
    (4, 6, 32),
    (5, 7, 33),
    (6, 8, 30),
    (7, 8, 23),
    (8, 8, 34),
    (9, 9, 35),
    (10, 9, 23),
];

fn acl_dataset() -> Dataset {
    let mut data = Dataset::new();
    for (id, article, user) in ACL {
        data.insert(
            "article_read_access",
            row(&[
                ("id", id.into()),
                ("article_id", article.into()),
                ("user_id", user.into()),
            ]),
        );
    }
    data
}

// ------------------------------------------------------------------- cedar

const CEDAR_OWNER: &str = r#"
permit(principal, action == Action::"delete", resource)
when { resource.owner == principal || principal.is_superuser };
"#;

const CEDAR_ACL: &str = r#"
permit(principal, action == Action::"read", resource)
when { principal.is_superuser || resource.author == principal || resource.readers.contains(principal) };
"#;

fn uid(ty: &str, id: i64) -> EntityUid {
    EntityUid::from_str(&format!("{ty}::\"{id}\"")).expect("uid")
}

fn action(name: &str) -> EntityUid {
    EntityUid::from_str(&format!("Action::\"{name}\"")).expect("action uid")
}

fn cedar_user(id: i64, superuser: bool) -> Entity {
    Entity::new(
        uid("User", id),
        HashMap::from([(
            "is_superuser".to_owned(),
            RestrictedExpression::new_bool(superuser),
        )]),
        HashSet::new(),
    )
    .expect("user entity")
}

fn entity_ref(ty: &str, id: i64) -> RestrictedExpression {
    RestrictedExpression::new_entity_uid(uid(ty, id))
}

/// Users 23 (plain) and 1 (superuser), plus every user the ACL names.
fn cedar_users() -> Vec<Entity> {
    let mut ids: Vec<i64> = ACL.iter().map(|(_, _, u)| *u).collect();
    ids.extend([21, 22, 24]);
    ids.sort_unstable();
    ids.dedup();
    let mut users: Vec<Entity> = ids.into_iter().map(|id| cedar_user(id, false)).collect();
    users.push(cedar_user(1, true));
    users
}

fn cedar_post(id: i64, owner: i64) -> Entity {
    Entity::new(
        uid("Post", id),
        HashMap::from([
            (
                "title".to_owned(),
                RestrictedExpression::new_string("Tea".to_owned()),
            ),
            ("owner".to_owned(), entity_ref("User", owner)),
        ]),
        HashSet::new(),
    )
    .expect("post entity")
}

/// The ACL the idiomatic Cedar way: each article carries its readers as a
/// set of user references (the same ten ACL rows as the warden dataset).
fn cedar_articles() -> Vec<Entity> {
    let mut readers: HashMap<i64, Vec<i64>> = HashMap::new();
    for (_, article, user) in ACL {
        readers.entry(article).or_default().push(user);
    }
    (5..=9)
        .map(|article| {
            let set = readers
                .get(&article)
                .into_iter()
                .flatten()
                .map(|u| entity_ref("User", *u));
            Entity::new(
                uid("Article", article),
                HashMap::from([
                    (
                        "title".to_owned(),
                        RestrictedExpression::new_string("Tea".to_owned()),
                    ),
                    // Article 7 is by user 21, the others by user 22.
                    (
                        "author".to_owned(),
                        entity_ref("User", if article == 7 { 21 } else { 22 }),
                    ),
                    ("readers".to_owned(), RestrictedExpression::new_set(set)),
                ]),
                HashSet::new(),
            )
            .expect("article entity")
        })
        .collect()
}

fn cedar_request(principal: EntityUid, act: &str, resource: EntityUid) -> Request {
    Request::new(principal, action(act), resource, Context::empty(), None).expect("request")
}

// ----------------------------------------------------------------- benches

fn decisions(c: &mut Criterion) {
    let mut rules = RuleSet::new(schema());
    let owner_rule = compile(&mut rules, "posts", Action::Delete, OWNER_RULE);
    let acl_rule = compile(&mut rules, "articles", Action::Read, ACL_RULE);

    let user23 = user(23, false);
    let admin = user(1, true);
    let post_of_23 = row(&[
        ("id", 8.into()),
        ("title", "Tea".into()),
        ("owner_id", 23.into()),
    ]);
    let post_of_21 = row(&[
        ("id", 9.into()),
        ("title", "Tea".into()),
        ("owner_id", 21.into()),
    ]);
    // Article 8: by user 22; user 23 reads it through ACL row 7.
    let article8 = row(&[
        ("id", 8.into()),
        ("title", "Tea".into()),
        ("author_id", 22.into()),
    ]);
    // Article 7: by user 21; no ACL row for user 23.
    let article7 = row(&[
        ("id", 7.into()),
        ("title", "Tea".into()),
        ("author_id", 21.into()),
    ]);
    let data = acl_dataset();

    let authorizer = Authorizer::new();
    let owner_policies = PolicySet::from_str(CEDAR_OWNER).expect("cedar owner policy");
    let acl_policies = PolicySet::from_str(CEDAR_ACL).expect("cedar acl policy");
    let mut entities = cedar_users();
    entities.push(cedar_post(8, 23));
    entities.push(cedar_post(9, 21));
    entities.extend(cedar_articles());
    let entities = Entities::from_entities(entities, None).expect("entities");

    struct Case<'a> {
        name: &'static str,
        rule: &'a Rule,
        env: Env<'a>,
        policies: &'a PolicySet,
        request: Request,
        expected: bool,
    }
    let cases = [
        Case {
            name: "owner/allow (owner)",
            rule: &owner_rule,
            env: Env::new(Some(&user23), Some(&post_of_23)),
            policies: &owner_policies,
            request: cedar_request(uid("User", 23), "delete", uid("Post", 8)),
            expected: true,
        },
        Case {
            name: "owner/allow (superuser)",
            rule: &owner_rule,
            env: Env::new(Some(&admin), Some(&post_of_21)),
            policies: &owner_policies,
            request: cedar_request(uid("User", 1), "delete", uid("Post", 9)),
            expected: true,
        },
        Case {
            name: "owner/deny",
            rule: &owner_rule,
            env: Env::new(Some(&user23), Some(&post_of_21)),
            policies: &owner_policies,
            request: cedar_request(uid("User", 23), "delete", uid("Post", 9)),
            expected: false,
        },
        Case {
            name: "acl/allow (superuser)",
            rule: &acl_rule,
            env: Env::new(Some(&admin), Some(&article7)).with_data(&data),
            policies: &acl_policies,
            request: cedar_request(uid("User", 1), "read", uid("Article", 7)),
            expected: true,
        },
        Case {
            name: "acl/allow (via ACL)",
            rule: &acl_rule,
            env: Env::new(Some(&user23), Some(&article8)).with_data(&data),
            policies: &acl_policies,
            request: cedar_request(uid("User", 23), "read", uid("Article", 8)),
            expected: true,
        },
        Case {
            name: "acl/deny",
            rule: &acl_rule,
            env: Env::new(Some(&user23), Some(&article7)).with_data(&data),
            policies: &acl_policies,
            request: cedar_request(uid("User", 23), "read", uid("Article", 7)),
            expected: false,
        },
    ];

    for case in &cases {
        // Both engines must agree before we time anything.
        assert_eq!(
            case.rule.evaluate(&case.env),
            case.expected,
            "{}",
            case.name
        );
        let cedar = authorizer.is_authorized(&case.request, case.policies, &entities);
        assert_eq!(
            cedar.decision() == Decision::Allow,
            case.expected,
            "cedar {}: {:?}",
            case.name,
            cedar.diagnostics().errors().collect::<Vec<_>>()
        );

        let mut group = c.benchmark_group(case.name);
        group.bench_function("warden", |b| {
            b.iter(|| black_box(case.rule).evaluate(black_box(&case.env)))
        });
        group.bench_function("cedar", |b| {
            b.iter(|| {
                authorizer
                    .is_authorized(
                        black_box(&case.request),
                        black_box(case.policies),
                        black_box(&entities),
                    )
                    .decision()
            })
        });
        group.finish();
    }

    // The per-request cost before SQL: fold the known principal into the
    // rule (a plain user leaves a predicate, a superuser folds to `true`).
    let mut group = c.benchmark_group("specialize");
    group.bench_function("owner/user", |b| {
        b.iter(|| black_box(&owner_rule).specialize(Some(black_box(&user23))))
    });
    group.bench_function("owner/superuser", |b| {
        b.iter(|| black_box(&owner_rule).specialize(Some(black_box(&admin))))
    });
    group.bench_function("acl/user", |b| {
        b.iter(|| black_box(&acl_rule).specialize(Some(black_box(&user23))))
    });
    group.bench_function("acl/superuser", |b| {
        b.iter(|| black_box(&acl_rule).specialize(Some(black_box(&admin))))
    });
    group.finish();

    // Load-time cost: parse + check one rule (ours) next to parsing the
    // policy text (Cedar; unvalidated, since we do not give Cedar a schema).
    let mut group = c.benchmark_group("parse+check");
    for (name, resource, act, text, cedar_text) in [
        ("owner", "posts", Action::Delete, OWNER_RULE, CEDAR_OWNER),
        ("acl", "articles", Action::Read, ACL_RULE, CEDAR_ACL),
    ] {
        group.bench_function(format!("{name}/warden"), |b| {
            b.iter(|| compile(&mut rules, resource, act, black_box(text)))
        });
        group.bench_function(format!("{name}/cedar (parse only)"), |b| {
            b.iter(|| PolicySet::from_str(black_box(cedar_text)).expect("cedar"))
        });
    }
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
