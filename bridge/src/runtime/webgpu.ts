// What can be known about the WebGPU adapter before (and besides) running on it. onnxruntime-node 1.30 does
// not expose Dawn's adapter (name, driver, features): Kirie can only look at what the OS shows.
import { existsSync, readdirSync } from 'node:fs';
import { platform } from 'node:os';
import { join } from 'node:path';
import type { ComponentPlan } from '../models/cache.js';

/** Device nodes a Linux GPU driver creates: DRM render nodes (Mesa, amdgpu, i915, nvidia-drm) and NVIDIA's own. */
export function linuxGpuNodes(): string[] {
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri').filter((n) => n.startsWith('renderD')).map((n) => `/dev/dri/${n}`) : [];
  const nvidia = existsSync('/dev') ? readdirSync('/dev').filter((n) => /^nvidia\d+$/.test(n)).map((n) => `/dev/${n}`) : [];
  return [...dri, ...nvidia];
}

/**
 * Vulkan drivers installed, by ICD manifest name (lvp = Mesa's llvmpipe on the CPU, radeon = RADV, intel = ANV,
 * nvidia = NVIDIA's), from the loader's default search folders or VK_DRIVER_FILES / VK_ICD_FILENAMES. Mesa
 * installs all its drivers at once, so a name here does not mean the hardware exists.
 */
export function vulkanDrivers(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  const files = listed
    ? listed.split(':').filter(Boolean)
    : ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'].flatMap((dir) =>
        existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => join(dir, n)) : [],
      );
  return files.map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/(_icd)?(\.[a-z0-9_]+)?\.json$/, ''));
}

/**
 * On Linux without a GPU device node, the only adapter Dawn can find is a software one (Mesa's llvmpipe),
 * which runs the graphs on the CPU slower than the CPU provider: the reason `auto` skips WebGPU, or null.
 * Windows (D3D12) and macOS (Metal) expose no software adapter to Dawn by default.
 */
export function softwareOnlyWebGpu(): string | null {
  if (platform() !== 'linux' || linuxGpuNodes().length > 0) return null;
  return 'no GPU device node (/dev/dri/renderD*, /dev/nvidia*), so its adapter would be a software one on the CPU (Mesa llvmpipe), slower than the CPU provider; --device webgpu uses it anyway';
}

/** The plans as `provider` needs them built: WebGPU graphs route around the provider's bugs (core/src/models/onnx/webgpu.ts). */
export function forProvider(plans: ComponentPlan[], provider: string): ComponentPlan[] {
  return provider === 'webgpu' ? plans.map((p) => ({ ...p, options: { ...p.options, webgpu: true } })) : plans;
}
