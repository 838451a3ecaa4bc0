// A pose as Photoshop paths. Why paths, not shape layers: the UXP DOM both writes (PathItems.add with
// SubPathInfo / PathPointInfo) and reads back (PathItem.subPathItems → pathPoints → anchor) paths, since
// Photoshop 23.3 (ps_reference/classes/pathitems, subpathitem, pathpoint), with no batchPlay descriptor;
// shape layers can only be MADE through recorded batchPlay descriptors the docs do not describe. And a
// path never renders into pixels, so the fill reads the canvas as it is, with nothing to hide and restore.
// The cost: a path has no colours and its subpaths no names. So one path per person ("Kirie pose 1")
// holds exactly 18 square markers in COCO-18 order; the Path Selection tool moves a marker (a whole
// subpath), Free Transform Path moves, turns or scales the whole figure. A marker off the canvas is a
// hidden keypoint (OpenPose draws nothing there either): hidden ones are placed in a row above the canvas,
// and the user hides one by dragging it off. Hands are not placed (21 more unnamed markers per hand would
// be unreadable).
import { BODY_KEYPOINTS } from '@kirie/core/control/openpose';
import type { PersonSkeleton, PlacedJoint, Point } from '@kirie/core/control/skeleton-geometry';

export const POSE_PATH_NAME = /^Kirie pose \d+$/;
/** Marker side in pixels: big enough to grab with the Path Selection tool. */
export const MARKER_SIZE = 12;

export const posePathName = (n: number): string => `Kirie pose ${n}`;

const square = (c: Point): Point[] => {
  const h = MARKER_SIZE / 2;
  return [{ x: c.x - h, y: c.y - h }, { x: c.x + h, y: c.y - h }, { x: c.x + h, y: c.y + h }, { x: c.x - h, y: c.y + h }];
};

/** The 18 markers of one person (canvas pixels, COCO-18 order); hidden keypoints parked above the canvas. */
export function markersFor(person: PersonSkeleton): Point[][] {
  const at = new Map(person.joints.map((j) => [j.name, j]));
  return BODY_KEYPOINTS.map((name, i) => square(at.get(name) ?? { x: MARKER_SIZE * (1.5 + 2 * i), y: -2 * MARKER_SIZE }));
}

/**
 * The joints of a pose path (its subpaths' anchors in canvas pixels): a marker's centre is the mean of its
 * anchors, which any move, turn or scale of the marker keeps; markers off the canvas are hidden keypoints.
 */
export function jointsFromMarkers(name: string, markers: readonly (readonly Point[])[], width: number, height: number): PlacedJoint[] {
  if (markers.length !== BODY_KEYPOINTS.length) {
    throw new Error(`path "${name}" has ${markers.length} markers; a Kirie pose path holds ${BODY_KEYPOINTS.length}, one per keypoint in order: undo the change, or drag a marker off the canvas to hide its keypoint`);
  }
  const joints: PlacedJoint[] = [];
  markers.forEach((anchors, i) => {
    if (anchors.length === 0) return;
    const x = anchors.reduce((s, p) => s + p.x, 0) / anchors.length;
    const y = anchors.reduce((s, p) => s + p.y, 0) / anchors.length;
    if (x >= 0 && y >= 0 && x < width && y < height) joints.push({ name: BODY_KEYPOINTS[i]!, x, y });
  });
  return joints;
}
