//! `cargo run -p warden-example-realworld [-- CONFIG [LISTEN]]`: the
//! Conduit API on a SQLite file beside its config (or
//! `WARDEN_DATABASE_URL`), at http://127.0.0.1:8080/api by default.

use std::path::PathBuf;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,warden::authz=info".into()),
        ))
        .init();
    let mut args = std::env::args().skip(1);
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = args
        .next()
        .map_or_else(|| folder.join("warden.toml"), PathBuf::from);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let mut builder = warden::Warden::from_file(&config);
    if std::env::var_os("WARDEN_JWT_SECRET").is_none() {
        eprintln!("WARDEN_JWT_SECRET is not set: using a development secret");
        builder = builder.jwt_secret("realworld-example-development-secret!");
    }
    if let Ok(url) = std::env::var("WARDEN_DATABASE_URL") {
        builder = builder.database(url);
    }
    let warden = builder.build().await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!(
        "Conduit API listening on http://{}/api",
        listener.local_addr()?
    );
    warden::serve(warden_example_realworld::app(warden), listener).await?;
    Ok(())
}
