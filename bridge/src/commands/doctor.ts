// kirie doctor: which execution providers this machine offers, why the others are missing, and the one
// `--device auto` picks. Each provider is probed by running a one-node graph on it, as the bridge does.
import type { Command } from 'commander';
import { arch, availableParallelism, platform } from 'node:os';
import * as ort from 'onnxruntime-node';
import { DEVICES, resetProviderFailures, resolveProvider, type Provider } from '../runtime/session.js';
import { linuxGpuNodes, vulkanDrivers } from '../runtime/webgpu.js';

export interface ProviderCheck {
  provider: Provider;
  available: boolean;
  /** Why not, as the fallback log says it. */
  reason?: string;
}

export interface DoctorReport {
  platform: string;
  onnxruntime: string;
  providers: ProviderCheck[];
  auto: { provider: Provider; notes: string[] };
  /** Linux: what the WebGPU adapter can be (onnxruntime-node does not name the adapter Dawn picks). */
  webgpu?: { gpuNodes: string[]; vulkanDrivers: string[] };
}

export async function diagnose(): Promise<DoctorReport> {
  resetProviderFailures();
  const providers: ProviderCheck[] = [];
  for (const provider of DEVICES.filter((d): d is Provider => d !== 'auto')) {
    const reasons: string[] = [];
    const available = (await resolveProvider(provider, (m) => reasons.push(m))) === provider;
    providers.push({ provider, available, ...(available ? {} : { reason: reasons.join('; ').replace(/^\w+ unavailable, falling back to the CPU: /, '') }) });
  }
  // Fresh, so `auto` probes (and explains) each candidate itself.
  resetProviderFailures();
  const notes: string[] = [];
  const picked = await resolveProvider('auto', (m) => notes.push(m));
  return {
    platform: `${platform()} ${arch()}, Node ${process.versions.node}, ${availableParallelism()} cores`,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    providers,
    auto: { provider: picked, notes },
    ...(platform() === 'linux' ? { webgpu: { gpuNodes: linuxGpuNodes(), vulkanDrivers: vulkanDrivers() } } : {}),
  };
}

export function formatReport(r: DoctorReport): string {
  const lines = [`platform: ${r.platform}`, `onnxruntime-node: ${r.onnxruntime}`, 'providers:'];
  for (const p of r.providers) lines.push(`  ${p.provider.padEnd(7)}${p.available ? 'available' : `unavailable: ${p.reason}`}`);
  const webgpu = r.providers.find((p) => p.provider === 'webgpu');
  if (webgpu?.available) {
    lines.push("webgpu adapter: onnxruntime-node does not name it; probed by running a one-node graph on the WebGPU provider");
  }
  if (r.webgpu) {
    lines.push(`  GPU device nodes: ${r.webgpu.gpuNodes.join(', ') || 'none (a WebGPU adapter here can only be a software one, Mesa llvmpipe, on the CPU)'}`);
    lines.push(`  Vulkan drivers installed: ${r.webgpu.vulkanDrivers.join(', ') || 'none (install mesa-vulkan-drivers or your GPU vendor\'s driver)'}`);
  }
  lines.push(`auto picks: ${r.auto.provider}`);
  for (const note of r.auto.notes) lines.push(`  ${note}`);
  if (r.auto.provider === 'cpu') lines.push('  no GPU provider: see README "Which GPU Kirie uses" for what to install');
  return lines.join('\n');
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('print the platform, the execution providers available (and why others are not) and the one --device auto picks')
    .action(async () => {
      console.log(formatReport(await diagnose()));
    });
}
