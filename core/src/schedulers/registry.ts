// Scheduler names users type (CLI, UI, requests) -> a configured diffusers-equivalent scheduler.
import { DDIMScheduler } from './ddim.js';
import { EulerDiscreteScheduler } from './euler.js';
import { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
import { DPMSolverMultistepScheduler } from './dpm-multistep.js';
import { LCMScheduler } from './lcm.js';
import { PNDMScheduler } from './pndm.js';
import type { Scheduler, SchedulerConfig } from './types.js';

export interface SchedulerInfo {
  name: string;
  aliases: readonly string[];
  /** Human label, as UIs show it (AUTOMATIC1111 naming). */
  label: string;
  /** diffusers class reproduced. */
  className: string;
  /** Config keys this name sets on top of the model's scheduler_config.json (so "euler" is never Karras). */
  options: SchedulerConfig;
  create(config: SchedulerConfig): Scheduler;
}

/** SD1.5's scheduler_config.json: the base every scheduler name configures on (checkpoints carry none). */
export const SD15_SCHEDULER_CONFIG = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  trained_betas: null,
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
  skip_prk_steps: true,
});

const DPMPP_2M = { algorithm_type: 'dpmsolver++', solver_order: 2 };

export const SCHEDULERS: readonly SchedulerInfo[] = [
  { name: 'ddim', aliases: [], label: 'DDIM', className: 'DDIMScheduler', options: {}, create: (c) => new DDIMScheduler(c) },
  { name: 'pndm', aliases: ['plms'], label: 'PLMS', className: 'PNDMScheduler', options: {}, create: (c) => new PNDMScheduler(c) },
  {
    name: 'euler',
    aliases: [],
    label: 'Euler',
    className: 'EulerDiscreteScheduler',
    options: { use_karras_sigmas: false },
    create: (c) => new EulerDiscreteScheduler(c),
  },
  {
    name: 'euler_karras',
    aliases: [],
    label: 'Euler Karras',
    className: 'EulerDiscreteScheduler',
    options: { use_karras_sigmas: true },
    create: (c) => new EulerDiscreteScheduler(c),
  },
  {
    name: 'euler_ancestral',
    aliases: ['euler_a'],
    label: 'Euler a',
    className: 'EulerAncestralDiscreteScheduler',
    options: {},
    create: (c) => new EulerAncestralDiscreteScheduler(c),
  },
  {
    name: 'dpmpp_2m',
    aliases: [],
    label: 'DPM++ 2M',
    className: 'DPMSolverMultistepScheduler',
    options: { ...DPMPP_2M, use_karras_sigmas: false },
    create: (c) => new DPMSolverMultistepScheduler(c),
  },
  {
    name: 'dpmpp_2m_karras',
    aliases: [],
    label: 'DPM++ 2M Karras',
    className: 'DPMSolverMultistepScheduler',
    options: { ...DPMPP_2M, use_karras_sigmas: true },
    create: (c) => new DPMSolverMultistepScheduler(c),
  },
  { name: 'lcm', aliases: [], label: 'LCM', className: 'LCMScheduler', options: {}, create: (c) => new LCMScheduler(c) },
];

export function findScheduler(name: string): SchedulerInfo | undefined {
  const key = name.trim().toLowerCase();
  return SCHEDULERS.find((s) => s.name === key || s.aliases.includes(key));
}

/**
 * A scheduler by user-facing name, configured from a diffusers scheduler_config.json object (as a
 * model ships it; the name's own options win over it).
 */
export function createScheduler(name: string, config: SchedulerConfig = {}): Scheduler {
  const info = findScheduler(name);
  if (!info) {
    const known = SCHEDULERS.flatMap((s) => [s.name, ...s.aliases]).join(', ');
    throw new Error(`unknown scheduler "${name}"; known: ${known}`);
  }
  return info.create({ ...config, ...info.options });
}
