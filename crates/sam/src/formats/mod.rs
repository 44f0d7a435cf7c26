//! Bytes in, bytes out: the files and wire formats around the model, no I/O (except
//! [`checkpoint`]'s path helpers). Official PyTorch checkpoints ([`checkpoint`], feature
//! `pytorch`, native), the browser's decoder weights as safetensors and byte planes
//! ([`export`]), NumPy arrays ([`npy`]) and the embedding wire format shared by the server
//! and the browser ([`embedding_codec`]).

#[cfg(feature = "pytorch")]
pub mod checkpoint;
pub mod embedding_codec;
pub mod export;
pub mod npy;
