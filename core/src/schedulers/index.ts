export type { Scheduler, SchedulerConfig, StepResult, PredictionType, TimestepSpacing } from './types.js';
export { DDIMScheduler } from './ddim.js';
export { EulerDiscreteScheduler } from './euler.js';
export { EulerAncestralDiscreteScheduler } from './euler-ancestral.js';
export { SCHEDULERS, createScheduler, findScheduler, type SchedulerInfo } from './registry.js';
