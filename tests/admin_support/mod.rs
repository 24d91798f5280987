//! Helpers for the admin API tests: the real binary started with its admin API on a free port
//! and a known token file, and a small blocking HTTP/1.1 client over a real socket (fixed
//! and chunked bodies, and Server-Sent Events read as they arrive).
#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

#[path = "../aof_support/mod.rs"]
pub mod aof_support;

pub use aof_support::{free_port, Conn, Proc};

/// The token the tests write into the token file.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A running aofd with its admin API.
pub struct Admin {
    /// The process (killed by PID on drop).
    pub proc: Proc,
    /// The admin API's port.
    pub admin_port: u16,
}

impl Admin {
    /// Starts aofd in `dir` with `appendonly yes`, the admin API on a free port and
    /// [`TOKEN`] in `<dir>/admin.token.test`; waits for the data port.
    pub fn start(dir: &Path, extra: &[&str]) -> Admin {
        std::fs::create_dir_all(dir).expect("dir");
        let token_file = dir.join("admin.token.test");
        std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
        let admin_port = free_port();
        let listen = format!("127.0.0.1:{admin_port}");
        let token_path = token_file.display().to_string();
        let mut args = vec![
            "--appendonly",
            "yes",
            "--admin-listen",
            &listen,
            "--admin-token-file",
            &token_path,
        ];
        args.extend_from_slice(extra);
        let proc = Proc::aofd(dir, &args);
        let admin = Admin { proc, admin_port };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", admin_port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "admin API never listened"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        admin
    }

    /// A client with the right token.
    pub fn http(&self) -> Http {
        Http {
            port: self.admin_port,
            token: Some(TOKEN.to_string()),
        }
    }

    /// A RESP connection to the data port.
    pub fn conn(&self) -> Conn {
        self.proc.conn()
    }
}

/// A blocking HTTP/1.1 client (one connection per request, `Connection: close`).
#[derive(Clone, Debug)]
pub struct Http {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// The bearer token sent, if any.
    pub token: Option<String>,
}

/// A complete response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Http {
    /// The same client without a token.
    pub fn anonymous(&self) -> Http {
        Http {
            port: self.port,
            token: None,
        }
    }

    /// The same client with another token.
    pub fn with_token(&self, token: &str) -> Http {
        Http {
            port: self.port,
            token: Some(token.to_string()),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None)
    }

    /// `POST path` without a body.
    pub fn post(&self, path: &str) -> Response {
        self.request("POST", path, None)
    }

    /// `PUT path` with a JSON body.
    pub fn put_json(&self, path: &str, body: &str) -> Response {
        self.request("PUT", path, Some(body.as_bytes()))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, None)
    }

    /// Sends a request (a body is sent as `application/json`) and reads the whole response.
    pub fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Response {
        let (status, headers, mut reader) = self.open(method, path, body, &[]);
        let mut body = Vec::new();
        reader.read_to_end(&mut body).expect("read body");
        Response {
            status,
            headers,
            body,
        }
    }

    /// Sends a request with extra headers and returns the status, headers and a reader of the
    /// (de-chunked) body, for streaming responses.
    pub fn open(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        extra_headers: &[(&str, &str)],
    ) -> (u16, Vec<(String, String)>, Box<dyn Read + Send>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect admin");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nUser-Agent: aofd-tests\r\n",
            self.port
        );
        if let Some(token) = &self.token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in extra_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        } else if method != "GET" && method != "HEAD" {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send head");
        if let Some(body) = body {
            stream.write_all(body).expect("send body");
        }
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("status line");
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).expect("header line");
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<u64>().ok());
        let body: Box<dyn Read + Send> = if chunked {
            Box::new(Chunked {
                inner: reader,
                left: 0,
                done: false,
            })
        } else if let Some(len) = length {
            Box::new(reader.take(len))
        } else {
            Box::new(reader)
        };
        (status, headers, body)
    }

    /// Opens a Server-Sent Events stream.
    pub fn events(&self, path: &str) -> Events {
        let (status, _, body) = self.open("GET", path, None, &[("Accept", "text/event-stream")]);
        assert_eq!(status, 200, "GET {path}");
        Events {
            reader: BufReader::new(body),
        }
    }
}

/// A chunked transfer-encoding decoder.
struct Chunked<R> {
    inner: BufReader<R>,
    left: usize,
    done: bool,
}

impl<R: Read> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            if self.inner.read_line(&mut line)? == 0 {
                self.done = true;
                return Ok(0);
            }
            if line.trim().is_empty() {
                // The CRLF after the previous chunk's data.
                line.clear();
                if self.inner.read_line(&mut line)? == 0 {
                    self.done = true;
                    return Ok(0);
                }
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunk {line:?}"))
                })?;
            if size == 0 {
                self.done = true;
                return Ok(0);
            }
            self.left = size;
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n;
        Ok(n)
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `event:`.
    pub event: String,
    /// `data:` lines joined.
    pub data: String,
}

impl Event {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

/// A stream of events.
pub struct Events {
    reader: BufReader<Box<dyn Read + Send>>,
}

impl Events {
    /// The next event (comments and keep-alives skipped); `None` when the stream ended.
    pub fn next_event(&mut self) -> Option<Event> {
        let mut event = Event {
            event: "message".to_string(),
            data: String::new(),
        };
        let mut seen = false;
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return seen.then_some(event),
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if seen {
                    return Some(event);
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => {
                    event.event = value.to_string();
                    seen = true;
                }
                "data" => {
                    if !event.data.is_empty() {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                    seen = true;
                }
                _ => {}
            }
        }
    }
}
