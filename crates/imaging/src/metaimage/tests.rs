use std::path::PathBuf;

use test_support::scans::{gzip as gz, mha, zlib};

use super::*;
use crate::volume::Axis;

/// 4×3×2 int16 samples 0..24, little-endian.
fn samples_le() -> Vec<u8> {
    (0..24i16).flat_map(i16::to_le_bytes).collect()
}

const ROTATED: &str = "ObjectType = Image\nNDims = 3\nBinaryData = True\n\
    BinaryDataByteOrderMSB = False\nCompressedData = False\n\
    TransformMatrix = 0 1 0 0 0 -1 1 0 0\nOffset = 1 2 3\nCenterOfRotation = 0 0 0\n\
    AnatomicalOrientation = ASR\nElementSpacing = 2 3 4\nDimSize = 4 3 2\n\
    ElementType = MET_SHORT\n";

#[test]
fn reads_what_itk_writes_with_its_direction_matrix() {
    // The header SimpleITK 2.5 writes for an image whose i axis points posterior,
    // j inferior and k left.
    let v = decode(&mha(ROTATED, &samples_le()), &Limits::default()).unwrap();
    assert_eq!((v.dims(), v.channels()), ([4, 3, 2], 1));
    assert_eq!(v.value_at(3, 2, 1, 0), Some(23.0));
    assert_eq!(v.value_at(1, 1, 0, 0), Some(5.0));
    let g = v.geometry();
    assert!(g.oriented);
    assert_eq!(g.spacing, [2.0, 3.0, 4.0]);
    assert_eq!(
        g.directions,
        [[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]
    );
    assert_eq!(g.origin, [1.0, 2.0, 3.0]);
    assert_eq!(g.voxel_axis_of_world(), [2, 0, 1]);

    // Big-endian, and the older field names.
    let be: Vec<u8> = (0..24i16).flat_map(i16::to_be_bytes).collect();
    let old = ROTATED
        .replace(
            "BinaryDataByteOrderMSB = False",
            "ElementByteOrderMSB = True",
        )
        .replace("TransformMatrix", "Rotation")
        .replace("Offset", "Position")
        .replace("ElementSpacing", "ElementSize");
    assert_eq!(decode(&mha(&old, &be), &Limits::default()).unwrap(), v);
}

#[test]
fn reads_zlib_gzip_text_and_header_size() {
    let limits = Limits::default();
    let plain = decode(&mha(ROTATED, &samples_le()), &limits).unwrap();
    let z = zlib(&samples_le());
    let with_size = ROTATED.replace(
        "CompressedData = False",
        &format!("CompressedData = True\nCompressedDataSize = {}", z.len()),
    );
    assert_eq!(decode(&mha(&with_size, &z), &limits).unwrap(), plain);
    // Without a size, the stream runs to the end of the file.
    let no_size = ROTATED.replace("CompressedData = False", "CompressedData = True");
    assert_eq!(decode(&mha(&no_size, &z), &limits).unwrap(), plain);
    assert_eq!(
        decode(&mha(&no_size, &gz(&samples_le())), &limits).unwrap(),
        plain
    );

    // HeaderSize -1: the data are the file's last bytes, after anything else.
    let tail = ROTATED.replace("NDims = 3", "NDims = 3\nHeaderSize = -1");
    let mut junk = vec![7u8; 13];
    junk.extend_from_slice(&samples_le());
    assert_eq!(decode(&mha(&tail, &junk), &limits).unwrap(), plain);
    let tail_z = with_size.replace("NDims = 3", "NDims = 3\nHeaderSize = -1");
    let mut junk_z = vec![7u8; 5];
    junk_z.extend_from_slice(&z);
    assert_eq!(decode(&mha(&tail_z, &junk_z), &limits).unwrap(), plain);
    // HeaderSize n: the data start at byte n of the file (MetaIO seeks from its start).
    let prefix = mha(
        &ROTATED.replace("NDims = 3", "NDims = 3\nHeaderSize = 0000"),
        &[],
    );
    let at = prefix.len() + 3;
    let skip = ROTATED.replace("NDims = 3", &format!("NDims = 3\nHeaderSize = {at:04}"));
    let mut data = vec![1, 2, 3];
    data.extend_from_slice(&samples_le());
    assert_eq!(decode(&mha(&skip, &data), &limits).unwrap(), plain);

    let text: String = (0..24).map(|v| format!("{v} ")).collect();
    let ascii = ROTATED.replace("BinaryData = True", "BinaryData = False");
    let t = decode(&mha(&ascii, text.as_bytes()), &limits).unwrap();
    assert_eq!(t.value_at(3, 2, 1, 0), Some(23.0));
    assert_eq!(t.geometry(), plain.geometry());
}

#[test]
fn reads_rgb_2d_and_4d() {
    let limits = Limits::default();
    let rgb = "ObjectType = Image\nNDims = 2\nTransformMatrix = 1 0 0 1\nOffset = 0 0\n\
        ElementSpacing = 0.5 0.25\nDimSize = 2 1\nAnatomicalOrientation = ??\n\
        ElementNumberOfChannels = 3\nElementType = MET_UCHAR\n";
    let v = decode(&mha(rgb, &[1, 2, 3, 4, 5, 6]), &limits).unwrap();
    assert_eq!((v.dims(), v.channels()), ([2, 1, 1], 3));
    assert_eq!(v.value_at(1, 0, 0, 2), Some(6.0));
    assert_eq!(v.geometry().spacing, [0.5, 0.25, 1.0]);
    assert_eq!(v.geometry().directions[2], [0.0, 0.0, 1.0]);
    assert!(v.is_single_slice());
    let rgba = rgb.replace("Channels = 3", "Channels = 4");
    let w = decode(&mha(&rgba, &[1, 2, 3, 0, 4, 5, 6, 0]), &limits).unwrap();
    assert_eq!(w, v);

    let four = "NDims = 4\nDimSize = 2 2 1 3\nElementType = MET_FLOAT\n\
        ElementSpacing = 1 1 2 9\nTransformMatrix = -1 0 0 0 0 -1 0 0 0 0 1 0 0 0 0 1\n";
    let data: Vec<u8> = (0..12)
        .flat_map(|v| (v as f32 * 0.5).to_le_bytes())
        .collect();
    let v = decode(&mha(four, &data), &limits).unwrap();
    assert_eq!(v.dims(), [2, 2, 1]);
    assert_eq!(v.value_at(1, 1, 0, 0), Some(1.5));
    assert_eq!(v.geometry().spacing, [1.0, 1.0, 2.0]);
    assert_eq!(v.geometry().directions[0], [-1.0, 0.0, 0.0]);
    // Only the first volume has to be there.
    assert_eq!(decode(&mha(four, &data[..16]), &limits).unwrap(), v);
}

#[test]
fn anatomical_orientation_places_axes_only_without_a_matrix() {
    let limits = Limits::default();
    let base = "NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n";
    let data = [0u8; 8];
    let plain = decode(&mha(base, &data), &limits).unwrap();
    assert!(!plain.geometry().oriented);
    let ao = format!("{base}AnatomicalOrientation = LPS\n");
    let g = *decode(&mha(&ao, &data), &limits).unwrap().geometry();
    assert!(g.oriented);
    assert_eq!(
        g.directions,
        [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]
    );
    for unusable in ["RRI", "??", "RA", "XYZ"] {
        let text = format!("{base}AnatomicalOrientation = {unusable}\n");
        let g = *decode(&mha(&text, &data), &limits).unwrap().geometry();
        assert!(!g.oriented, "{unusable}");
    }
    // A matrix wins.
    let both = format!("{ao}TransformMatrix = 1 0 0 0 1 0 0 0 1\n");
    let g = *decode(&mha(&both, &data), &limits).unwrap().geometry();
    assert_eq!(g.directions[2], [0.0, 0.0, 1.0]);
    // A negative spacing runs the axis the other way.
    let neg = format!("{base}ElementSpacing = 1 -2 1\n");
    let g = *decode(&mha(&neg, &data), &limits).unwrap().geometry();
    assert_eq!((g.spacing[1], g.directions[1]), (2.0, [0.0, -1.0, 0.0]));
    assert_eq!(
        decode(&mha(&neg, &data), &limits)
            .unwrap()
            .slice(Axis::Axial, 1)
            .unwrap()
            .values
            .len(),
        4
    );
}

fn message(bytes: &[u8]) -> String {
    decode(bytes, &Limits::default()).unwrap_err().to_string()
}

#[test]
fn refuses_broken_and_unsupported_headers_naming_the_field() {
    let ok = "ObjectType = Image\nNDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\n";
    let data = [1u8, 2, 3, 4];
    assert!(decode(&mha(ok, &data), &Limits::default()).is_ok());
    let cases: Vec<(String, &str)> = vec![
        (ok.replace("NDims = 2\n", ""), "NDims"),
        (ok.replace("DimSize = 2 2\n", ""), "DimSize"),
        (ok.replace("ElementType = MET_UCHAR\n", ""), "ElementType"),
        (ok.replace("MET_UCHAR", "MET_UCHAR_ARRAY"), "ElementType"),
        (ok.replace("MET_UCHAR", "MET_STRING"), "ElementType"),
        (ok.replace("= Image", "= Tube"), "ObjectType"),
        (ok.replace("NDims = 2", "NDims = 5"), "NDims"),
        (ok.replace("NDims = 2", "NDims = two"), "NDims"),
        (ok.replace("DimSize = 2 2", "DimSize = 2"), "DimSize"),
        (ok.replace("DimSize = 2 2", "DimSize = 2 -2"), "DimSize"),
        (
            format!("{ok}ElementNumberOfChannels = 2\n"),
            "ElementNumberOfChannels",
        ),
        (format!("{ok}ElementSpacing = 1\n"), "ElementSpacing"),
        (format!("{ok}TransformMatrix = 1 0 0\n"), "TransformMatrix"),
        (format!("{ok}Offset = a b\n"), "Offset"),
        (format!("{ok}HeaderSize = -2\n"), "HeaderSize"),
        (format!("{ok}HeaderSize = 999\n"), "HeaderSize"),
        (
            format!("{ok}CompressedData = True\nCompressedDataSize = 99\n"),
            "CompressedDataSize",
        ),
        (
            format!("{ok}CompressedData = True\nHeaderSize = -1\n"),
            "HeaderSize",
        ),
        (format!("{ok}this line has no separator\n"), "Field = value"),
    ];
    for (fields, field) in cases {
        let err = message(&mha(&fields, &data));
        assert!(err.contains(field), "{fields:?}: {err}");
    }
    // The data file names.
    for (name, what) in [
        ("LIST", "LIST"),
        ("LIST 2D", "LIST"),
        ("s%03d.raw 1 4 1", "pattern"),
    ] {
        let file = format!("{ok}ElementDataFile = {name}\n").into_bytes();
        let err = message(&file);
        assert!(err.contains(what), "{name}: {err}");
    }
    let detached = format!("{ok}ElementDataFile = scan.raw\n").into_bytes();
    let err = message(&detached);
    assert!(
        err.contains(".mhd") && err.contains("ElementDataFile") && err.contains(".mha"),
        "{err}"
    );
    assert!(message(ok.as_bytes()).contains("ElementDataFile"));
    assert!(matches!(
        decode(&mha(&ok.replace("2 2", "2 0"), &data), &Limits::default()),
        Err(ImagingError::NoPixels)
    ));
}

#[test]
fn refuses_truncated_and_absurd_data_before_allocating() {
    let limits = Limits::default();
    let ok = "NDims = 3\nDimSize = 4 3 2\nElementType = MET_SHORT\n";
    let data = samples_le();
    assert!(decode(&mha(ok, &data), &limits).is_ok());
    assert!(message(&mha(ok, &data[..47])).contains("48 data bytes"));
    let z = zlib(&data);
    let compressed = format!("{ok}CompressedData = True\n");
    assert!(message(&mha(&compressed, &z[..z.len() / 2])).contains("zlib"));
    assert!(message(&mha(&compressed, b"not zlib")).contains("zlib"));
    let text = format!("{ok}BinaryData = False\n");
    assert!(message(&mha(&text, b"1 2 3")).contains("text samples"));
    assert!(message(&mha(&text, b"1 2 x")).contains("text sample"));
    // Sizes whose product overflows, or that are absurd, fail before any allocation.
    for dims in [
        "DimSize = 4294967296 4294967296 4294967296",
        "DimSize = 18446744073709551615 2 2",
        "DimSize = 100000 100000 1",
        "DimSize = 10000 10000 10000",
    ] {
        let fields = ok.replace("DimSize = 4 3 2", dims);
        assert!(
            matches!(
                decode(&mha(&fields, &data), &limits),
                Err(ImagingError::TooLarge(_))
            ),
            "{dims}"
        );
    }
    let four = "NDims = 4\nDimSize = 2 2 2 18446744073709551615\nElementType = MET_SHORT\n";
    assert!(matches!(
        decode(&mha(four, &data), &limits),
        Err(ImagingError::TooLarge(_))
    ));
    // A small bomb: 1 KiB of zlib claiming a volume over the limit.
    let small = Limits {
        max_alloc: 1 << 20,
        ..limits
    };
    let bomb = zlib(&vec![0u8; 4 << 20]);
    let fields =
        "NDims = 3\nDimSize = 1024 1024 4\nElementType = MET_UCHAR\nCompressedData = True\n";
    assert!(matches!(
        decode(&mha(fields, &bomb), &small),
        Err(ImagingError::TooLarge(_))
    ));
}

/// A fresh folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    test_support::scratch_dir("metaimage", name)
}

#[test]
fn reads_a_detached_data_file_beside_the_header_and_nowhere_else() {
    let limits = Limits::default();
    let dir = scratch("detached");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("scan.raw"), samples_le()).unwrap();
    std::fs::write(dir.join("data/scan.zraw"), zlib(&samples_le())).unwrap();
    let header = |name: &str, extra: &str| {
        format!("{ROTATED}{extra}ElementDataFile = {name}\n").into_bytes()
    };
    let want = decode(&mha(ROTATED, &samples_le()), &limits).unwrap();
    let mhd = dir.join("scan.mhd");
    assert_eq!(
        decode_file(&header("scan.raw", ""), &mhd, &limits).unwrap(),
        want
    );
    assert_eq!(
        decode_file(
            &header("./data/scan.zraw", "CompressedData = True\n"),
            &mhd,
            &limits
        )
        .unwrap(),
        want
    );
    // A .mha read from a path reads as from memory.
    assert_eq!(
        decode_file(&mha(ROTATED, &samples_le()), &mhd, &limits).unwrap(),
        want
    );
    let missing = decode_file(&header("gone.raw", ""), &mhd, &limits)
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("ElementDataFile") && missing.contains("gone.raw"),
        "{missing}"
    );
    for escape in [
        "../scan.raw",
        "data/../../scan.raw",
        "/etc/passwd",
        "data/..",
    ] {
        let err = decode_file(&header(escape, ""), &dir.join("data/x.mhd"), &limits)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("relative to the header's folder"),
            "{escape}: {err}"
        );
    }
    let truncated = decode_file(&header("scan.raw", "HeaderSize = 1\n"), &mhd, &limits);
    assert!(matches!(truncated, Err(ImagingError::Corrupt(..))));
    let tiny = Limits {
        max_bytes: 40,
        ..limits
    };
    assert!(matches!(
        decode_file(&header("scan.raw", ""), &mhd, &tiny),
        Err(ImagingError::TooLarge(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sniffs_the_first_field() {
    assert!(is_metaimage(ROTATED.as_bytes()));
    assert!(is_metaimage(b"\n  NDims=3\n"));
    assert!(is_metaimage(b"Comment : made by hand\n"));
    assert!(!is_metaimage(b"Hello = world\n"));
    assert!(!is_metaimage(b"NDims 3\n"));
    assert!(!is_metaimage(b""));
}
