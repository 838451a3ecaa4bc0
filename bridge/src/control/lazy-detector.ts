// The bridge's pose detector for reference photos, shared by everything in one process. TensorFlow.js and
// the MoveNet/CenterNet graphs take about a second and tens of MB to load, so they load on the first photo
// a request actually sends, not when a generation process or command starts.
import type { PoseDetector } from '@kirie/core/control/detector';
import type { RasterImage } from '@kirie/core/image/png';
import type { PoseDocument } from '@kirie/core/control/openpose';

let loading: Promise<PoseDetector> | undefined;

function detector(): Promise<PoseDetector> {
  loading ??= import('./movenet.js')
    .then(({ MoveNetDetector }) => MoveNetDetector.create())
    .catch((err: unknown) => {
      // A failed load (e.g. models missing) is reported to this request and tried again by the next.
      loading = undefined;
      throw new Error(`the pose detector failed to load: ${err instanceof Error ? err.message : String(err)}`);
    });
  return loading;
}

export const sharedPoseDetector: PoseDetector = {
  name: 'movenet-lightning+centernet',
  async detect(image: RasterImage): Promise<PoseDocument> {
    return (await detector()).detect(image);
  },
};
