//! The bridge to the rule language: the [`Schema`] a rule may name, and
//! rule texts as the policy crate's sources. It must not parse or check
//! rules itself; the policy crate does.

use super::model::{Config, FieldKind, RelationKind, RuleText};
use warden_policy::{Location, RuleSource, Schema};

impl Config {
    /// Resources (without password fields), relations, `user.<attr>`
    /// attributes and SQL functions, as rules see them.
    pub fn policy_schema(&self) -> Schema {
        let mut schema = Schema::new();
        for resource in self.resources.values() {
            let entry = schema.resource(&resource.name, &resource.primary_key);
            entry.with_table(&resource.table);
            for field in resource.fields.values() {
                if field.kind != FieldKind::Password {
                    entry.field(&field.name, field.kind.value_type(), field.nullable);
                }
            }
            for relation in resource.relations.values() {
                match relation.kind {
                    RelationKind::ToOne => {
                        entry.to_one(&relation.name, &relation.target, &relation.via)
                    }
                    RelationKind::ToMany => {
                        entry.to_many(&relation.name, &relation.target, &relation.via)
                    }
                };
            }
        }
        if let Some(users) = self.users_resource() {
            for field in users.fields.values() {
                if field.kind != FieldKind::Password {
                    schema.user_attribute(&field.name, field.kind.value_type(), field.nullable);
                }
            }
            // Rules say `user.id` whatever the key column is called.
            let key = users.primary_field();
            schema.user_attribute("id", key.kind.value_type(), false);
        }
        for function in self.functions.values() {
            schema.function(&function.name, function.params.clone(), function.returns);
        }
        schema
    }
}

impl RuleText {
    /// The rule as the policy crate's diagnostics want it: with its place
    /// in the config file when offsets map one to one.
    pub fn to_rule_source(&self, config: &Config) -> RuleSource {
        let location = self.location.exact.then(|| Location {
            file: self.location.file.display().to_string(),
            file_text: config.source.to_string(),
            offset: self.location.offset,
        });
        RuleSource {
            text: self.text.clone(),
            location,
        }
    }
}
