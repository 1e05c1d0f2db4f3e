//! What rules may name: resources with typed fields and relations, the
//! principal's attributes, and SQL functions. The engine builds a [`Schema`]
//! from its config; the checker resolves every name in a rule against it.

use crate::value::FieldType;
use std::collections::BTreeMap;

/// Everything a rule can refer to.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub resources: BTreeMap<String, ResourceSchema>,
    /// Attributes readable as `user.<name>` (besides `scopes` and `roles`).
    pub user: BTreeMap<String, FieldSchema>,
    /// SQL functions callable from rules (PostgreSQL only).
    pub functions: BTreeMap<String, SqlFunction>,
}

/// One resource (one table).
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    pub name: String,
    pub table: String,
    pub primary_key: String,
    pub fields: BTreeMap<String, FieldSchema>,
    pub relations: BTreeMap<String, RelationSchema>,
}

/// A field (one column; the column is named like the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSchema {
    pub ty: FieldType,
    pub nullable: bool,
}

/// A named link from one resource to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationSchema {
    /// Target resource name.
    pub target: String,
    pub kind: RelationKind,
    /// For to-one: the field on this resource holding the target's key.
    /// For to-many: the field on the target holding this resource's key.
    pub via: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    ToOne,
    ToMany,
}

/// A SQL function the database defines (seed 004's `check_article_access`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFunction {
    pub params: Vec<FieldType>,
    pub returns: FieldType,
}

impl Schema {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a resource; returns it for chaining field and relation calls.
    pub fn resource(&mut self, name: &str, primary_key: &str) -> &mut ResourceSchema {
        self.resources
            .entry(name.to_owned())
            .or_insert_with(|| ResourceSchema {
                name: name.to_owned(),
                table: name.to_owned(),
                primary_key: primary_key.to_owned(),
                fields: BTreeMap::new(),
                relations: BTreeMap::new(),
            })
    }

    /// Declares a `user.<name>` attribute.
    pub fn user_attribute(&mut self, name: &str, ty: FieldType, nullable: bool) -> &mut Self {
        self.user
            .insert(name.to_owned(), FieldSchema { ty, nullable });
        self
    }

    /// Declares a SQL function callable from rules.
    pub fn function(
        &mut self,
        name: &str,
        params: Vec<FieldType>,
        returns: FieldType,
    ) -> &mut Self {
        self.functions
            .insert(name.to_owned(), SqlFunction { params, returns });
        self
    }
}

impl ResourceSchema {
    pub fn field(&mut self, name: &str, ty: FieldType, nullable: bool) -> &mut Self {
        self.fields
            .insert(name.to_owned(), FieldSchema { ty, nullable });
        self
    }

    pub fn to_one(&mut self, name: &str, target: &str, via: &str) -> &mut Self {
        self.relations.insert(
            name.to_owned(),
            RelationSchema {
                target: target.to_owned(),
                kind: RelationKind::ToOne,
                via: via.to_owned(),
            },
        );
        self
    }

    pub fn to_many(&mut self, name: &str, target: &str, via: &str) -> &mut Self {
        self.relations.insert(
            name.to_owned(),
            RelationSchema {
                target: target.to_owned(),
                kind: RelationKind::ToMany,
                via: via.to_owned(),
            },
        );
        self
    }

    pub fn with_table(&mut self, table: &str) -> &mut Self {
        self.table = table.to_owned();
        self
    }
}
