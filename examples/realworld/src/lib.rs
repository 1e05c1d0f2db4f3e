//! The RealWorld "Conduit" API on the warden library: the spec's routes
//! under `/api`, its `Authorization: Token …` header and its
//! `{"errors": {…}}` bodies. Handlers translate HTTP; every write and
//! every check is warden's (`Guard`, with the rules in `warden.toml`), and
//! the reads warden's list cannot express are SELECTs carrying each
//! table's list rule (`sql`).

mod articles;
mod comments;
mod errors;
mod profiles;
mod session;
mod sql;
mod tags;
mod users;

use axum::Router;
use axum::routing::{delete, get, post};
use warden::Warden;

/// The whole API, under `/api` as the spec's server URL has it.
pub fn app(warden: Warden) -> Router {
    let api = Router::new()
        .route("/users", post(users::register))
        .route("/users/login", post(users::login))
        .route("/user", get(users::current).put(users::update))
        .route("/profiles/{username}", get(profiles::get))
        .route(
            "/profiles/{username}/follow",
            post(profiles::follow).delete(profiles::unfollow),
        )
        .route("/articles", get(articles::list).post(articles::create))
        .route("/articles/feed", get(articles::feed))
        .route(
            "/articles/{slug}",
            get(articles::get)
                .put(articles::update)
                .delete(articles::delete),
        )
        .route(
            "/articles/{slug}/favorite",
            post(articles::favorite).delete(articles::unfavorite),
        )
        .route(
            "/articles/{slug}/comments",
            get(comments::list).post(comments::create),
        )
        .route("/articles/{slug}/comments/{id}", delete(comments::delete))
        .route("/tags", get(tags::list));
    Router::new()
        .nest("/api", api)
        .fallback(errors::no_such_route)
        .with_state(warden)
}
