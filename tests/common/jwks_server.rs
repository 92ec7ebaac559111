//! A JWKS endpoint the test controls: a tiny HTTP/1.1 server on 127.0.0.1 that counts
//! connections and requests and answers what the test last set (keys, an error, a redirect, a
//! hang, an oversized body). One request per connection (`Connection: close`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this body and, when set, this `Cache-Control`.
    Json {
        body: String,
        cache_control: Option<String>,
    },
    /// This status with an empty body.
    Status(u16),
    /// 302 to this location.
    Redirect(String),
    /// Reads the request and never answers (until 60 s pass).
    Hang,
    /// 200 with `bytes` of JSON-ish filler, declared in `Content-Length` or sent chunked.
    Huge { bytes: usize, content_length: bool },
}

impl Reply {
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::Json {
            body: body.into(),
            cache_control: None,
        }
    }

    pub fn json_cached(body: impl Into<String>, cache_control: &str) -> Reply {
        Reply::Json {
            body: body.into(),
            cache_control: Some(cache_control.into()),
        }
    }
}

struct Shared {
    reply: Mutex<(Reply, Duration)>,
    connections: AtomicUsize,
    requests: AtomicUsize,
}

pub struct JwksServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl JwksServer {
    pub async fn start(reply: Reply) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            reply: Mutex::new((reply, Duration::ZERO)),
            connections: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
        });
        let accept = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    shared.connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(serve(stream, shared.clone()));
                }
            }
        });
        JwksServer {
            addr,
            shared,
            accept,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:{port}/jwks`.
    pub fn url(&self) -> String {
        format!("http://{}/jwks", self.addr)
    }

    /// Answers `reply` from now on.
    pub fn set(&self, reply: Reply) {
        self.shared.reply.lock().unwrap().0 = reply;
    }

    /// Waits this long before answering each request from now on.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.reply.lock().unwrap().1 = delay;
    }

    /// Requests received (a refused redirect or oversized body still counts as one).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// TCP connections accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Stops listening: later connections are refused.
    pub fn stop(&self) {
        self.accept.abort();
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    // The request head; a test client never sends more than a few hundred bytes.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) if head.len() + n > 16 * 1024 => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let (reply, delay) = shared.reply.lock().unwrap().clone();
    tokio::time::sleep(delay).await;
    let _ = respond(&mut stream, reply).await;
    let _ = stream.shutdown().await;
}

async fn respond(stream: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Json {
            body,
            cache_control,
        } => {
            let cache_control = cache_control
                .map(|v| format!("Cache-Control: {v}\r\n"))
                .unwrap_or_default();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/jwk-set+json\r\n\
                 Content-Length: {}\r\n{cache_control}Connection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await
        }
        Reply::Status(status) => {
            let head = format!(
                "HTTP/1.1 {status} Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await
        }
        Reply::Redirect(location) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }
        Reply::Huge {
            bytes,
            content_length,
        } => {
            let framing = if content_length {
                format!("Content-Length: {bytes}")
            } else {
                "Transfer-Encoding: chunked".to_owned()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\n\
                 Connection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                if !content_length {
                    stream.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                }
                stream.write_all(&chunk[..n]).await?;
                if !content_length {
                    stream.write_all(b"\r\n").await?;
                }
                sent += n;
            }
            if !content_length {
                stream.write_all(b"0\r\n\r\n").await?;
            }
            Ok(())
        }
    }
}
