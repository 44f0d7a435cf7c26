//! The image encoder on its own thread behind a bounded queue, so it never blocks the
//! async runtime and overload turns into 503s instead of unbounded memory.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::Instant;

use sam::embedding_codec::EmbeddingData;
use sam::export::ExportDtype;
use sam::{ModelId, RgbImage, SamPredictor};
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::metrics::Metrics;

/// What one encoder run yields: the f32 embedding, or why it failed.
pub type EncodeResult = Result<EmbeddingData, String>;

struct Job {
    model: ModelId,
    image: RgbImage,
    reply: oneshot::Sender<EncodeResult>,
}

/// Handle to the encoder thread; dropping it lets the thread finish its queue and exit.
#[derive(Debug)]
pub struct Encoder {
    queue: SyncSender<Job>,
    capacity: usize,
    alive: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Job({}, {}×{})",
            self.model, self.image.width, self.image.height
        )
    }
}

/// Clears the liveness flag when the thread ends, however it ends.
struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn run_job(predictor: Option<&SamPredictor>, job: &Job) -> EncodeResult {
    let predictor = predictor.ok_or_else(|| format!("model `{}` is not loaded", job.model))?;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        predictor
            .embed(&job.image)
            .and_then(|e| EmbeddingData::from_embedding(&e, ExportDtype::F32))
    }));
    match outcome {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("the encoder panicked".into()),
    }
}

impl Encoder {
    /// Starts the thread owning `predictors`; up to `capacity` jobs may wait behind the
    /// running one.
    pub fn start(
        predictors: Vec<SamPredictor>,
        capacity: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = sync_channel::<Job>(capacity);
        let alive = Arc::new(AtomicBool::new(true));
        let guard = AliveGuard(alive.clone());
        let thread_metrics = metrics.clone();
        std::thread::Builder::new()
            .name("samscope-encoder".into())
            .spawn(move || {
                let _guard = guard;
                let models: HashMap<ModelId, SamPredictor> =
                    predictors.into_iter().map(|p| (p.config().id, p)).collect();
                for job in jobs {
                    thread_metrics.queue_depth.fetch_sub(1, Ordering::SeqCst);
                    if job.reply.is_closed() {
                        continue;
                    }
                    thread_metrics.encoder_busy.store(1, Ordering::SeqCst);
                    let start = Instant::now();
                    let result = run_job(models.get(&job.model), &job);
                    let elapsed = start.elapsed();
                    thread_metrics.record_encoder_run(elapsed, result.is_ok());
                    thread_metrics.encoder_busy.store(0, Ordering::SeqCst);
                    match &result {
                        Ok(_) => tracing::info!(
                            model = %job.model,
                            width = job.image.width,
                            height = job.image.height,
                            ms = elapsed.as_millis() as u64,
                            "encoder run"
                        ),
                        Err(e) => {
                            tracing::error!(model = %job.model, error = %e, "encoder run failed")
                        }
                    }
                    let _ = job.reply.send(result);
                }
            })?;
        Ok(Self {
            queue,
            capacity,
            alive,
            metrics,
        })
    }

    /// Whether the encoder thread is still running.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Queues one image; the receiver yields the embedding. A full queue is
    /// [`ApiError::Busy`] with a retry estimate from the mean run time.
    pub fn submit(
        &self,
        model: ModelId,
        image: RgbImage,
    ) -> Result<oneshot::Receiver<EncodeResult>, ApiError> {
        let (reply, result) = oneshot::channel();
        self.metrics.queue_depth.fetch_add(1, Ordering::SeqCst);
        match self.queue.try_send(Job {
            model,
            image,
            reply,
        }) {
            Ok(()) => Ok(result),
            Err(err) => {
                self.metrics.queue_depth.fetch_sub(1, Ordering::SeqCst);
                match err {
                    TrySendError::Full(_) => Err(ApiError::Busy {
                        what: "the encoder queue",
                        retry_after_s: self.retry_after_s(),
                    }),
                    TrySendError::Disconnected(_) => {
                        Err(ApiError::internal("the encoder thread has stopped"))
                    }
                }
            }
        }
    }

    /// Seconds until the queue has likely drained, at least 1.
    fn retry_after_s(&self) -> u64 {
        let mean = self.metrics.mean_encoder_seconds().unwrap_or(1.0);
        (mean * (self.capacity + 1) as f64).ceil().clamp(1.0, 300.0) as u64
    }
}
