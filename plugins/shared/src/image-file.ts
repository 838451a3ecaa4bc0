/// <reference lib="dom" />
// Image files and canvases as PNG bytes for the bridge, in a browser page (the playground, the Figma UI).

/** Any image file the browser can read (PNG, JPEG, WebP, …) as PNG bytes to upload; the bridge flattens alpha. */
export async function fileAsPng(file: Blob): Promise<Uint8Array> {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
  return pngBytes(canvas);
}

export function pngBytes(canvas: HTMLCanvasElement): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? blob.arrayBuffer().then((b) => resolve(new Uint8Array(b)), reject) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png'),
  );
}
