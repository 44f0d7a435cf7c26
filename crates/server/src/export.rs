//! `GET /api/v1/decks/{id}/export` as a stream: the deck file is written by a blocking
//! task a blob at a time into a small bounded channel that the response body drains, so
//! the server holds at most one blob and a few chunks of the file, whatever the deck's
//! size, and a slow client slows the writer instead of growing a buffer.

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use crate::content::Content;
use crate::error::ApiError;
use crate::http::blocking;
use crate::state::AppState;

/// Bytes per chunk sent to the client (a chunk may exceed it by one write).
const CHUNK: usize = 256 << 10;
/// Chunks written ahead of the client.
const AHEAD: usize = 4;

/// A `Write` that hands full chunks to the response body; fails once the client is gone.
struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    /// Takes all of `bytes` (never a part: base64's encoder, for one, answers a partial
    /// write with `Ok(0)`, which `write_all` takes for a failure).
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The deck file of deck `id` as a streamed download. A deck that does not exist, or
/// names content the store lost, answers 404 before anything is sent; a failure later
/// (a blob damaged while the file is written) ends the body early, so the client never
/// mistakes a partial file for a whole one.
pub async fn export_deck(state: &Arc<AppState>, id: String) -> Result<Response, ApiError> {
    let worker = state.clone();
    let deck = blocking(move || worker.teaching.deck(&id)).await??;
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"deck-{}.samdeck.json\"",
        deck.id
    ))
    .map_err(|_| ApiError::internal("deck id is not a header value"))?;
    let (sender, mut receiver) = mpsc::channel(AHEAD);
    let worker = state.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            sender: sender.clone(),
            buffer: Vec::with_capacity(CHUNK),
        };
        let content = Content::new(&worker.store, worker.limits.imaging());
        let written = worker.teaching.write_export(&content, &deck, &mut out);
        if let Err(e) = &written {
            tracing::error!(deck = %deck.id, problem = %e, "deck export stopped");
            let _ = sender.blocking_send(Err(io::Error::other("the export failed")));
        }
        written
    });
    // Nothing sent yet: a failure before the first chunk is still an HTTP error.
    let first = match receiver.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(_)) | None => {
            return match writer.await {
                Ok(Err(e)) => Err(e.into()),
                Ok(Ok(())) => Err(ApiError::internal("the deck export wrote nothing")),
                Err(e) => Err(ApiError::internal(format!("deck export task: {e}"))),
            };
        }
    };
    let rest = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, io::Error>(first) }),
        rest,
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_hands_over_every_byte_in_chunks() {
        let (sender, mut receiver) = mpsc::channel(AHEAD);
        let data: Vec<u8> = (0..CHUNK * 3 + 1234).map(|i| (i % 253) as u8).collect();
        let expected = data.clone();
        let writer = std::thread::spawn(move || {
            let mut out = ChannelWriter {
                sender,
                buffer: Vec::with_capacity(CHUNK),
            };
            for piece in data.chunks(1000) {
                out.write_all(piece).unwrap();
            }
            out.write_all(b"end").unwrap();
            out.flush().unwrap();
        });
        let mut got = Vec::new();
        while let Some(chunk) = receiver.blocking_recv() {
            let chunk = chunk.unwrap();
            assert!(chunk.len() < CHUNK + 1000);
            got.extend_from_slice(&chunk);
        }
        writer.join().unwrap();
        assert_eq!(&got[..expected.len()], &expected[..]);
        assert_eq!(&got[expected.len()..], b"end");
    }
}
