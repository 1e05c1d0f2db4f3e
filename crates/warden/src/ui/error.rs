//! The one place where a page's failure becomes an answer. Authorization
//! errors go through the API's own mapping (`Problem::from`), so a page
//! answers with the same status and the same words as the JSON; the
//! problem is then rendered as an HTML page. A 401 becomes a login
//! redirect in the UI router's layer. It must not decide access.

use super::templates;
use crate::authz::AuthzError;
use crate::problem::Problem;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Authz(#[from] AuthzError),
    /// A request refused before any page code ran (bad CSRF token, bad
    /// credential, malformed form), already mapped to a problem.
    #[error("{}", .0.detail)]
    Rejected(Problem),
    #[error("template: {0}")]
    Template(String),
}

impl From<Problem> for UiError {
    fn from(problem: Problem) -> Self {
        UiError::Rejected(problem)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let problem = match self {
            UiError::Authz(error) => Problem::from(error),
            UiError::Rejected(problem) => problem,
            UiError::Template(error) => Problem::internal(&error),
        };
        let status = problem.kind.status();
        let page = templates::render(
            "error.html",
            context! { title => problem.kind.title(), detail => &problem.detail },
        );
        match page {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, problem.detail).into_response(),
        }
    }
}
