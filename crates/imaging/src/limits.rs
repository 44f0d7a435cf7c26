//! Upper bounds for one decode, checked from headers before anything is allocated, and
//! the admission hook a server uses to weigh decodes against a shared memory budget.

use std::cell::RefCell;

use crate::ImagingError;

/// What [`with_admission`] installs: asked for the bytes a decode will need.
type Admit = Box<dyn FnMut(u64) -> Result<(), ImagingError>>;

thread_local! {
    static ADMISSION: RefCell<Option<Admit>> = const { RefCell::new(None) };
}

/// Runs `work` on this thread with `admit` asked, by every decode `work` makes, for the
/// bytes that decode will need, as its header announces them (the decoded samples, the
/// 8-bit result, an inflated copy of compressed data), before any of them is allocated.
/// `admit` may block until that much memory is free, or refuse with an error (typically
/// [`ImagingError::TooLarge`]), which the decode returns. A later decode in the same
/// `work` (a deck file's next blob) asks again; `admit` decides what the earlier grant
/// becomes. `admit` is dropped when `work` returns.
pub fn with_admission<T>(
    admit: impl FnMut(u64) -> Result<(), ImagingError> + 'static,
    work: impl FnOnce() -> T,
) -> T {
    struct Restore(Option<Admit>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            // Dropping the installed hook releases whatever it holds.
            let _ = ADMISSION.with(|slot| slot.replace(previous));
        }
    }
    let previous = ADMISSION.with(|slot| slot.replace(Some(Box::new(admit))));
    let _restore = Restore(previous);
    work()
}

/// Asks the hook of [`with_admission`] (if any) for `bytes` of decode memory.
pub(crate) fn admit(bytes: u64) -> Result<(), ImagingError> {
    ADMISSION.with(|slot| match slot.borrow_mut().as_mut() {
        Some(admit) => admit(bytes),
        None => Ok(()),
    })
}

/// Upper bounds for one decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Largest accepted image or slice, in pixels (width × height).
    pub max_pixels: u64,
    /// Largest allocation a decoder may make, in bytes; for volumes, the decoded voxels
    /// (and a decompressed file) must fit in it.
    pub max_alloc: u64,
}

impl Default for Limits {
    /// 64 MiB files, 100 megapixels, 2 GiB of decoder memory.
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_pixels: 100_000_000,
            max_alloc: 2 << 30,
        }
    }
}

impl Limits {
    /// Refuses an empty input or one over [`Limits::max_bytes`].
    pub(crate) fn check_input(&self, len: usize) -> Result<(), ImagingError> {
        if len == 0 {
            return Err(ImagingError::Empty);
        }
        if len > self.max_bytes {
            return Err(ImagingError::TooLarge(format!(
                "{len} bytes, above the limit of {} bytes",
                self.max_bytes
            )));
        }
        Ok(())
    }

    /// Refuses a `width × height` plane with no pixels or over [`Limits::max_pixels`].
    pub(crate) fn check_plane(&self, width: u64, height: u64) -> Result<(), ImagingError> {
        let pixels = width.saturating_mul(height);
        if pixels == 0 {
            return Err(ImagingError::NoPixels);
        }
        if pixels > self.max_pixels {
            return Err(ImagingError::TooLarge(format!(
                "{width}×{height} = {pixels} pixels per slice, above the limit of {} pixels",
                self.max_pixels
            )));
        }
        Ok(())
    }

    /// The byte size of `count` items of `item_bytes` each, refused when it overflows or is
    /// over [`Limits::max_alloc`]; `what` names the buffer in the message.
    pub(crate) fn alloc(
        &self,
        what: &str,
        count: u64,
        item_bytes: u64,
    ) -> Result<usize, ImagingError> {
        let bytes = count.checked_mul(item_bytes).ok_or_else(|| {
            ImagingError::TooLarge(format!("{what}: {count} × {item_bytes} bytes overflows"))
        })?;
        if bytes > self.max_alloc {
            return Err(ImagingError::TooLarge(format!(
                "{what} needs {bytes} bytes, above the limit of {} bytes",
                self.max_alloc
            )));
        }
        usize::try_from(bytes).map_err(|_| {
            ImagingError::TooLarge(format!(
                "{what} needs {bytes} bytes, more than this machine addresses"
            ))
        })
    }
}

/// The product of `dims`, or `None` when it overflows.
pub(crate) fn product(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}
