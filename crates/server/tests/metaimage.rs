//! MetaImage uploads (`POST /api/v1/images`): a single-file `.mha` becomes a volume like a
//! NIfTI; a detached `.mhd` header, whose voxels are in another file, gets a 4xx that says
//! so. The fixtures are SimpleITK's (`crates/imaging/tests/fixtures/metaimage`).

mod support;

use support::TestServer;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(test_support::metaimage_fixture(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mha_uploads_are_volumes_and_mhd_headers_are_refused_by_name() {
    let server = TestServer::fresh("metaimage", |_| {}).await;
    let (status, up) = server.upload(fixture("mni152_crop.mha"), &[]).await;
    assert_eq!(status, 200, "{up}");
    assert_eq!(up["kind"], "volume");
    assert_eq!(up["format"], "metaimage");
    assert_eq!(up["volume"]["dims"], serde_json::json!([32, 32, 24]));
    assert!(up.get("id").is_none(), "several slices: no default image");

    // A 2-D RGB .mha is also the image itself, as a PNG would be.
    let (status, rgb) = server.upload(fixture("rgb_2d.mha"), &[]).await;
    assert_eq!(status, 200, "{rgb}");
    assert_eq!(rgb["format"], "metaimage");
    assert_eq!(
        (rgb["width"].as_u64(), rgb["height"].as_u64()),
        (Some(32), Some(32))
    );

    let (status, err) = server.upload(fixture("mni152_crop_i16.mhd"), &[]).await;
    assert_eq!(status, 415, "{err}");
    let detail = err["detail"].as_str().unwrap();
    for needle in [".mhd", "ElementDataFile", ".mha"] {
        assert!(detail.contains(needle), "`{needle}` not in: {detail}");
    }
    server.stop_and_clean().await;
}
