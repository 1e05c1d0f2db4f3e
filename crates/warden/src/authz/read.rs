//! Reading one row as the caller may see it, with the relations the
//! request expands (`authz::expand`).

use super::{Authz, AuthzError, parse_key};
use crate::config::{DenyStatus, ResourceDef};
use crate::rows::output::{render, version};
use crate::store::Row;
use serde_json::{Map, Value as Json};
use warden_policy::Action;

/// One row as the caller may see it (hidden and withheld fields left
/// out), and its version for `If-Match`.
///
/// ```no_run
/// # async fn f(warden: warden::Warden) -> Result<(), warden::Error> {
/// let post = warden.guard(None).read("posts", "4").await?;
/// println!("{} (version {:?})", post.json["title"], post.version);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Item {
    pub json: Map<String, Json>,
    pub version: Option<i64>,
}

/// A fetched row with what its caller may see of it.
pub(super) struct Visible {
    pub row: Row,
    pub json: Map<String, Json>,
}

impl<'a> Authz<'a> {
    /// `GET /api/<resource>/<id>`.
    pub async fn read(
        &self,
        resource: &str,
        id: &str,
        expand: &[String],
    ) -> Result<Item, AuthzError> {
        let resource = self.resource(resource)?;
        self.require_scopes(resource, Action::Read)?;
        self.read_item(resource, id, expand).await
    }

    /// A read once its scopes are checked (by [`Authz::read`], or for a
    /// write's answer by `Authz::written`).
    pub(super) async fn read_item(
        &self,
        resource: &ResourceDef,
        id: &str,
        expand: &[String],
    ) -> Result<Item, AuthzError> {
        let visible = self.read_visible(resource, id).await?;
        let version = version(&visible.row);
        let mut items = vec![visible];
        self.expand(resource, &mut items, expand, true).await?;
        let json = items.pop().map(|v| v.json).unwrap_or_default();
        Ok(Item { json, version })
    }

    /// Fetches one row with its read flag and field flags; answers 404,
    /// the deny status or 401 when the caller may not see it.
    pub(super) async fn read_visible(
        &self,
        resource: &ResourceDef,
        id: &str,
    ) -> Result<Visible, AuthzError> {
        let key = parse_key(resource, id)?;
        let read = self.gate(resource, Action::Read);
        if read.allows_nothing()
            && (resource.deny_status == DenyStatus::NotFound || self.caller.is_anonymous())
        {
            // The answer does not depend on whether the row exists.
            self.log_denial(Action::Read, resource, id, read.rule, None);
            return Err(self.unseen(read.rule, resource));
        }
        let fields = self.field_gates(resource);
        let row = self.fetch_by_key(resource, &key, &read, &fields).await?;
        let row = self.seen(resource, id, &read, row)?;
        let withheld = fields.withheld(&row);
        let json = render(resource, &row, |f| withheld.contains(f));
        Ok(Visible { row, json })
    }
}
