// Pose detection is a capability the core only describes: the model and its runtime live in the host
// (the bridge runs MoveNet on TensorFlow.js), so the core stays free of any ML runtime.
import type { RasterImage } from '../image/png.js';
import type { PoseDocument } from './openpose.js';

export interface PoseDetector {
  /** A short name for reports, e.g. "movenet-lightning". */
  readonly name: string;
  /** Every person found, COCO-18 body keypoints normalised to the image; the canvas is the image's size. */
  detect(image: RasterImage): Promise<PoseDocument>;
}
