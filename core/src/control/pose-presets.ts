// Starting poses for the pose editors (a figure facing the viewer: its right side on the image's left),
// COCO-18 keypoints in pixels of a 512×768 canvas, in BODY_KEYPOINTS order.
import { BODY_KEYPOINTS, type PoseDocument } from './openpose.js';

const WIDTH = 512;
const HEIGHT = 768;

type Xy = readonly [number, number];

const PRESETS = {
  standing: [[256, 120], [256, 190], [206, 190], [190, 290], [182, 380], [306, 190], [322, 290], [330, 380], [226, 390], [222, 530], [220, 660], [286, 390], [290, 530], [292, 660], [244, 108], [268, 108], [230, 116], [282, 116]],
  walking: [[256, 120], [256, 190], [208, 190], [178, 280], [196, 370], [304, 190], [336, 282], [322, 372], [228, 390], [196, 520], [176, 650], [284, 390], [306, 520], [336, 646], [244, 108], [268, 108], [230, 116], [282, 116]],
  reaching: [[256, 150], [256, 220], [206, 220], [176, 140], [160, 60], [306, 220], [340, 300], [346, 390], [226, 420], [222, 560], [220, 690], [286, 420], [290, 560], [292, 690], [244, 138], [268, 138], [230, 146], [282, 146]],
} satisfies Record<string, readonly Xy[]>;

export type PosePresetName = keyof typeof PRESETS;
export const POSE_PRESET_NAMES = Object.keys(PRESETS) as PosePresetName[];

/** A preset as a one-person pose document (every keypoint seen). */
export function posePreset(name: PosePresetName): PoseDocument {
  const points: readonly Xy[] | undefined = PRESETS[name];
  if (!points) throw new Error(`no pose preset "${String(name)}" (presets: ${POSE_PRESET_NAMES.join(', ')})`);
  if (points.length !== BODY_KEYPOINTS.length) throw new Error(`pose preset "${name}" has ${points.length} keypoints, not ${BODY_KEYPOINTS.length}`);
  return { width: WIDTH, height: HEIGHT, people: [{ body: points.map(([x, y]) => ({ x: x / WIDTH, y: y / HEIGHT, confidence: 1 })) }] };
}
