export type { Scheduler, SchedulerConfig, StepResult, PredictionType, TimestepSpacing } from './types.js';
export { DDIMScheduler } from './ddim.js';
export { EulerDiscreteScheduler } from './euler.js';
export { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
export { PNDMScheduler } from './pndm.js';
export { DPMSolverMultistepScheduler } from './dpm-multistep.js';
export { LCMScheduler } from './lcm.js';
export { img2imgTimesteps, type PartialSchedule } from './img2img.js';
export { SCHEDULERS, createScheduler, findScheduler, type SchedulerInfo } from './registry.js';
