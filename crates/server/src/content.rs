//! The content store as teaching sees it ([`teaching::ContentStore`]): decks check that
//! what their cases name is stored, and deck files carry it between servers. Every id a
//! deck file brings is recomputed here from the content it claims to name.

use std::borrow::Borrow;
use std::path::Path;

use sam::RgbImage;
use teaching::{ContentError, ContentStore, ImageFile};

use crate::config::ServerLimits;
use crate::error::ServerError;
use crate::image_id::{ImageId, PREPROCESSING_V1, VolumeId, is_descriptor};
use crate::store::{Store, mask_id};

/// A content store (owned, or borrowed from the server's state) with the decoding limits
/// deck files are read under.
#[derive(Debug)]
pub struct Content<S = Store> {
    store: S,
    limits: imaging::Limits,
}

impl<'a> Content<&'a Store> {
    /// The server's store under the server's limits.
    pub fn new(store: &'a Store, limits: imaging::Limits) -> Self {
        Self { store, limits }
    }
}

fn rejected(what: String) -> ContentError {
    ContentError::Rejected(what)
}

fn io(e: impl std::fmt::Display) -> ContentError {
    ContentError::Io(e.to_string())
}

impl<S: Borrow<Store>> ContentStore for Content<S> {
    fn has_image(&self, id: &str) -> bool {
        ImageId::parse(id).is_ok_and(|id| self.store.borrow().has_image(&id))
    }

    fn has_mask(&self, id: &str) -> bool {
        ImageId::parse(id).is_ok_and(|id| self.store.borrow().has_mask(&id))
    }

    fn has_volume(&self, id: &str) -> bool {
        VolumeId::parse(id).is_ok_and(|id| self.store.borrow().has_volume(&id))
    }

    fn image_file(&self, id: &str) -> Result<Option<ImageFile>, ContentError> {
        let Ok(id) = ImageId::parse(id) else {
            return Ok(None);
        };
        let found = self
            .store
            .borrow()
            .image_with_descriptor(id, &self.limits)
            .map_err(io)?;
        Ok(found.map(|(png, descriptor)| ImageFile { png, descriptor }))
    }

    fn mask_file(&self, id: &str) -> Result<Option<Vec<u8>>, ContentError> {
        let Ok(id) = ImageId::parse(id) else {
            return Ok(None);
        };
        let Ok(bytes) = std::fs::read(self.store.borrow().mask_path(&id)) else {
            return Ok(None);
        };
        if mask_id(&bytes) != id {
            return Err(io(format!("stored mask {id} does not match its id")));
        }
        Ok(Some(bytes))
    }

    fn volume_file(&self, id: &str) -> Result<Option<Vec<u8>>, ContentError> {
        let Ok(id) = VolumeId::parse(id) else {
            return Ok(None);
        };
        self.store.borrow().volume_payload(&id).map_err(io)
    }

    fn import_image(&self, id: &str, image: &ImageFile) -> Result<(), ContentError> {
        let id = ImageId::parse(id).map_err(|_| rejected("an image key is not an id".into()))?;
        let decoded = imaging::decode_image(&image.png, &self.limits)
            .map_err(|e| rejected(format!("image {id}: {e}")))?;
        if !is_descriptor(&image.descriptor)
            || ImageId::of_pixels(
                &image.descriptor,
                decoded.width,
                decoded.height,
                &decoded.rgb,
            ) != id
        {
            return Err(rejected(format!("image {id} does not match its id")));
        }
        let rgb = RgbImage::new(decoded.width as usize, decoded.height as usize, decoded.rgb)
            .ok_or_else(|| rejected(format!("image {id}: pixel buffer size")))?;
        self.store
            .borrow()
            .put_image_with_descriptor(id, &image.descriptor, &rgb)
            .map_err(io)
    }

    fn import_mask(&self, id: &str, bytes: &[u8]) -> Result<(), ContentError> {
        let id = ImageId::parse(id).map_err(|_| rejected("a mask key is not an id".into()))?;
        if mask_id(bytes) != id {
            return Err(rejected(format!("mask {id} does not match its id")));
        }
        if !imaging::is_clean_png(bytes) {
            return Err(rejected(format!(
                "mask {id} is not a PNG without metadata chunks (text, EXIF, …), as a server \
                 stores masks; upload it with POST /api/v1/masks and refer to the new id"
            )));
        }
        imaging::decode_image(bytes, &self.limits)
            .map_err(|e| rejected(format!("mask {id}: {e}")))?;
        self.store.borrow().put_mask(bytes).map(drop).map_err(io)
    }

    fn import_volume(&self, id: &str, payload: &[u8]) -> Result<(), ContentError> {
        let id = VolumeId::parse(id).map_err(|_| rejected("a volume key is not an id".into()))?;
        if VolumeId::of_encoded(payload) != id {
            return Err(rejected(format!("volume {id} does not match its id")));
        }
        imaging::Volume::decode(payload, &self.limits)
            .map_err(|e| rejected(format!("volume {id}: {e}")))?;
        self.store.borrow().put_volume(&id, payload).map_err(io)
    }
}

/// A data directory's content store without a running server (`samscope deck`): the
/// store a server on the same directory uses, with the server's default limits.
impl Content<Store> {
    /// Opens (creating) the content store of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, ServerError> {
        let store = Store::open(data_dir).map_err(|source| ServerError::DataDir {
            path: data_dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            store,
            limits: ServerLimits::default().imaging(),
        })
    }

    /// Stores 8-bit RGB pixels as an uploaded image; returns its id (as
    /// `POST /api/v1/images` would for the same pixels).
    pub fn add_image(&self, image: &RgbImage) -> Result<String, ContentError> {
        let id = ImageId::of_pixels(
            PREPROCESSING_V1,
            image.width as u32,
            image.height as u32,
            &image.pixels,
        );
        self.store
            .put_image(id, image)
            .map_err(|e| io(format!("storing image {id}: {e}")))?;
        Ok(id.to_string())
    }

    /// Stores a ground-truth mask file re-encoded as `POST /api/v1/masks` does (its
    /// samples in a PNG without metadata); returns its id.
    pub fn add_mask(&self, bytes: &[u8]) -> Result<String, ContentError> {
        let clean =
            imaging::clean_mask(bytes, &self.limits).map_err(|e| rejected(e.to_string()))?;
        self.store
            .put_mask(&clean.png)
            .map(|id| id.to_string())
            .map_err(|e| io(format!("storing a mask: {e}")))
    }
}
