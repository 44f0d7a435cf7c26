//! Bounded memory of `samscope serve`, measured on a child process: its peak resident
//! memory (`VmHWM` in `/proc/<pid>/status`) while it decodes a 100-megapixel 16-bit
//! RGBA PNG, two at once against the decode memory budget, a NIfTI header that
//! announces more than the budget, and a deck export many times larger than what the
//! server may hold.
#![cfg(target_os = "linux")]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use support::serve::Server;
use test_support::scans::{Nifti1, gzip};

/// 1.5 GB: the most the 100 MP upload may make the server hold (issue 17).
const PEAK_LIMIT: u64 = 1_500_000_000;

/// One HTTP/1.1 request on a fresh connection: status and (de-chunked) body.
fn http(server: &Server, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let addr = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    let content_type = if body.first() == Some(&b'{') {
        "application/json"
    } else {
        "application/octet-stream"
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
         Content-Type: {content_type}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no whole response head"));
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let body = response[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        (status, dechunk(&body))
    } else {
        (status, body)
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[line + 2..line + 2 + size]);
        body = &body[line + 2 + size + 2..];
    }
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(body)))
}

/// The child's peak resident memory so far, bytes.
fn peak_rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/<pid>/status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kb * 1024
}

/// A 10000 × 10000 RGBA PNG of 16-bit smooth horizontal gradients (800 MB decoded, about
/// 0.8 MB compressed: every row after the first filters to zeros), written a row at a time.
fn hundred_megapixel_png() -> Vec<u8> {
    const SIDE: u32 = 10_000;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIDE, SIDE);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Sixteen);
    encoder.set_compression(png::Compression::High);
    encoder.set_filter(png::Filter::Up);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let mut row = vec![0u8; SIDE as usize * 8];
    for (x, px) in row.chunks_exact_mut(8).enumerate() {
        let x = x as u32;
        let channels = [x * 6, 65535 - x * 6, x * 3 + 1000, 65535].map(|v| v as u16);
        for (c, v) in channels.iter().enumerate() {
            px[2 * c..2 * c + 2].copy_from_slice(&v.to_be_bytes());
        }
    }
    for _ in 0..SIDE {
        stream.write_all(&row).unwrap();
    }
    stream.finish().unwrap();
    drop(writer);
    out
}

#[test]
fn a_100_megapixel_16_bit_png_peaks_under_1_5_gb_and_two_never_decode_together() {
    let png = hundred_megapixel_png();
    assert!(png.len() < 2 << 20, "the test PNG is {} bytes", png.len());
    let server = Server::start_with(None, &[]);
    let before = peak_rss(&server);

    let (status, body) = http(&server, "POST", "/api/v1/images", &png);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let uploaded = json_of(&body);
    assert_eq!(
        (uploaded["width"].as_u64(), uploaded["height"].as_u64()),
        (Some(10_000), Some(10_000))
    );
    let one = peak_rss(&server);
    eprintln!(
        "PNG {} KB; VmHWM: {} MB at start, {} MB after one upload",
        png.len() >> 10,
        before >> 20,
        one >> 20
    );
    assert!(
        one <= PEAK_LIMIT,
        "one 100 MP upload peaked at {one} bytes (limit {PEAK_LIMIT})"
    );

    // Two at once: the default budget (2 GiB) admits one such decode (1.1 GB): the other
    // waits its turn (or is refused with 503); never are both decoded at the same time.
    let answers: Vec<(u16, Vec<u8>)> = std::thread::scope(|scope| {
        let uploads: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| http(&server, "POST", "/api/v1/images", &png)))
            .collect();
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    for (status, body) in &answers {
        assert!(
            *status == 200 || *status == 503,
            "{status}: {}",
            String::from_utf8_lossy(body)
        );
        if *status == 200 {
            assert_eq!(json_of(body)["id"], uploaded["id"]);
        }
    }
    assert!(answers.iter().any(|(status, _)| *status == 200));
    let two = peak_rss(&server);
    eprintln!("VmHWM: {} MB after two uploads at once", two >> 20);
    assert!(
        two <= PEAK_LIMIT,
        "two 100 MP uploads at once peaked at {two} bytes (limit {PEAK_LIMIT})"
    );
}

/// A NIfTI-1 of uint8 voxels `dims` with the given voxel bytes.
fn nifti_u8(dims: [i16; 3], voxels: &[u8]) -> Vec<u8> {
    Nifti1 {
        dims,
        ..Nifti1::default()
    }
    .file(voxels)
}

#[test]
fn a_nifti_announcing_more_than_the_budget_gets_413_without_allocating_it() {
    // 64 MiB of decode memory.
    let server = Server::start_with(None, &["--decode-memory", "67108864"]);
    // A gzipped int16 NIfTI announcing `dims` that holds only its header and a few bytes.
    let announcing = |dims: [i16; 3]| {
        let header = Nifti1 {
            dims,
            datatype: 4,
            bitpix: 16,
            ..Nifti1::default()
        };
        gzip(&header.file(&[0; 1024]))
    };
    // 512 × 512 × 300: 150 MiB of samples, 300 MiB decoded.
    let before = peak_rss(&server);
    let (status, body) = http(
        &server,
        "POST",
        "/api/v1/images",
        &announcing([512, 512, 300]),
    );
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let error = json_of(&body);
    assert_eq!(error["error"], "too_large");
    let message = error["detail"].as_str().unwrap();
    assert!(
        message.contains("decode memory budget") && message.contains("--decode-memory"),
        "{message}"
    );
    // Beyond the per-decode limit (2 GiB) as well: 2048³ int16.
    let absurd = announcing([2048, 2048, 2048]);
    let (status, body) = http(&server, "POST", "/api/v1/images", &absurd);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let after = peak_rss(&server);
    assert!(
        after < before + (32 << 20),
        "refusing grew the peak from {before} to {after} bytes"
    );

    // A volume within the budget is admitted.
    let voxels: Vec<u8> = (0..64 * 64 * 8).map(|i| (i % 251) as u8).collect();
    let (status, body) = http(
        &server,
        "POST",
        "/api/v1/images",
        &gzip(&nifti_u8([64, 64, 8], &voxels)),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json_of(&body)["volume"]["dims"], json!([64, 64, 8]));
}

#[test]
fn deck_export_streams_without_holding_the_deck() {
    const VOLUMES: usize = 16;
    const DIMS: [i16; 3] = [256, 256, 128];
    let server = Server::start_with(None, &[]);
    let voxel_count = DIMS.iter().map(|&d| d as usize).product::<usize>();
    let mut cases = Vec::new();
    for v in 0..VOLUMES {
        // Distinct, poorly compressible content: each volume is its own blob.
        let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ v as u64;
        let voxels: Vec<u8> = (0..voxel_count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let (status, body) = http(&server, "POST", "/api/v1/images", &nifti_u8(DIMS, &voxels));
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let volume = json_of(&body)["volume"]["id"].as_str().unwrap().to_string();
        let request = json!({"axis": "axial", "index": 3, "window": "minmax"});
        let (status, body) = http(
            &server,
            "POST",
            &format!("/api/v1/volumes/{volume}/slices"),
            request.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let image = json_of(&body)["id"].as_str().unwrap().to_string();
        cases.push(json!({
            "image": image,
            "volume": {"id": volume, "axis": "axial", "index": 3, "window": "minmax"},
        }));
    }
    let deck = json!({"title": "Big", "cases": cases});
    let (status, body) = http(
        &server,
        "POST",
        "/api/v1/decks",
        deck.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let deck_id = json_of(&body)["id"].as_str().unwrap().to_string();

    let before = peak_rss(&server);
    let (status, file) = http(
        &server,
        "GET",
        &format!("/api/v1/decks/{deck_id}/export"),
        b"",
    );
    assert_eq!(status, 200);
    let after = peak_rss(&server);
    let parsed = json_of(&file);
    assert_eq!(parsed["format"], "samscope-deck/v1");
    assert_eq!(parsed["volumes"].as_object().unwrap().len(), VOLUMES);
    eprintln!(
        "deck file {} MB; VmHWM {} MB before the export, {} MB after",
        file.len() >> 20,
        before >> 20,
        after >> 20
    );
    // Building the file in memory would hold all of it (and its base64 text) at once;
    // streaming holds one volume and a few chunks.
    assert!(
        after.saturating_sub(before) < file.len() as u64 / 4,
        "exporting a {} byte deck grew the peak from {before} to {after} bytes",
        file.len()
    );
}
