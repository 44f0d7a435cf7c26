//! Ground-truth mask uploads: labels kept exactly, metadata chunks dropped, bad input
//! refused with its own error.

mod support;

use hyper::Method;
use sha2::{Digest, Sha256};
use support::{TestServer, expect_error, fixture_image, json, png_chunk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ground_truth_masks_keep_their_labels_and_lose_their_metadata() {
    let server = TestServer::fresh("masks", |_| {}).await;
    let plain = fixture_image("nuclei_mask.png");
    // The fixture with a text chunk naming a patient after its header.
    let mut mask = plain[..8 + 25].to_vec();
    png_chunk(&mut mask, b"tEXt", b"PatientName\0DOE^JANE");
    mask.extend_from_slice(&plain[8 + 25..]);
    let response = server
        .request(Method::POST, "/api/v1/masks", &[], mask.clone())
        .await;
    assert_eq!(response.status(), 200, "{}", json(&response));
    let uploaded = json(&response);
    let id = uploaded["id"].as_str().unwrap().to_string();
    assert_eq!(
        (uploaded["width"].as_u64(), uploaded["height"].as_u64()),
        (Some(512), Some(357))
    );
    let back = server.get(&format!("/api/v1/masks/{id}")).await;
    assert_eq!(back.status(), 200);
    let stored = back.body().to_vec();
    assert_eq!(id, format!("{:x}", Sha256::digest(&stored)));
    assert!(
        !stored.windows(11).any(|w| w == b"PatientName")
            && !stored.windows(4).any(|w| w == b"tEXt"),
        "the text chunk is gone"
    );
    let (sent, kept) = (
        image::load_from_memory(&plain).unwrap(),
        image::load_from_memory(&stored).unwrap(),
    );
    assert_eq!(sent.color(), kept.color());
    assert_eq!(
        sent.as_bytes(),
        kept.as_bytes(),
        "label values survive exactly"
    );

    expect_error(
        server
            .request(Method::POST, "/api/v1/masks", &[], b"not an image".to_vec())
            .await,
        415,
        "unsupported_media_type",
        "text as a mask",
    )
    .await;
    expect_error(
        server
            .request(Method::POST, "/api/v1/masks", &[], Vec::new())
            .await,
        400,
        "empty_body",
        "empty mask",
    )
    .await;
    let unknown = "0".repeat(64);
    expect_error(
        server.get(&format!("/api/v1/masks/{unknown}")).await,
        404,
        "mask_not_found",
        "unknown mask",
    )
    .await;
    expect_error(
        server.get("/api/v1/masks/xyz").await,
        400,
        "bad_id",
        "bad mask id",
    )
    .await;
    server.stop_and_clean().await;
}
