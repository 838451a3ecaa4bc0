// ControlNet preprocessing: control images drawn exactly as the reference annotators draw them.
export * from './canny.js';
export * from './preprocess.js';
export * from './openpose.js';
export * from './render.js';
export * from './detector.js';
export { drawLine, ellipse2Poly, fillCircle, fillConvexPoly, type Canvas } from './raster.js';
