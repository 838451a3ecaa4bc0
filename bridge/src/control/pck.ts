// PCK (percentage of correct keypoints): how well a detected pose agrees with a reference pose.
import type { PersonPose, PoseDocument } from '@kirie/core/control/openpose';

export interface PckResult {
  /** Share of the reference's keypoints found within the threshold (0..1). */
  pck: number;
  matched: number;
  total: number;
  /** threshold in pixels: `fraction` × torso size. */
  threshold: number;
}

const px = (doc: PoseDocument, p: { x: number; y: number }): [number, number] => [p.x * doc.width, p.y * doc.height];
const dist = (a: [number, number], b: [number, number]): number => Math.hypot(a[0] - b[0], a[1] - b[1]);

/**
 * Torso size of a reference person: neck to the hips' midpoint when both hips are known, else the
 * shoulder width. Null when neither can be measured.
 */
export function torsoSize(doc: PoseDocument, person: PersonPose): number | null {
  const [neck, rs, ls, rh, lh] = [1, 2, 5, 8, 11].map((i) => person.body[i]);
  if (neck && rh && lh) {
    const [a, b] = [px(doc, rh), px(doc, lh)];
    return dist(px(doc, neck), [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2]);
  }
  if (rs && ls) return dist(px(doc, rs), px(doc, ls));
  return null;
}

/** PCK@fraction of `detected` against `reference`, both people of documents of the same canvas size. */
export function pck(detectedDoc: PoseDocument, detected: PersonPose, referenceDoc: PoseDocument, reference: PersonPose, fraction = 0.2): PckResult {
  const torso = torsoSize(referenceDoc, reference);
  if (torso === null) throw new Error('pck: the reference person has neither both hips with a neck nor both shoulders');
  const threshold = fraction * torso;
  let matched = 0;
  let total = 0;
  reference.body.forEach((r, i) => {
    if (!r) return;
    total++;
    const d = detected.body[i];
    if (d && dist(px(detectedDoc, d), px(referenceDoc, r)) <= threshold) matched++;
  });
  return { pck: total > 0 ? matched / total : 0, matched, total, threshold };
}
