//! The content-addressed store in the data directory. Every file is written atomically
//! (temporary file, fsync, rename, fsync of the folder) and checked when read:
//!
//! ```text
//! images/<ab>/<id>.png                          the decoded upload, 8-bit RGB PNG;
//!                                               checked by decoding it and recomputing its id
//! embeddings/<model>-<weights>/<ab>/<id>.emb    "SSCACHE1" ‖ sha256(payload) ‖ payload, where
//!                                               payload is the f32 embedding wire format
//! models/<model>-<weights>/decoder.f16.safetensors   the browser's decoder weights
//! masks/<ab>/<id>.mask                            an uploaded ground truth re-encoded as a
//!                                               PNG without metadata chunks; id =
//!                                               sha256 of the bytes, checked when read
//! images/<ab>/<id>.desc                        the preprocessing descriptor of a volume
//!                                               slice (absent: `PREPROCESSING_V1`)
//! volumes/<ab>/<id>.vol                         "SSCACHE1" ‖ sha256(payload) ‖ payload, where
//!                                               payload is `imaging::Volume::encode`:
//!                                               samples and geometry, nothing else
//! ```
//!
//! `<ab>` is the first byte of the id in hex; `<weights>` the first 16 hex characters of
//! the checkpoint's sha256, so new weights never meet old embeddings.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use sam::embedding_codec::EmbeddingData;
use sam::export::ExportDtype;
use sam::{ModelId, RgbImage};
use sha2::{Digest, Sha256};

use crate::disk::{Area, DiskUsage};
use crate::image_id::{ImageId, PREPROCESSING_V1, VolumeId, is_descriptor};

/// The id of a ground-truth mask file: the sha256 of its bytes.
pub fn mask_id(bytes: &[u8]) -> ImageId {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ImageId::parse(&hex).expect("a sha256 in hex is a valid id")
}

/// Magic of a checksummed cache entry.
const ENTRY_MAGIC: &[u8; 8] = b"SSCACHE1";
/// Magic + sha256.
const ENTRY_HEADER: usize = 8 + 32;

/// A stored file that failed its check; it is removed and must be recomputed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct Corrupt {
    /// The damaged file.
    pub path: PathBuf,
    /// What the check found.
    pub reason: String,
}

/// The data directory's store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    /// Images checked since start, with the length and mtime their file had then.
    verified: Mutex<HashMap<ImageId, (u64, Option<SystemTime>)>>,
    /// Sizes and last use of the embeddings, images and volumes, for the disk budget.
    pub usage: DiskUsage,
}

/// Writes `bytes` to `path` so readers see the old file or the whole new one, never part
/// (synced file and folder: the shared [`runfolder::write_atomic`]).
pub use runfolder::write_atomic;

/// The short weights tag used in folder names.
pub fn weights_tag(weights_sha256: &str) -> &str {
    &weights_sha256[..weights_sha256.len().min(16)]
}

impl Store {
    /// Opens (creating) the store under `root`.
    pub fn open(root: &Path) -> io::Result<Self> {
        for sub in ["images", "embeddings", "models", "volumes"] {
            fs::create_dir_all(root.join(sub))?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            verified: Mutex::new(HashMap::new()),
            usage: DiskUsage::scan(root),
        })
    }

    fn image_path(&self, id: &ImageId) -> PathBuf {
        self.root
            .join("images")
            .join(id.shard())
            .join(format!("{id}.png"))
    }

    fn embedding_path(&self, model: ModelId, weights: &str, id: &ImageId) -> PathBuf {
        self.root
            .join("embeddings")
            .join(format!("{model}-{}", weights_tag(weights)))
            .join(id.shard())
            .join(format!("{id}.emb"))
    }

    /// Where an uploaded ground-truth mask is kept (its bytes, verbatim).
    pub fn mask_path(&self, id: &ImageId) -> PathBuf {
        self.root
            .join("masks")
            .join(id.shard())
            .join(format!("{id}.mask"))
    }

    /// Where the decoder weights of `model` are written.
    pub fn decoder_path(&self, model: ModelId, weights: &str) -> PathBuf {
        self.root
            .join("models")
            .join(format!("{model}-{}", weights_tag(weights)))
            .join("decoder.f16.safetensors")
    }

    fn file_stamp(path: &Path) -> io::Result<(u64, Option<SystemTime>)> {
        let meta = fs::metadata(path)?;
        Ok((meta.len(), meta.modified().ok()))
    }

    fn remember_verified(&self, id: ImageId, path: &Path) {
        if let Ok(stamp) = Self::file_stamp(path) {
            self.verified
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, stamp);
        }
    }

    fn is_verified(&self, id: &ImageId, path: &Path) -> bool {
        let Ok(stamp) = Self::file_stamp(path) else {
            return false;
        };
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            == Some(&stamp)
    }

    fn forget(&self, id: &ImageId, path: &Path) {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        let _ = fs::remove_file(path);
        let _ = fs::remove_file(self.descriptor_path(id));
        self.usage.forget(path);
    }

    /// Where the descriptor of a slice image is kept (none for raster uploads).
    fn descriptor_path(&self, id: &ImageId) -> PathBuf {
        self.image_path(id).with_extension("desc")
    }

    /// The preprocessing descriptor an image id was computed with.
    fn descriptor(&self, id: &ImageId) -> Result<String, String> {
        match fs::read(self.descriptor_path(id)) {
            Ok(bytes) => String::from_utf8(bytes)
                .ok()
                .filter(|d| is_descriptor(d))
                .ok_or_else(|| "its descriptor file is damaged".to_string()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(PREPROCESSING_V1.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Stores a volume slice's pixels under an id computed with `descriptor` (written
    /// first, so a reader that finds the PNG finds its descriptor).
    pub fn put_slice_image(
        &self,
        id: ImageId,
        descriptor: &str,
        image: &RgbImage,
    ) -> io::Result<()> {
        if !is_descriptor(descriptor) {
            return Err(io::Error::other("not a samscope image descriptor"));
        }
        let _pin = self.usage.pin(&self.image_path(&id));
        let path = self.descriptor_path(&id);
        if fs::read(&path).ok().as_deref() != Some(descriptor.as_bytes()) {
            write_atomic(&path, descriptor.as_bytes())?;
        }
        self.put_image(id, image)
    }

    fn volume_path(&self, id: &VolumeId) -> PathBuf {
        self.root
            .join("volumes")
            .join(id.shard())
            .join(format!("{id}.vol"))
    }

    /// Stores `volume` encoded (`imaging::Volume::encode`) unless it is already there, and
    /// returns its id. The encoding is written a block at a time (once to hash it, once to
    /// the file), so no encoded copy of the volume is ever held in memory.
    pub fn put_volume_of(&self, volume: &imaging::Volume) -> io::Result<VolumeId> {
        struct Hashing {
            id: Sha256,
            payload: Sha256,
        }
        impl io::Write for Hashing {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.id.update(buf);
                self.payload.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut hashing = Hashing {
            id: VolumeId::hasher(),
            payload: Sha256::new(),
        };
        volume.write_encoded(&mut hashing)?;
        let id = VolumeId::of_hasher(hashing.id);
        let path = self.volume_path(&id);
        let _pin = self.usage.pin(&path);
        if path.exists() {
            self.usage.touch(&path);
            return Ok(id);
        }
        let sum = hashing.payload.finalize();
        runfolder::write_atomic_with(&path, |file| {
            let mut out = io::BufWriter::with_capacity(1 << 20, file);
            io::Write::write_all(&mut out, ENTRY_MAGIC)?;
            io::Write::write_all(&mut out, &sum)?;
            volume.write_encoded(&mut out)?;
            io::Write::flush(&mut out)
        })?;
        self.usage.record(Area::Volumes, &path);
        Ok(id)
    }

    /// Stores an encoded volume (`imaging::Volume::encode`) unless it is already there.
    pub fn put_volume(&self, id: &VolumeId, encoded: &[u8]) -> io::Result<()> {
        let path = self.volume_path(id);
        let _pin = self.usage.pin(&path);
        if path.exists() {
            self.usage.touch(&path);
            return Ok(());
        }
        let sum = Sha256::digest(encoded);
        runfolder::write_atomic_with(&path, |file| {
            io::Write::write_all(file, ENTRY_MAGIC)?;
            io::Write::write_all(file, &sum)?;
            io::Write::write_all(file, encoded)
        })?;
        self.usage.record(Area::Volumes, &path);
        Ok(())
    }

    /// Reads and checks a stored volume (checksum, decoding, id). `Ok(None)` when absent;
    /// a damaged file is removed and reported.
    pub fn load_volume(
        &self,
        id: &VolumeId,
        limits: &imaging::Limits,
    ) -> Result<Option<imaging::Volume>, Corrupt> {
        let Some(payload) = self.volume_payload(id)? else {
            return Ok(None);
        };
        let limits = imaging::Limits {
            max_bytes: usize::MAX,
            ..*limits
        };
        imaging::Volume::decode(&payload, &limits)
            .map(Some)
            .map_err(|e| self.corrupt_entry(&self.volume_path(id), e.to_string()))
    }

    /// Whether an image with this id is stored (not checked; readers check).
    pub fn has_image(&self, id: &ImageId) -> bool {
        let path = self.image_path(id);
        self.usage.touch(&path);
        path.is_file()
    }

    /// Whether a mask with this id is stored.
    pub fn has_mask(&self, id: &ImageId) -> bool {
        self.mask_path(id).is_file()
    }

    /// Whether a volume with this id is stored.
    pub fn has_volume(&self, id: &VolumeId) -> bool {
        let path = self.volume_path(id);
        self.usage.touch(&path);
        path.is_file()
    }

    /// A stored image's PNG and the preprocessing descriptor its id was computed with,
    /// both checked. `Ok(None)` when absent.
    pub fn image_with_descriptor(
        &self,
        id: ImageId,
        limits: &imaging::Limits,
    ) -> Result<Option<(Vec<u8>, String)>, Corrupt> {
        let Some(png) = self.image_png(id, limits)? else {
            return Ok(None);
        };
        let path = self.image_path(&id);
        let descriptor = self
            .descriptor(&id)
            .map_err(|reason| self.corrupt_image(id, &path, reason))?;
        Ok(Some((png, descriptor)))
    }

    /// Stores a verified image under `id` with its descriptor (plain uploads have
    /// [`PREPROCESSING_V1`] and no descriptor file).
    pub fn put_image_with_descriptor(
        &self,
        id: ImageId,
        descriptor: &str,
        image: &RgbImage,
    ) -> io::Result<()> {
        if descriptor == PREPROCESSING_V1 {
            self.put_image(id, image)
        } else {
            self.put_slice_image(id, descriptor, image)
        }
    }

    /// A stored volume's encoded payload, checksum verified. `Ok(None)` when absent.
    pub fn volume_payload(&self, id: &VolumeId) -> Result<Option<Vec<u8>>, Corrupt> {
        let path = self.volume_path(id);
        let _pin = self.usage.pin(&path);
        let mut bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.corrupt_entry(&path, e.to_string())),
        };
        self.usage.touch(&path);
        let payload = open_entry(&bytes).map_err(|reason| self.corrupt_entry(&path, reason))?;
        if VolumeId::of_encoded(payload) != *id {
            return Err(self.corrupt_entry(&path, "content does not match the id".into()));
        }
        // The payload in place: no second copy of the volume.
        bytes.drain(..ENTRY_HEADER);
        Ok(Some(bytes))
    }

    /// Keeps a ground-truth mask file (already made clean by `imaging::clean_mask`); its id
    /// is the sha256 of its bytes.
    pub fn put_mask(&self, bytes: &[u8]) -> io::Result<ImageId> {
        let id = mask_id(bytes);
        let path = self.mask_path(&id);
        if !path.exists() {
            write_atomic(&path, bytes)?;
        }
        Ok(id)
    }

    /// Stores decoded pixels as PNG unless an intact copy is already there.
    pub fn put_image(&self, id: ImageId, image: &RgbImage) -> io::Result<()> {
        let path = self.image_path(&id);
        let _pin = self.usage.pin(&path);
        if self.is_verified(&id, &path) {
            self.usage.touch(&path);
            return Ok(());
        }
        let (width, height) = (image.width as u32, image.height as u32);
        let mut png = Vec::new();
        PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Adaptive)
            .write_image(&image.pixels, width, height, ExtendedColorType::Rgb8)
            .map_err(io::Error::other)?;
        write_atomic(&path, &png)?;
        self.remember_verified(id, &path);
        self.usage.record(Area::Images, &path);
        Ok(())
    }

    /// Reads and checks a stored image: its PNG bytes and pixels. `Ok(None)` when absent;
    /// a damaged file is removed and reported.
    pub fn load_image(
        &self,
        id: ImageId,
        limits: &imaging::Limits,
    ) -> Result<Option<(Vec<u8>, RgbImage)>, Corrupt> {
        let path = self.image_path(&id);
        let _pin = self.usage.pin(&path);
        let png = match fs::read(&path) {
            Ok(png) => png,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.corrupt_image(id, &path, e.to_string())),
        };
        let decoded = imaging::decode_image(&png, limits)
            .map_err(|e| self.corrupt_image(id, &path, e.to_string()))?;
        let descriptor = self
            .descriptor(&id)
            .map_err(|reason| self.corrupt_image(id, &path, reason))?;
        let recomputed =
            ImageId::of_pixels(&descriptor, decoded.width, decoded.height, &decoded.rgb);
        if recomputed != id {
            return Err(self.corrupt_image(id, &path, "pixels do not match the id".into()));
        }
        self.remember_verified(id, &path);
        self.usage.touch(&path);
        let image = RgbImage::new(decoded.width as usize, decoded.height as usize, decoded.rgb)
            .ok_or_else(|| self.corrupt_image(id, &path, "pixel buffer size".into()))?;
        Ok(Some((png, image)))
    }

    /// The stored PNG of `id`, checked once per file version (decode + id) and then
    /// served as is. `Ok(None)` when absent.
    pub fn image_png(
        &self,
        id: ImageId,
        limits: &imaging::Limits,
    ) -> Result<Option<Vec<u8>>, Corrupt> {
        let path = self.image_path(&id);
        let _pin = self.usage.pin(&path);
        if self.is_verified(&id, &path) {
            match fs::read(&path) {
                Ok(png) => {
                    self.usage.touch(&path);
                    return Ok(Some(png));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(_) => {}
            }
        }
        Ok(self.load_image(id, limits)?.map(|(png, _)| png))
    }

    fn corrupt_image(&self, id: ImageId, path: &Path, reason: String) -> Corrupt {
        self.forget(&id, path);
        Corrupt {
            path: path.to_path_buf(),
            reason,
        }
    }

    /// A cached f32 embedding, checksum verified. `Ok(None)` when absent; a damaged entry
    /// is removed and reported.
    pub fn read_embedding(
        &self,
        model: ModelId,
        weights: &str,
        id: &ImageId,
    ) -> Result<Option<EmbeddingData>, Corrupt> {
        let path = self.embedding_path(model, weights, id);
        let _pin = self.usage.pin(&path);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.corrupt_entry(&path, e.to_string())),
        };
        self.usage.touch(&path);
        let payload = open_entry(&bytes).map_err(|reason| self.corrupt_entry(&path, reason))?;
        let data =
            EmbeddingData::decode(payload).map_err(|e| self.corrupt_entry(&path, e.to_string()))?;
        if data.header.model != model || data.header.dtype != ExportDtype::F32 {
            return Err(self.corrupt_entry(&path, "entry is for another model".into()));
        }
        Ok(Some(data))
    }

    fn corrupt_entry(&self, path: &Path, reason: String) -> Corrupt {
        let _ = fs::remove_file(path);
        self.usage.forget(path);
        Corrupt {
            path: path.to_path_buf(),
            reason,
        }
    }

    /// Caches an embedding (stored as f32 whatever its header says).
    pub fn write_embedding(
        &self,
        weights: &str,
        id: &ImageId,
        data: &EmbeddingData,
    ) -> io::Result<()> {
        let mut full = data.clone();
        full.header.dtype = ExportDtype::F32;
        let payload = full.encode().map_err(io::Error::other)?;
        let path = self.embedding_path(data.header.model, weights, id);
        let _pin = self.usage.pin(&path);
        write_atomic(&path, &seal_entry(&payload))?;
        self.usage.record(Area::Embeddings, &path);
        Ok(())
    }
}

/// `magic ‖ sha256(payload) ‖ payload`.
fn seal_entry(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENTRY_HEADER + payload.len());
    out.extend_from_slice(ENTRY_MAGIC);
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

/// The payload of a sealed entry, or why it is damaged.
fn open_entry(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < ENTRY_HEADER || &bytes[..8] != ENTRY_MAGIC {
        return Err("not a samscope cache entry (bad magic or truncated)".into());
    }
    let (sum, payload) = bytes[8..].split_at(32);
    if Sha256::digest(payload).as_slice() != sum {
        return Err("checksum mismatch".into());
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sam::embedding_codec::EmbeddingHeader;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Distinguishes the scratch folders of one test process.
    static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "samscope-store-{name}-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn data() -> EmbeddingData {
        EmbeddingData {
            header: EmbeddingHeader {
                model: ModelId::LiteMedSam,
                dtype: ExportDtype::F16,
                shape: [1, 2, 2, 2],
                original_size: (4, 3),
                input_size: (4, 3),
            },
            values: (0..8).map(|v| v as f32 / 3.0).collect(),
        }
    }

    #[test]
    fn sealed_entries_detect_any_flipped_byte() {
        let sealed = seal_entry(b"payload bytes");
        assert_eq!(open_entry(&sealed).unwrap(), b"payload bytes");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(open_entry(&bad).is_err(), "flip at {i} not detected");
        }
        assert!(open_entry(&sealed[..20]).is_err());
    }

    #[test]
    fn embeddings_round_trip_as_f32_and_corrupt_ones_are_removed() {
        let root = temp_root("emb");
        let store = Store::open(&root).unwrap();
        let id = ImageId::of_pixels(PREPROCESSING_V1, 1, 1, &[0, 0, 0]);
        let weights = "0123456789abcdef0123";
        assert!(
            store
                .read_embedding(ModelId::LiteMedSam, weights, &id)
                .unwrap()
                .is_none()
        );
        store.write_embedding(weights, &id, &data()).unwrap();
        let back = store
            .read_embedding(ModelId::LiteMedSam, weights, &id)
            .unwrap()
            .unwrap();
        assert_eq!(back.values, data().values);
        assert_eq!(back.header.dtype, ExportDtype::F32);

        let path = store.embedding_path(ModelId::LiteMedSam, weights, &id);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        assert!(
            store
                .read_embedding(ModelId::LiteMedSam, weights, &id)
                .is_err()
        );
        assert!(!path.exists(), "a corrupt entry is removed");
        assert!(
            store
                .read_embedding(ModelId::LiteMedSam, weights, &id)
                .unwrap()
                .is_none()
        );
        let _ = fs::remove_dir_all(root);
    }

    #[test]
    fn images_are_checked_against_their_id() {
        let root = temp_root("img");
        let store = Store::open(&root).unwrap();
        let image = RgbImage::new(2, 1, vec![10, 20, 30, 40, 50, 60]).unwrap();
        let id = ImageId::of_pixels(PREPROCESSING_V1, 2, 1, &image.pixels);
        let limits = imaging::Limits::default();
        store.put_image(id, &image).unwrap();
        let (_, back) = store.load_image(id, &limits).unwrap().unwrap();
        assert_eq!(back, image);
        assert!(store.image_png(id, &limits).unwrap().is_some());

        // Another image's file under this id: refused, removed.
        let other = RgbImage::new(2, 1, vec![0; 6]).unwrap();
        let other_id = ImageId::of_pixels(PREPROCESSING_V1, 2, 1, &other.pixels);
        store.put_image(other_id, &other).unwrap();
        fs::copy(store.image_path(&other_id), store.image_path(&id)).unwrap();
        assert!(store.image_png(id, &limits).is_err());
        assert!(store.image_png(id, &limits).unwrap().is_none());
        let _ = fs::remove_dir_all(root);
    }
}
