//! What teaching needs from the content store (images, masks and volumes by content id),
//! which the server owns: existence checks for cases, and the blobs a deck file carries.
//! Ids are the store's (64 lower-case hex); computing and verifying them is the store's
//! business, so a deck file cannot plant content under another id.

/// An image as a deck file carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// The stored 8-bit RGB PNG.
    pub png: Vec<u8>,
    /// The preprocessing descriptor its id was computed with.
    pub descriptor: String,
}

/// Why the content store refused or failed an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    /// The content is not acceptable (does not decode, does not match its id); the
    /// message says which, in a sentence a person can act on.
    #[error("{0}")]
    Rejected(String),
    /// Reading or writing the store failed.
    #[error("{0}")]
    Io(String),
}

/// The content store as teaching sees it. Every method blocks (file I/O).
pub trait ContentStore {
    /// Whether image `id` is stored.
    fn has_image(&self, id: &str) -> bool;
    /// Whether mask `id` is stored.
    fn has_mask(&self, id: &str) -> bool;
    /// Whether volume `id` is stored.
    fn has_volume(&self, id: &str) -> bool;

    /// Image `id` as a deck file carries it; `None` when it is not stored.
    fn image_file(&self, id: &str) -> Result<Option<ImageFile>, ContentError>;
    /// Mask `id`'s file, verbatim (checked against its id); `None` when it is not stored.
    fn mask_file(&self, id: &str) -> Result<Option<Vec<u8>>, ContentError>;
    /// Volume `id`'s stored samples and geometry; `None` when it is not stored.
    fn volume_file(&self, id: &str) -> Result<Option<Vec<u8>>, ContentError>;

    /// Checks that `image` decodes and that its pixels under its descriptor give `id`,
    /// then stores it.
    fn import_image(&self, id: &str, image: &ImageFile) -> Result<(), ContentError>;
    /// Checks that `bytes` decode as a mask whose id is `id`, then stores them.
    fn import_mask(&self, id: &str, bytes: &[u8]) -> Result<(), ContentError>;
    /// Checks that `payload` decodes as a volume whose id is `id`, then stores it.
    fn import_volume(&self, id: &str, payload: &[u8]) -> Result<(), ContentError>;
}
