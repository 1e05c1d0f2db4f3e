//! A long `||` / `&&` chain in `?filter=` is flat text but a deep tree:
//! it must be refused (400) or answered, never crash the server. In its
//! own test binary because a stack overflow aborts the whole process.

mod common;

use common::{on_each_backend, with_query};
use reqwest::Method;

#[tokio::test]
async fn long_boolean_chain_in_filter_is_refused_or_answered_never_a_crash() {
    on_each_backend("posts", |app| async move {
        for op in [" || ", " && "] {
            for n in [100, 300, 1_000, 2_000] {
                let filter = vec!["row.id == 1"; n].join(op);
                let path = with_query("/api/posts", &[("filter", &filter)]);
                let (status, body) = app.call(Method::GET, &path, None, None).await;
                let what = format!("{:?}: {n} terms joined by {op:?}", app.backend);
                assert!(status == 200 || status == 400, "{what}: {status} {body}");
                if status == 400 {
                    // Too deep for the parser, or over the filter budget.
                    let kind = body["type"].as_str().unwrap_or("");
                    assert!(
                        kind.ends_with("/invalid-query") || kind.ends_with("/filter-too-complex"),
                        "{what}: {body}"
                    );
                }
                let (status, _) = app.call(Method::GET, "/healthz", None, None).await;
                assert_eq!(status, 200, "{what}: the server is still up");
            }
        }
    })
    .await;
}
