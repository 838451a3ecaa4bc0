// POST /v1/poses/detect: the people in an uploaded photo as OpenPose JSON, so a host can place a detected
// pose as an editable skeleton and correct it before filling. Detection (MoveNet on tfjs-wasm, tens of ms on
// a CPU, loaded on first use) runs here, one photo at a time, not on the generation device.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { API_PREFIX, KirieApiError } from '@kirie/core/client/protocol';
import type { PoseDetector } from '@kirie/core/control/detector';
import { type PoseJson, toPoseJson } from '@kirie/core/control/openpose';
import { decodePng } from '@kirie/core/image/png';
import { ImageId, OpenPoseJson } from '@kirie/core/request/schema';
import type { ImageStore } from '../jobs/images.js';
import { parseBody } from './pairing.js';

export const PoseDetectionRequestBody = z.strictObject({ image: ImageId });
/** What detection answers: OpenPose JSON in the photo's pixels (no people when nobody was found). */
export const DetectedPoseBody = OpenPoseJson;

export function registerPoseDetection(app: FastifyInstance, images: ImageStore, detector: PoseDetector): void {
  let previous: Promise<unknown> = Promise.resolve();
  app.post(`${API_PREFIX}/poses/detect`, async (request): Promise<PoseJson> => {
    const { image } = parseBody(PoseDetectionRequestBody, request.body);
    const png = await images.get(image);
    if (!png) throw new KirieApiError(400, 'unknown_image', `image names image "${image}", which is not on the bridge; upload it with PUT /v1/images first`, 'image');
    const { width, height, channels, data } = decodePng(png);
    const detection = previous.then(() => detector.detect({ width, height, channels, data }));
    previous = detection.catch(() => undefined);
    return toPoseJson(await detection);
  });
}
