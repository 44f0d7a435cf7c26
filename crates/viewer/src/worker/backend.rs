//! Picking the Burn device in the worker: WebGPU through wgpu's browser backend when the
//! browser offers an adapter, else Burn's CPU backend (flex) compiled to wasm.
//!
//! The page starts the worker built with WebGPU only when the browser offers an adapter
//! (`decoder-worker-boot.js`); the CPU-only worker has no WebGPU code, and answers a WebGPU
//! request with the reason it could not be met.

use burn::prelude::Device;
#[cfg(feature = "webgpu")]
use burn::tensor::wgpu::{WgpuSetup, wgpu};
use wasm_bindgen::prelude::*;

use crate::protocol::{Backend, BackendChoice};

/// Whether the worker's global scope offers `navigator.gpu`. (`decoder-worker-boot.js`
/// makes adapters request the `subgroups` feature CubeCL's WGSL kernels need.)
fn has_webgpu() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("navigator"));
    navigator
        .and_then(|n| js_sys::Reflect::get(&n, &JsValue::from_str("gpu")))
        .is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

/// The device the decoder runs on.
pub struct Picked {
    /// Burn device.
    pub device: Device,
    /// Where the decoder runs.
    pub backend: Backend,
    /// Adapter description (WebGPU only).
    pub adapter: String,
    /// Why WebGPU was wanted but not used.
    pub fallback_reason: Option<String>,
}

/// In the CPU-only worker: why there is no WebGPU device (the page chose this worker
/// because the browser offered no adapter).
#[cfg(not(feature = "webgpu"))]
async fn webgpu() -> Result<(Device, String), String> {
    Err(if has_webgpu() {
        "no WebGPU adapter".into()
    } else {
        "this browser has no WebGPU (navigator.gpu)".into()
    })
}

#[cfg(feature = "webgpu")]
async fn webgpu() -> Result<(Device, String), String> {
    if !has_webgpu() {
        return Err("this browser has no WebGPU (navigator.gpu)".into());
    }
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("no WebGPU adapter: {e}"))?;
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("samscope decoder"),
            required_features: adapter
                .features()
                .difference(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS),
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::MemoryUsage,
            trace: wgpu::Trace::Off,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
        })
        .await
        .map_err(|e| format!("WebGPU device request failed: {e}"))?;
    let info = adapter.get_info();
    let description = [info.vendor.to_string(), info.name, info.driver_info]
        .into_iter()
        .filter(|s| !s.is_empty() && s != "0")
        .collect::<Vec<_>>()
        .join(" ");
    let setup = WgpuSetup {
        instance,
        adapter,
        device,
        queue,
        backend: wgpu::Backend::BrowserWebGpu,
    };
    let device = Device::wgpu_options()
        .setup(setup)
        .init()
        .map_err(|e| format!("Burn could not use the WebGPU device: {e}"))?;
    Ok((device, description))
}

/// Picks the device for `choice`.
pub async fn pick(choice: BackendChoice) -> Result<Picked, String> {
    let cpu = |fallback_reason| Picked {
        device: Device::flex(),
        backend: Backend::CpuWasm,
        adapter: String::new(),
        fallback_reason,
    };
    match choice {
        BackendChoice::Cpu => Ok(cpu(None)),
        BackendChoice::Webgpu => webgpu().await.map(|(device, adapter)| Picked {
            device,
            backend: Backend::Webgpu,
            adapter,
            fallback_reason: None,
        }),
        BackendChoice::Auto => Ok(match webgpu().await {
            Ok((device, adapter)) => Picked {
                device,
                backend: Backend::Webgpu,
                adapter,
                fallback_reason: None,
            },
            Err(reason) => cpu(Some(reason)),
        }),
    }
}
