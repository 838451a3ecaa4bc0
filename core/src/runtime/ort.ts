// The ONNX Runtime contract the core runs on. The bridge injects onnxruntime-node, a browser injects
// onnxruntime-web; both implement onnxruntime-common's API, so the core only ever sees these types.
import type { InferenceSession, Tensor } from 'onnxruntime-common';

export type OrtSession = InferenceSession;
export type OrtTensor = Tensor;

/** The parts of an onnxruntime module the core needs: building tensors. Sessions are created by the host. */
export interface OrtModule {
  Tensor: typeof Tensor;
}
