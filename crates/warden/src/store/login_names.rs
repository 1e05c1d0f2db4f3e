//! Brings stored login names to their normalised form
//! (`crate::login_name`) on every migration, so names written before
//! normalisation existed, or by hand, are found at login and covered by
//! the unique index. Accounts whose names normalise alike are never
//! merged: the migration is refused, naming them. It must not change any
//! other column nor delete a row.

use super::{Store, StoreError};
use crate::config::{Config, VERSION_COLUMN};
use crate::login_name::normalize;
use sea_query::{Alias, Expr, ExprTrait, Order, Query};
use std::collections::BTreeMap;
use warden_policy::Value;

impl Store {
    /// Rewrites every login name that is not in normalised form, in one
    /// transaction; returns how many changed. Refused, with nothing
    /// changed, when two accounts' names normalise to the same name.
    pub async fn normalize_login_names(&self, config: &Config) -> Result<u64, StoreError> {
        let (Some(auth), Some(users)) = (&config.auth, config.users_resource()) else {
            return Ok(0);
        };
        let table = Alias::new(users.table.clone());
        let key = Alias::new(users.primary_key.clone());
        let login = Alias::new(auth.login.clone());
        let select = Query::select()
            .column(key.clone())
            .column(login.clone())
            .from(table.clone())
            .order_by(key.clone(), Order::Asc)
            .to_owned();
        let mut tx = self.begin().await?;
        // Normalised name -> the accounts holding it: (key, stored name).
        let mut holders: BTreeMap<String, Vec<(Value, String)>> = BTreeMap::new();
        for row in tx.fetch_rows(users, &select).await? {
            let Some(Value::Text(stored)) = row.get(&auth.login) else {
                continue;
            };
            let id = row.get(&users.primary_key).cloned().unwrap_or(Value::Null);
            holders
                .entry(normalize(stored))
                .or_default()
                .push((id, stored.clone()));
        }
        let clashes: Vec<String> = holders
            .iter()
            .filter(|(_, accounts)| accounts.len() > 1)
            .map(|(name, accounts)| {
                let spellings: Vec<String> = accounts
                    .iter()
                    .map(|(id, stored)| format!("{stored:?} ({} {id})", users.primary_key))
                    .collect();
                format!("{} all become {name:?}", spellings.join(", "))
            })
            .collect();
        if !clashes.is_empty() {
            return Err(StoreError::LoginNameClash {
                field: format!("{}.{}", users.table, auth.login),
                clashes,
            });
        }
        let mut changed = 0;
        for (name, accounts) in holders {
            let [(id, stored)] = accounts.as_slice() else {
                continue;
            };
            if *stored == name {
                continue;
            }
            let id = super::to_sql_value(users.primary_field().kind, id, self.dialect()).map_err(
                |problem| StoreError::InvalidValue {
                    field: users.primary_key.clone(),
                    problem,
                },
            )?;
            changed += tx
                .execute(
                    Query::update()
                        .table(table.clone())
                        .value(login.clone(), name)
                        // A client holding the old ETag must not overwrite
                        // the row as if nothing had changed.
                        .value(
                            Alias::new(VERSION_COLUMN),
                            Expr::col(Alias::new(VERSION_COLUMN)).add(1),
                        )
                        .and_where(Expr::col(key.clone()).eq(Expr::val(id))),
                )
                .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
