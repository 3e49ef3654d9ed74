//! A bare HTTP server on 127.0.0.1, for what moto cannot do: fail a call on demand, break a
//! body off part-way, show the headers a client sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// An answer as written back: head and body, `content-length` the body's.
pub fn answer(status: u16, header: Option<&str>, body: &str) -> Vec<u8> {
    answer_promising(status, header, body.as_bytes(), body.len())
}

/// An answer whose head promises `promised` bytes, whatever `body` holds: fewer make a body
/// that breaks off when the connection closes.
pub fn answer_promising(
    status: u16,
    header: Option<&str>,
    body: &[u8],
    promised: usize,
) -> Vec<u8> {
    let extra = header.map(|h| format!("{h}\r\n")).unwrap_or_default();
    let mut raw = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {promised}\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// Serves `answers` in turn, one connection each, the last one again for every later
/// connection. Returns the server's URL and the head of each request it read (request line,
/// then headers with lower-cased names).
pub fn serve(answers: Vec<Vec<u8>>) -> (String, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sent, heads) = mpsc::channel();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let head = read_request(&mut stream);
            let raw = answers.get(i).or(answers.last()).unwrap();
            let _ = stream.write_all(raw);
            // The receiver may be gone: the test only wanted the answers.
            let _ = sent.send(head);
        }
    });
    (url, heads)
}

/// A request's head; its body, if any, read and dropped.
fn read_request(stream: &mut std::net::TcpStream) -> Vec<String> {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = Vec::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        let line = match line.split_once(':') {
            Some((name, value)) if !head.is_empty() => {
                format!("{}:{value}", name.to_ascii_lowercase())
            }
            _ => line,
        };
        if let Some(n) = line.strip_prefix("content-length: ") {
            length = n.parse().unwrap();
        }
        head.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    head
}
