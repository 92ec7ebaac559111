//! The console's HTTP server: hyper 1 on 127.0.0.1 only, one task per connection. Every
//! request passes the guard (guard.rs) before anything else; every answer carries a strict
//! Content-Security-Policy (no script, no inline style, no framing, forms to itself only),
//! `X-Frame-Options: DENY` and `Cache-Control: no-store` (pages hold secrets once).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use trustgate::domain::organization::OrgName;

use super::guard::{self, Guard, Verdict};
use super::multipart;
use super::pages::Console;
use super::render::STYLESHEET;

/// The largest form body read: a certificate is a few KiB, a token at most 16 KiB.
pub const MAX_BODY: usize = 256 * 1024;

pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// One answer, before the headers every answer gets.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
}

impl Reply {
    pub fn html(status: u16, html: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: html.into_bytes(),
            location: None,
            set_cookie: None,
        }
    }

    /// 303 See Other: after a POST, or to drop the token from the address bar.
    pub fn redirect(location: String) -> Reply {
        Reply {
            location: Some(location),
            ..Reply::text(303, "")
        }
    }

    pub fn text(status: u16, text: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: text.as_bytes().to_vec(),
            location: None,
            set_cookie: None,
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let headers = response.headers_mut();
        let mut set = |name: header::HeaderName, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        set(header::CONTENT_TYPE, self.content_type);
        set(header::CONTENT_SECURITY_POLICY, CSP);
        set(header::X_FRAME_OPTIONS, "DENY");
        set(header::CACHE_CONTROL, "no-store");
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        // Not `no-referrer`: under it browsers send `Origin: null` with the console's own form
        // posts, which the guard must refuse. `same-origin` keeps URLs from other sites.
        set(header::REFERRER_POLICY, "same-origin");
        if let Some(location) = &self.location {
            set(header::LOCATION, location);
        }
        if let Some(cookie) = &self.set_cookie {
            set(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, console: Console, guard: Guard) -> std::io::Result<()> {
    let state = Arc::new((console, guard));
    loop {
        let (stream, _) = listener.accept().await?;
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(&state.0, &state.1, request).await) }
            });
            // A client that goes away mid-request is no error of ours.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn header(request: &Request<Incoming>, name: header::HeaderName) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn handle(
    console: &Console,
    guard: &Guard,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let verdict = guard.check(&guard::Request {
        method: &method,
        path: &path,
        query: query.as_deref(),
        host: header(&request, header::HOST),
        origin: header(&request, header::ORIGIN),
        cookie: header(&request, header::COOKIE),
    });
    let reply = match verdict {
        Verdict::Allow => {
            let content_type = header(&request, header::CONTENT_TYPE).map(str::to_owned);
            let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(body) => body.to_bytes(),
                Err(_) => return Reply::text(413, "The form is too large.").into_response(),
            };
            route(
                console,
                &method,
                &path,
                query.as_deref(),
                content_type.as_deref(),
                &body,
            )
            .await
        }
        Verdict::SetCookie { location } => Reply {
            set_cookie: Some(guard.cookie()),
            ..Reply::redirect(location)
        },
        Verdict::ForeignHost => {
            Reply::text(421, "This console answers only to 127.0.0.1 and localhost.")
        }
        Verdict::ForeignOrigin => {
            Reply::text(403, "A change must come from the console's own pages.")
        }
        Verdict::NoToken => Reply::text(
            401,
            "Open the URL that `trustgate console` printed when it started (it holds this run's token).",
        ),
    };
    reply.into_response()
}

/// The console's own paths (not the admin API's): see pages.rs for each page.
async fn route(
    console: &Console,
    method: &str,
    path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Reply {
    let form = || multipart::parse(content_type, body);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", [""]) => {
            console
                .organizations(Vec::new(), serde_json::json!({}), 200)
                .await
        }
        ("GET", ["static", "console.css"]) => Reply {
            content_type: "text/css; charset=utf-8",
            ..Reply::text(200, STYLESHEET)
        },
        ("POST", ["organizations"]) => match form() {
            Ok(form) => console.create_organization(&form).await,
            Err(e) => Reply::text(400, &e),
        },
        (_, ["o", org, rest @ ..]) => {
            let Ok(org) = OrgName::parse(org) else {
                return Reply::text(404, "No such organization name.");
            };
            let created = query
                .and_then(|q| {
                    url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "created")
                })
                .map(|(_, v)| v.into_owned());
            let form = match method {
                "POST" => match form() {
                    Ok(form) => Some(form),
                    Err(e) => return Reply::text(400, &e),
                },
                _ => None,
            };
            match (method, rest, form.as_ref()) {
                ("GET", [], _) => Reply::redirect(format!("/o/{org}/connections")),
                ("GET", ["connections"], _) => console.connections(&org, created).await,
                ("GET", ["connections", "new"], _) => {
                    console.new_connection(&org, Vec::new(), serde_json::json!({}), 200)
                }
                ("POST", ["connections"], Some(form)) => {
                    console.create_connection(&org, form).await
                }
                ("GET", ["applications"], _) => console.applications(&org).await,
                ("GET", ["applications", "new"], _) => {
                    let form = serde_json::json!({ "grant_types": [super::pages::TOKEN_EXCHANGE] });
                    console.new_application(&org, Vec::new(), form, 200)
                }
                ("POST", ["applications"], Some(form)) => {
                    console.create_application(&org, form).await
                }
                ("GET", ["try"], _) => console.try_it(&org, None).await,
                ("POST", ["try"], Some(form)) => console.try_it(&org, Some(form)).await,
                _ => Reply::text(404, "No such page."),
            }
        }
        _ => Reply::text(404, "No such page."),
    }
}
