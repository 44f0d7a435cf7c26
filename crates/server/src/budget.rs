//! The decode memory budget (`--decode-memory`): every upload decode (image, mask,
//! volume, the blobs of a deck import) is weighed by the bytes its header announces it
//! will need and admitted against one server-wide budget, in MiB, first come first
//! served. An upload that alone needs more than the whole budget is refused (413) before
//! anything is allocated; one that does not fit now waits for the decodes ahead of it
//! to finish, at most [`ServerLimits::request_timeout`](crate::ServerLimits), then gets 503.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use imaging::ImagingError;
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

const MIB: u64 = 1 << 20;

/// The budget shared by all uploads.
#[derive(Debug)]
pub struct DecodeBudget {
    free: Arc<Semaphore>,
    /// The whole budget, MiB.
    mib: u32,
    /// Longest wait for room.
    wait: Duration,
}

impl DecodeBudget {
    /// A budget of `bytes` (at least 1 MiB); admissions wait at most `wait`.
    pub fn new(bytes: u64, wait: Duration) -> Self {
        let mib = (bytes / MIB).clamp(1, u64::from(u32::MAX >> 4)) as u32;
        Self {
            free: Arc::new(Semaphore::new(mib as usize)),
            mib,
            wait,
        }
    }

    /// MiB not held by a decode now.
    #[cfg(test)]
    fn free_mib(&self) -> usize {
        self.free.available_permits()
    }

    /// Runs blocking `work` (on a blocking thread of the runtime `handle`) with each
    /// decode in it admitted against the budget; what a decode was granted is held until
    /// the next decode in `work` asks or `work` returns (so the stored result is made
    /// inside the grant). A wait that runs out answers 503.
    pub fn run<T>(
        &self,
        handle: &Handle,
        work: impl FnOnce() -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let timed_out = Arc::new(AtomicBool::new(false));
        let admit = {
            let free = self.free.clone();
            let (budget, wait, handle) = (self.mib, self.wait, handle.clone());
            let timed_out = timed_out.clone();
            let mut held: Option<OwnedSemaphorePermit> = None;
            move |bytes: u64| -> Result<(), ImagingError> {
                let need = bytes.div_ceil(MIB).max(1);
                if need > u64::from(budget) {
                    return Err(ImagingError::TooLarge(format!(
                        "decoding this upload needs {need} MiB of memory, more than the \
                         server's decode memory budget of {budget} MiB (--decode-memory)"
                    )));
                }
                // The previous decode's grant ends where the next one starts.
                drop(held.take());
                let acquire = free.clone().acquire_many_owned(need as u32);
                // (The timer needs the runtime's context, which `block_on` enters.)
                match handle.block_on(async move { tokio::time::timeout(wait, acquire).await }) {
                    Ok(Ok(permit)) => {
                        // Held by this hook until the next decode or the end of `work`.
                        let _ = held.insert(permit);
                        Ok(())
                    }
                    Ok(Err(_)) | Err(_) => {
                        timed_out.store(true, Ordering::Relaxed);
                        Err(ImagingError::TooLarge("no decode memory came free".into()))
                    }
                }
            }
        };
        let result = imaging::with_admission(admit, work);
        if timed_out.load(Ordering::Relaxed) && result.is_err() {
            return Err(ApiError::Busy {
                what: "the decode memory budget (--decode-memory)",
                retry_after_s: self.wait.as_secs().clamp(1, 30),
            });
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_needing(bytes: u64) -> Result<(), ApiError> {
        // Any imaging decode asks the hook; a NIfTI header announcing `bytes` is simplest
        // to fake through the public API: use an 8-bit RGB PNG of the right size instead.
        let side = ((bytes / 6) as f64).sqrt().max(1.0) as u32;
        let img = image::RgbImage::new(side, side);
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        imaging::decode_image(png.get_ref(), &imaging::Limits::default())?;
        Ok(())
    }

    #[test]
    fn refuses_what_never_fits_and_waits_for_what_fits_later() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let handle = runtime.handle().clone();
        let budget = Arc::new(DecodeBudget::new(8 * MIB, Duration::from_millis(300)));

        // 64 MiB never fits an 8 MiB budget: 413.
        let too_big = budget.run(&handle, || decode_needing(64 * MIB));
        assert!(matches!(too_big, Err(ApiError::TooLarge(ref m)) if m.contains("--decode-memory")));
        assert_eq!(budget.free_mib(), 8);

        // 6 MiB fits; while it is held, a second 6 MiB waits and then gets 503.
        let (entered, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let holder = {
            let (budget, handle) = (budget.clone(), handle.clone());
            let (entered, release) = (entered.0, release.1);
            std::thread::spawn(move || {
                budget.run(&handle, || {
                    decode_needing(6 * MIB)?;
                    entered.send(()).unwrap();
                    release.recv().unwrap();
                    Ok(())
                })
            })
        };
        entered.1.recv().unwrap();
        assert!(budget.free_mib() < 8);
        let waited = budget.run(&handle, || decode_needing(6 * MIB));
        assert!(matches!(waited, Err(ApiError::Busy { .. })), "{waited:?}");
        // Once the first is done, the second is admitted.
        let second = {
            let (budget, handle) = (budget.clone(), handle.clone());
            std::thread::spawn(move || budget.run(&handle, || decode_needing(6 * MIB)))
        };
        std::thread::sleep(Duration::from_millis(50));
        release.0.send(()).unwrap();
        holder.join().unwrap().unwrap();
        second.join().unwrap().unwrap();
        assert_eq!(budget.free_mib(), 8);
    }
}
