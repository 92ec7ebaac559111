//! `trustgate console`: a local web console over the admin API. It listens on 127.0.0.1 only
//! and sends every admin call through [`crate::api::AdminApi::send`] with the operator's credentials
//! (SigV4 from the AWS credential chain, or none for `make dev`): nothing new in the cloud.
//! A per-run token printed at start is the only way in (guard.rs). Server-rendered HTML
//! (render.rs, templates/), no JavaScript.

mod forms;
mod guard;
mod multipart;
mod pages;
mod render;
mod server;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

use crate::commands::Ctx;
use crate::error::CliError;

/// Serve the web console on 127.0.0.1 (open the URL it prints)
#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Port on 127.0.0.1 [default: a free one]
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

/// Binds, prints the URL with this run's token, and serves until interrupted.
pub async fn run(ctx: &Ctx, args: &ConsoleArgs) -> Result<(), CliError> {
    let api = ctx.admin().await?;
    let endpoint = ctx.api.endpoint.clone().unwrap_or_default();
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| CliError::usage(format!("cannot listen on {address}: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| CliError::usage(format!("cannot read the console's address: {e}")))?
        .port();
    let guard = guard::Guard::random(port);
    println!("Trustgate console for {endpoint} (Ctrl-C stops it):");
    println!("    {}", guard.start_url());
    let _ = std::io::stdout().flush();
    let console = pages::Console {
        api,
        endpoint,
        pages: render::Pages::new(),
    };
    server::serve(listener, console, guard)
        .await
        .map_err(|e| CliError::Unavailable(format!("the console stopped: {e}")))
}
