//! Starting the HTTP server: the JWT secret (from the environment, a file,
//! or in development mode a generated one kept beside the config) and the
//! listener with graceful shutdown. No request handling here.

use crate::app::App;
use crate::token::MIN_SECRET_BYTES;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;

/// File name of the development secret, in the config's folder.
pub const DEV_SECRET_FILE: &str = ".warden-dev-secret";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no JWT secret: set WARDEN_JWT_SECRET (at least {MIN_SECRET_BYTES} bytes) or WARDEN_JWT_SECRET_FILE, \
         or start with --dev to generate a development secret"
    )]
    Missing,
    #[error("the JWT secret is {0} bytes; use at least {MIN_SECRET_BYTES} random bytes")]
    Weak(usize),
    #[error("cannot read or write the secret file {path}: {error}")]
    File { path: String, error: std::io::Error },
}

/// The HS256 secret: `WARDEN_JWT_SECRET`, else the file named by
/// `WARDEN_JWT_SECRET_FILE`, else (only with `dev`) a random secret stored
/// in the config's folder and reused on the next start.
pub fn jwt_secret(config_folder: &Path, dev: bool) -> Result<Vec<u8>, SecretError> {
    let secret = if let Ok(secret) = std::env::var("WARDEN_JWT_SECRET") {
        secret.into_bytes()
    } else if let Ok(path) = std::env::var("WARDEN_JWT_SECRET_FILE") {
        read_secret(Path::new(&path))?
    } else if dev {
        dev_secret(&config_folder.join(DEV_SECRET_FILE))?
    } else {
        return Err(SecretError::Missing);
    };
    if secret.len() < MIN_SECRET_BYTES {
        return Err(SecretError::Weak(secret.len()));
    }
    Ok(secret)
}

fn read_secret(path: &Path) -> Result<Vec<u8>, SecretError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().as_bytes().to_vec())
        .map_err(|error| SecretError::File {
            path: path.display().to_string(),
            error,
        })
}

fn dev_secret(path: &Path) -> Result<Vec<u8>, SecretError> {
    if path.exists() {
        return read_secret(path);
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = STANDARD.encode(bytes);
    write_private(path, &secret).map_err(|error| SecretError::File {
        path: path.display().to_string(),
        error,
    })?;
    tracing::warn!(path = %path.display(), "development mode: generated a JWT secret; do not use --dev in production");
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Serves the app until Ctrl-C / SIGTERM.
pub async fn serve(app: App, listener: TcpListener) -> std::io::Result<()> {
    serve_router(app.router(), listener).await
}

/// Serves `router` on `listener` as `warden serve` does: with each
/// connection's address (the per-address login limit and rate limit need
/// it) and a graceful shutdown on Ctrl-C or SIGTERM that lets requests in
/// flight finish.
///
/// ```no_run
/// # async fn f(warden: warden::Warden) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// warden::serve(warden.router(), listener).await
/// # }
/// ```
pub async fn serve_router(router: axum::Router, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
