//! A config written in Rust instead of TOML: [`Auth`], [`Resource`] and
//! [`Field`] build the very tables a `warden.toml` holds, so one validator
//! checks both and reports problems the same way. Nothing is checked here.

use toml::{Table, Value};
use warden_policy::Action;

/// The `[auth]` section: which resource holds accounts and which of its
/// fields is the login.
///
/// ```
/// let auth = warden::Auth::new("users", "email")
///     .token_ttl("30m")
///     .role("admin", ["posts:moderate"])
///     .registration(true);
/// # drop(auth);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Auth {
    table: Table,
}

impl Auth {
    /// Accounts live in resource `users`; `login` is the field used as the
    /// OAuth2 username.
    ///
    /// ```
    /// let auth = warden::Auth::new("employees", "email");
    /// # drop(auth);
    /// ```
    pub fn new(users: &str, login: &str) -> Auth {
        let mut table = Table::new();
        table.insert("users".into(), users.into());
        table.insert("login".into(), login.into());
        Auth { table }
    }

    /// Lifetime of access tokens, e.g. `"30m"` (humantime syntax).
    ///
    /// ```
    /// let auth = warden::Auth::new("users", "email").token_ttl("1h");
    /// # drop(auth);
    /// ```
    pub fn token_ttl(self, ttl: &str) -> Auth {
        self.set("token_ttl", ttl)
    }

    /// A role and the scopes it grants.
    ///
    /// ```
    /// let auth = warden::Auth::new("users", "email").role("admin", ["admin:read", "admin:write"]);
    /// # drop(auth);
    /// ```
    pub fn role<'s>(mut self, name: &str, scopes: impl IntoIterator<Item = &'s str>) -> Auth {
        let roles = self
            .table
            .entry("roles")
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(roles) = roles {
            roles.insert(name.into(), strings(scopes));
        }
        self
    }

    /// Whether `POST /auth/register` is open.
    ///
    /// ```
    /// let auth = warden::Auth::new("users", "email").registration(true);
    /// # drop(auth);
    /// ```
    pub fn registration(self, open: bool) -> Auth {
        self.set("registration", open)
    }

    /// Any other `[auth]` key, as in the TOML file (e.g. `token_scheme`,
    /// `refresh_ttl`, `user_claims`).
    ///
    /// ```
    /// let auth = warden::Auth::new("users", "email").set("token_scheme", "Token");
    /// # drop(auth);
    /// ```
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Auth {
        self.table.insert(key.into(), value.into());
        self
    }

    pub(super) fn into_table(self) -> Table {
        self.table
    }
}

/// One resource: a table with fields, relations and one rule per action.
///
/// ```
/// use warden::{Action, Field, Resource};
/// let posts = Resource::new("posts")
///     .field("id", Field::integer().primary())
///     .field("owner_id", Field::integer().references("users").owner())
///     .relation("owner", "users", "owner_id")
///     .rule(Action::Update, "row.owner_id == user.id");
/// # drop(posts);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Resource {
    name: String,
    table: Table,
}

impl Resource {
    /// A resource named `name` (its table has the same name by default).
    ///
    /// ```
    /// let tags = warden::Resource::new("tags");
    /// # drop(tags);
    /// ```
    pub fn new(name: &str) -> Resource {
        Resource {
            name: name.to_owned(),
            table: Table::new(),
        }
    }

    /// Adds a field.
    ///
    /// ```
    /// let r = warden::Resource::new("tags").field("name", warden::Field::text().primary());
    /// # drop(r);
    /// ```
    pub fn field(self, name: &str, field: Field) -> Resource {
        self.nested("fields", name, Value::Table(field.table))
    }

    /// A to-one relation through this resource's field `via`.
    ///
    /// ```
    /// let r = warden::Resource::new("posts").relation("owner", "users", "owner_id");
    /// # drop(r);
    /// ```
    pub fn relation(self, name: &str, to: &str, via: &str) -> Resource {
        self.nested("relations", name, relation(to, via, false))
    }

    /// A to-many relation: rows of `to` whose field `via` holds this key.
    ///
    /// ```
    /// let r = warden::Resource::new("posts").relation_many("comments", "comments", "post_id");
    /// # drop(r);
    /// ```
    pub fn relation_many(self, name: &str, to: &str, via: &str) -> Resource {
        self.nested("relations", name, relation(to, via, true))
    }

    /// The rule for `action`, in warden's rule language. No rule: denied.
    ///
    /// ```
    /// let r = warden::Resource::new("posts").rule(warden::Action::List, "true");
    /// # drop(r);
    /// ```
    pub fn rule(self, action: Action, rule: &str) -> Resource {
        self.nested("rules", action.name(), rule.into())
    }

    /// Scopes the caller must hold for `action`, checked before any rule.
    ///
    /// ```
    /// let r = warden::Resource::new("employees")
    ///     .require_scopes(warden::Action::Create, ["admin:write"]);
    /// # drop(r);
    /// ```
    pub fn require_scopes<'s>(
        self,
        action: Action,
        scopes: impl IntoIterator<Item = &'s str>,
    ) -> Resource {
        self.nested("require_scopes", action.name(), strings(scopes))
    }

    /// A uniqueness constraint over several fields.
    ///
    /// ```
    /// let r = warden::Resource::new("votes").unique(["post_id", "user_id"]);
    /// # drop(r);
    /// ```
    pub fn unique<'s>(mut self, fields: impl IntoIterator<Item = &'s str>) -> Resource {
        let list = self
            .table
            .entry("unique")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(strings(fields));
        }
        self
    }

    /// Any other resource key, as in the TOML file (e.g. `table`,
    /// `deny_status`, `page_size`).
    ///
    /// ```
    /// let r = warden::Resource::new("articles").set("deny_status", 403);
    /// # drop(r);
    /// ```
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Resource {
        self.table.insert(key.into(), value.into());
        self
    }

    fn nested(mut self, section: &str, key: &str, value: Value) -> Resource {
        let entry = self
            .table
            .entry(section)
            .or_insert_with(|| Value::Table(Table::new()));
        if let Value::Table(entry) = entry {
            entry.insert(key.into(), value);
        }
        self
    }

    pub(super) fn into_entry(self) -> (String, Table) {
        (self.name, self.table)
    }
}

/// One field: its type and flags.
///
/// ```
/// let email = warden::Field::text().unique().immutable();
/// # drop(email);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Field {
    table: Table,
}

impl Field {
    /// A field of a type named as in TOML (`integer`, `text`, `bool`,
    /// `float`, `timestamp`, `json`, `password`).
    ///
    /// ```
    /// let f = warden::Field::of_type("float");
    /// # drop(f);
    /// ```
    pub fn of_type(kind: &str) -> Field {
        let mut table = Table::new();
        table.insert("type".into(), kind.into());
        Field { table }
    }

    /// An integer field.
    ///
    /// ```
    /// let f = warden::Field::integer();
    /// # drop(f);
    /// ```
    pub fn integer() -> Field {
        Field::of_type("integer")
    }

    /// A text field.
    ///
    /// ```
    /// let f = warden::Field::text();
    /// # drop(f);
    /// ```
    pub fn text() -> Field {
        Field::of_type("text")
    }

    /// A boolean field.
    ///
    /// ```
    /// let f = warden::Field::bool();
    /// # drop(f);
    /// ```
    pub fn bool() -> Field {
        Field::of_type("bool")
    }

    /// A timestamp field.
    ///
    /// ```
    /// let f = warden::Field::timestamp().default_value("now");
    /// # drop(f);
    /// ```
    pub fn timestamp() -> Field {
        Field::of_type("timestamp")
    }

    /// A write-only password, stored as an argon2id hash.
    ///
    /// ```
    /// let f = warden::Field::password();
    /// # drop(f);
    /// ```
    pub fn password() -> Field {
        Field::of_type("password")
    }

    /// The primary key.
    ///
    /// ```
    /// let f = warden::Field::integer().primary();
    /// # drop(f);
    /// ```
    pub fn primary(self) -> Field {
        self.set("primary", true)
    }

    /// May hold null.
    ///
    /// ```
    /// let f = warden::Field::text().nullable();
    /// # drop(f);
    /// ```
    pub fn nullable(self) -> Field {
        self.set("nullable", true)
    }

    /// Unique across the table.
    ///
    /// ```
    /// let f = warden::Field::text().unique();
    /// # drop(f);
    /// ```
    pub fn unique(self) -> Field {
        self.set("unique", true)
    }

    /// Never returned.
    ///
    /// ```
    /// let f = warden::Field::text().hidden();
    /// # drop(f);
    /// ```
    pub fn hidden(self) -> Field {
        self.set("hidden", true)
    }

    /// Set by the server; clients may not write it.
    ///
    /// ```
    /// let f = warden::Field::timestamp().readonly();
    /// # drop(f);
    /// ```
    pub fn readonly(self) -> Field {
        self.set("readonly", true)
    }

    /// Settable on create only.
    ///
    /// ```
    /// let f = warden::Field::text().immutable();
    /// # drop(f);
    /// ```
    pub fn immutable(self) -> Field {
        self.set("immutable", true)
    }

    /// Holds the creating user's key, set by the server.
    ///
    /// ```
    /// let f = warden::Field::integer().references("users").owner();
    /// # drop(f);
    /// ```
    pub fn owner(self) -> Field {
        self.set("owner", true)
    }

    /// Searched by `?search=`.
    ///
    /// ```
    /// let f = warden::Field::text().searchable();
    /// # drop(f);
    /// ```
    pub fn searchable(self) -> Field {
        self.set("searchable", true)
    }

    /// A foreign key to `resource`'s primary key.
    ///
    /// ```
    /// let f = warden::Field::integer().references("posts");
    /// # drop(f);
    /// ```
    pub fn references(self, resource: &str) -> Field {
        self.set("references", resource)
    }

    /// The value used when a create leaves the field out (`"now"` for
    /// timestamps).
    ///
    /// ```
    /// let f = warden::Field::bool().default_value(true);
    /// # drop(f);
    /// ```
    pub fn default_value(self, value: impl Into<Value>) -> Field {
        self.set("default", value)
    }

    /// A per-row read rule for this field.
    ///
    /// ```
    /// let f = warden::Field::text().read_rule("row.id == user.id");
    /// # drop(f);
    /// ```
    pub fn read_rule(self, rule: &str) -> Field {
        self.set("read", rule)
    }

    /// Any other field key, as in the TOML file (e.g. `on_delete`).
    ///
    /// ```
    /// let f = warden::Field::integer().references("posts").set("on_delete", "cascade");
    /// # drop(f);
    /// ```
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Field {
        self.table.insert(key.into(), value.into());
        self
    }
}

fn relation(to: &str, via: &str, many: bool) -> Value {
    let mut table = Table::new();
    table.insert("to".into(), to.into());
    table.insert("via".into(), via.into());
    if many {
        table.insert("many".into(), true.into());
    }
    Value::Table(table)
}

fn strings<'s>(items: impl IntoIterator<Item = &'s str>) -> Value {
    Value::Array(items.into_iter().map(Value::from).collect())
}
