//! A minimal LSP client over a child process: Content-Length framing, requests with ids,
//! notifications kept until asked for, and a timeout on every wait.
//!
//! Shared by the scripted session (`tests/it/lsp.rs`) and the latency benchmark
//! (`benches/lsp.rs`), which does not use every helper.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    /// Notifications and server requests read while waiting for something else.
    pending: VecDeque<Value>,
    next_id: i64,
    pub timeout: Duration,
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length:") {
            length = n.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A `file://` URI for a local path.
pub fn uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for byte in path.to_string_lossy().replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Client {
    /// Starts `sight lsp` and completes the `initialize` handshake.
    pub fn start(binary: &Path, root: &Path) -> Result<(Client, Value), String> {
        let mut child = Command::new(binary)
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (sender, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client =
            Client { child, stdin, incoming, pending: VecDeque::new(), next_id: 1, timeout: Duration::from_secs(20) };
        let result = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "capabilities": { "textDocument": { "publishDiagnostics": { "relatedInformation": true } } },
            }),
        )?;
        client.notify("initialized", json!({}))?;
        Ok((client, result))
    }

    fn write(&mut self, message: &Value) -> Result<(), String> {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())
    }

    pub fn notify(&mut self, method: &str, params: Value) -> Result<(), String> {
        self.write(&json!({ "jsonrpc": "2.0", "method": method, "params": params }))
    }

    fn receive(&mut self, deadline: Instant) -> Result<Value, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok(message) => Ok(message),
            Err(RecvTimeoutError::Timeout) => Err(format!("no message from the server within {:?}", self.timeout)),
            Err(RecvTimeoutError::Disconnected) => Err("the server closed its output".to_string()),
        }
    }

    /// Sends a request and waits for its response; an error response is an `Err`.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let message = self.receive(deadline)?;
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method} failed: {error}"));
                }
                return Ok(message.get("result").cloned().unwrap_or(Value::Null));
            }
            self.pending.push_back(message);
        }
    }

    /// The next `publishDiagnostics` for `uri` (kept ones first).
    pub fn diagnostics(&mut self, uri: &str) -> Result<Vec<Value>, String> {
        let matches = |m: &Value| {
            m.get("method").and_then(Value::as_str) == Some("textDocument/publishDiagnostics")
                && m.pointer("/params/uri").and_then(Value::as_str) == Some(uri)
        };
        if let Some(i) = self.pending.iter().position(matches) {
            let message = self.pending.remove(i).unwrap_or_default();
            return Ok(diagnostics_of(&message));
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let message = self.receive(deadline)?;
            if matches(&message) {
                return Ok(diagnostics_of(&message));
            }
            self.pending.push_back(message);
        }
    }

    /// Forgets the notifications read so far.
    pub fn clear(&mut self) {
        self.pending.clear();
        while self.incoming.try_recv().is_ok() {}
    }

    /// CPU time the server process has used so far (user + system), where `/proc` tells
    /// (Linux; clock ticks of 10 ms, so only meaningful summed over many requests).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which may hold spaces) start at `state`.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
    }

    /// `shutdown`, `exit`, and the server's exit code.
    pub fn stop(mut self) -> Result<Option<i32>, String> {
        let result = self.request("shutdown", Value::Null)?;
        if !result.is_null() {
            return Err(format!("shutdown answered {result}"));
        }
        self.notify("exit", Value::Null)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status.code());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err("the server did not exit".to_string());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn diagnostics_of(message: &Value) -> Vec<Value> {
    message.pointer("/params/diagnostics").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// The LSP position (line, UTF-16 column) of the `n`th occurrence (0-based) of `needle` in
/// `text`, plus `shift` bytes.
pub fn position(text: &str, needle: &str, n: usize, shift: usize) -> Value {
    let offset = text.match_indices(needle).nth(n).map_or(text.len(), |(i, _)| i) + shift;
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count();
    let column: usize = before.rsplit('\n').next().unwrap_or("").chars().map(char::len_utf16).sum();
    json!({ "line": line, "character": column })
}
