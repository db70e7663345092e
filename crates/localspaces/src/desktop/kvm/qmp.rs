//! Clients of QEMU's two JSON line protocols on Unix sockets: QMP (the machine monitor) and
//! the guest agent (qemu-guest-agent over virtio-serial). Every call has a deadline.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::time::timeout;

use super::Error;

/// Longest JSON line accepted from QEMU or the agent (guest-exec output is base64 in one line).
const MAX_LINE: usize = 64 << 20;

async fn read_json_line(reader: &mut BufReader<UnixStream>, what: &str) -> Result<Value, Error> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut *reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| Error::io(format!("reading {what}"), e))?;
        if n == 0 {
            return Err(Error::Protocol(format!("{what} closed the connection")));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{FFFD}');
        if text.is_empty() {
            continue;
        }
        return serde_json::from_str(text)
            .map_err(|e| Error::Protocol(format!("{what} sent bad JSON ({e}): {text:.200}")));
    }
}

/// The answer of one command: its `return`, or its `error` as [`Error::Qemu`].
fn answer(value: Value, what: &str) -> Result<Value, Error> {
    if let Some(ret) = value.get("return") {
        return Ok(ret.clone());
    }
    if let Some(err) = value.get("error") {
        let class = err.get("class").and_then(Value::as_str).unwrap_or("Error");
        let desc = err.get("desc").and_then(Value::as_str).unwrap_or("");
        return Err(Error::Qemu(format!("{what}: {class}: {desc}")));
    }
    Err(Error::Protocol(format!(
        "{what} answered neither return nor error: {value}"
    )))
}

/// A QMP session with capabilities negotiated.
pub struct Qmp {
    reader: BufReader<UnixStream>,
}

impl Qmp {
    /// Connects, reads the greeting and leaves capabilities negotiation mode.
    pub async fn connect(path: &Path, deadline: Duration) -> Result<Qmp, Error> {
        timeout(deadline, async {
            let stream = UnixStream::connect(path)
                .await
                .map_err(|e| Error::io(format!("connecting to QMP {}", path.display()), e))?;
            let mut qmp = Qmp {
                reader: BufReader::new(stream),
            };
            let greeting = read_json_line(&mut qmp.reader, "QMP").await?;
            if greeting.get("QMP").is_none() {
                return Err(Error::Protocol(format!("QMP greeting expected, got {greeting}")));
            }
            qmp.call("qmp_capabilities", json!({})).await?;
            Ok(qmp)
        })
        .await
        .map_err(|_| Error::timeout("QMP connection", deadline))?
    }

    /// Runs one command and returns its `return` value; events in between are skipped.
    pub async fn call(&mut self, command: &str, arguments: Value) -> Result<Value, Error> {
        let mut msg = json!({ "execute": command });
        if arguments.as_object().is_some_and(|a| !a.is_empty()) {
            msg["arguments"] = arguments;
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(b'\n');
        self.reader
            .get_mut()
            .write_all(&bytes)
            .await
            .map_err(|e| Error::io(format!("sending QMP {command}"), e))?;
        loop {
            let value = read_json_line(&mut self.reader, "QMP").await?;
            if value.get("event").is_some() {
                continue;
            }
            return answer(value, command);
        }
    }

    /// [`Qmp::call`] with a deadline.
    pub async fn call_within(
        &mut self,
        command: &str,
        arguments: Value,
        deadline: Duration,
    ) -> Result<Value, Error> {
        timeout(deadline, self.call(command, arguments))
            .await
            .map_err(|_| Error::timeout(format!("QMP {command}"), deadline))?
    }
}

/// One guest-agent session, synchronized with `guest-sync-delimited` so that bytes a
/// previous client left in the agent's parser cannot be mistaken for answers.
pub struct Agent {
    reader: BufReader<UnixStream>,
}

impl Agent {
    /// Connects and synchronizes; fails (quickly, within `deadline`) while the guest agent is
    /// not running yet.
    pub async fn connect(path: &Path, deadline: Duration) -> Result<Agent, Error> {
        timeout(deadline, async {
            let stream = UnixStream::connect(path)
                .await
                .map_err(|e| Error::io(format!("connecting to the guest agent {}", path.display()), e))?;
            let mut agent = Agent {
                reader: BufReader::new(stream),
            };
            let id = u64::from(rand::random::<u32>());
            let mut msg = vec![0xFF];
            msg.extend_from_slice(
                json!({"execute": "guest-sync-delimited", "arguments": {"id": id}})
                    .to_string()
                    .as_bytes(),
            );
            msg.push(b'\n');
            agent
                .reader
                .get_mut()
                .write_all(&msg)
                .await
                .map_err(|e| Error::io("sending guest-sync-delimited", e))?;
            // The answer starts with 0xFF; skip anything before it.
            let mut skipped = Vec::new();
            agent
                .reader
                .read_until(0xFF, &mut skipped)
                .await
                .map_err(|e| Error::io("reading the guest agent", e))?;
            if skipped.last() != Some(&0xFF) {
                return Err(Error::Protocol("the guest agent closed the connection".into()));
            }
            loop {
                let value = read_json_line(&mut agent.reader, "guest agent").await?;
                if answer(value, "guest-sync-delimited")?.as_u64() == Some(id) {
                    return Ok(agent);
                }
            }
        })
        .await
        .map_err(|_| Error::timeout("guest agent synchronization", deadline))?
    }

    /// Runs one agent command within `deadline`.
    pub async fn call(
        &mut self,
        command: &str,
        arguments: Value,
        deadline: Duration,
    ) -> Result<Value, Error> {
        let mut msg = json!({ "execute": command });
        if arguments.as_object().is_some_and(|a| !a.is_empty()) {
            msg["arguments"] = arguments;
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(b'\n');
        timeout(deadline, async {
            self.reader
                .get_mut()
                .write_all(&bytes)
                .await
                .map_err(|e| Error::io(format!("sending {command}"), e))?;
            let value = read_json_line(&mut self.reader, "guest agent").await?;
            answer(value, command).map_err(|e| match e {
                Error::Qemu(m) => Error::Agent(m),
                other => other,
            })
        })
        .await
        .map_err(|_| Error::timeout(format!("guest agent {command}"), deadline))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_return_or_error() {
        assert_eq!(answer(json!({"return": 3}), "x").unwrap(), json!(3));
        let err = answer(
            json!({"error": {"class": "GenericError", "desc": "no such snapshot"}}),
            "snap",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "QEMU: snap: GenericError: no such snapshot");
        assert!(answer(json!({"foo": 1}), "x").is_err());
    }

    #[tokio::test]
    async fn qmp_skips_the_greeting_and_events() {
        let dir = std::env::temp_dir().join(format!("ls-qmp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("qmp.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut reader = BufReader::new(stream);
            reader
                .get_mut()
                .write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n")
                .await
                .unwrap();
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            assert!(line.contains("qmp_capabilities"));
            reader.get_mut().write_all(b"{\"return\": {}}\r\n").await.unwrap();
            line.clear();
            reader.read_line(&mut line).await.unwrap();
            assert!(line.contains("query-status"));
            reader
                .get_mut()
                .write_all(b"{\"event\": \"RESET\"}\r\n{\"return\": {\"status\": \"running\"}}\r\n")
                .await
                .unwrap();
        });
        let mut qmp = Qmp::connect(&path, Duration::from_secs(5)).await.unwrap();
        let status = qmp.call("query-status", json!({})).await.unwrap();
        assert_eq!(status["status"], "running");
        server.await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
