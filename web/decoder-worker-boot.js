// Starts the decoder worker. Trunk builds two: decoder-worker-webgpu (WebGPU, with the CPU
// backend as its fallback) and decoder-worker-cpu (CPU only, much smaller). The page names
// its backend choice in this script's query (`?backend=auto|cpu|webgpu`); `auto` loads the
// WebGPU worker only when the browser offers an adapter, so a browser without one never
// downloads the WebGPU code.
//
// CubeCL's WGSL kernels read the subgroup size, which a browser only allows on a device
// created with the "subgroups" feature; wgpu's WebGPU backend does not know that feature,
// so every adapter's requestDevice adds it when the adapter has it.
(function requestSubgroupsOnDevices() {
  const proto = self.GPUAdapter && self.GPUAdapter.prototype;
  if (!proto || proto.__samscopeSubgroups) return;
  const original = proto.requestDevice;
  proto.requestDevice = function (descriptor) {
    const d = Object.assign({}, descriptor || {});
    const wanted = Array.from(d.requiredFeatures || []);
    if (this.features.has("subgroups") && !wanted.includes("subgroups")) wanted.push("subgroups");
    d.requiredFeatures = wanted;
    return original.call(this, d);
  };
  proto.__samscopeSubgroups = true;
})();

async function offersWebGpu() {
  if (!self.navigator || !self.navigator.gpu) return false;
  try {
    return (await self.navigator.gpu.requestAdapter({ powerPreference: "high-performance" })) !== null;
  } catch (_) {
    return false;
  }
}

// Messages that arrive while the wasm module loads are kept and handed to the handler the
// module installs.
const early = [];
self.onmessage = (event) => early.push(event);
(async () => {
  const choice = new URLSearchParams(self.location.search).get("backend") || "auto";
  const webgpu = choice === "webgpu" || (choice === "auto" && (await offersWebGpu()));
  const bundle = webgpu ? "decoder-worker-webgpu" : "decoder-worker-cpu";
  importScripts(`./${bundle}.js`);
  await wasm_bindgen({ module_or_path: `./${bundle}_bg.wasm` });
  for (const event of early.splice(0)) self.onmessage(event);
})().catch((e) => {
  // The page's error handler shows this (Worker `error` event).
  setTimeout(() => { throw e; });
});
