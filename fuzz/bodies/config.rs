//! The config loader on arbitrary text: `Config::parse` (TOML with spans,
//! validation, every rule checked), every error rendered, and for a config
//! that loads, the policy compiled for both dialects, the DDL each backend
//! would run, and the PostgreSQL row-level-security export. Nothing may
//! panic, loop or overflow the stack: `warden check` runs on files a
//! developer is still writing.

use std::path::Path;
use warden::config::Config;
use warden::policy::Policy;
use warden::store::ddl;
use warden_policy::Dialect;

/// One input: nothing may panic, loop or overflow the stack.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::parse(Path::new("fuzz/warden.toml"), text) {
        Ok(config) => config,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        match Policy::compile(&config, dialect) {
            Ok(policy) => {
                let _ = warden::policy::index_warnings(&config, &policy);
                let lookups = policy.lookup_columns();
                for resource in config.resources.values() {
                    let _ = ddl::create_table(&config, resource, dialect);
                    let columns = lookups.get(&resource.name).cloned().unwrap_or_default();
                    for index in ddl::indexes(resource, &columns) {
                        let _ = index.create_statement(dialect);
                    }
                }
                let _ = ddl::internal_tables(&config, dialect);
                if dialect == Dialect::Postgres {
                    let _ = warden::rls::export(&config, &policy).map_err(|e| e.to_string());
                }
            }
            Err(errors) => {
                let _ = errors.to_string();
            }
        }
    }
}
