/// <reference lib="dom" />
// The playground's two canvases: the source image, and a mask the user paints over it with a round
// brush (white = repaint). Both export as PNG bytes for upload.
import { pngBytes } from '../../../plugins/shared/src/image-file.js';

export class PaintStage {
  private painting = false;
  private last: { x: number; y: number } | null = null;
  hasImage = false;
  hasMask = false;
  brush = 24;
  erase = false;

  constructor(
    private readonly image: HTMLCanvasElement,
    private readonly mask: HTMLCanvasElement,
  ) {
    mask.addEventListener('pointerdown', (e) => {
      this.painting = true;
      mask.setPointerCapture(e.pointerId);
      this.stroke(e);
    });
    mask.addEventListener('pointermove', (e) => this.painting && this.stroke(e));
    const end = () => {
      this.painting = false;
      this.last = null;
    };
    mask.addEventListener('pointerup', end);
    mask.addEventListener('pointercancel', end);
  }

  /** Sets the working size; keeps the image (scaled) and clears the mask. */
  resize(width: number, height: number): void {
    if (this.image.width === width && this.image.height === height) return;
    const copy = document.createElement('canvas');
    copy.width = this.image.width;
    copy.height = this.image.height;
    copy.getContext('2d')!.drawImage(this.image, 0, 0);
    this.image.width = this.mask.width = width;
    this.image.height = this.mask.height = height;
    if (this.hasImage) this.image.getContext('2d')!.drawImage(copy, 0, 0, width, height);
    this.clearMask();
  }

  /** Draws a picture scaled to cover the working size. */
  setImage(source: CanvasImageSource & { width: number; height: number }): void {
    const ctx = this.image.getContext('2d')!;
    const { width, height } = this.image;
    const scale = Math.max(width / source.width, height / source.height);
    const w = source.width * scale;
    const h = source.height * scale;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(source, (width - w) / 2, (height - h) / 2, w, h);
    this.hasImage = true;
    this.clearMask();
  }

  clearImage(): void {
    this.image.getContext('2d')!.clearRect(0, 0, this.image.width, this.image.height);
    this.hasImage = false;
    this.clearMask();
  }

  clearMask(): void {
    this.mask.getContext('2d')!.clearRect(0, 0, this.mask.width, this.mask.height);
    this.hasMask = false;
  }

  imagePng(): Promise<Uint8Array> {
    return pngBytes(this.image);
  }

  /** The mask as the pipeline reads it: opaque white where painted, black elsewhere. */
  maskPng(): Promise<Uint8Array> {
    const out = document.createElement('canvas');
    out.width = this.mask.width;
    out.height = this.mask.height;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(this.mask, 0, 0);
    // Painted pixels are red at any alpha on the overlay: threshold them to pure white.
    const pixels = ctx.getImageData(0, 0, out.width, out.height);
    for (let i = 0; i < pixels.data.length; i += 4) {
      const v = pixels.data[i]! > 127 ? 255 : 0;
      pixels.data[i] = pixels.data[i + 1] = pixels.data[i + 2] = v;
    }
    ctx.putImageData(pixels, 0, 0);
    return pngBytes(out);
  }

  private stroke(e: PointerEvent): void {
    const rect = this.mask.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * this.mask.width;
    const y = ((e.clientY - rect.top) / rect.height) * this.mask.height;
    const ctx = this.mask.getContext('2d')!;
    ctx.globalCompositeOperation = this.erase ? 'destination-out' : 'source-over';
    ctx.strokeStyle = ctx.fillStyle = '#f00';
    ctx.lineWidth = this.brush;
    ctx.lineCap = 'round';
    ctx.beginPath();
    if (this.last) {
      ctx.moveTo(this.last.x, this.last.y);
      ctx.lineTo(x, y);
      ctx.stroke();
    } else {
      ctx.arc(x, y, this.brush / 2, 0, Math.PI * 2);
      ctx.fill();
    }
    this.last = { x, y };
    if (!this.erase) this.hasMask = true;
  }
}

