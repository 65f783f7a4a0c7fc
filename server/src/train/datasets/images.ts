// Image decoding and resizing for the folder dataset, in pure JS: PNG with `pngjs`, JPEG with
// `jpeg-js`, the format told by the file's first bytes (not its extension). Images become
// channels-first planes; resizing is Pillow's BILINEAR filter (a triangle filter on half-pixel
// centres, widened by the scale factor when shrinking, so downsizing averages instead of
// aliasing; when enlarging it equals PyTorch's bilinear with align_corners=False).
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

/** An 8-bit RGBA image, row-major (as both decoders return it). */
export interface Rgba { width: number; height: number; data: Uint8Array }

/** Channels-first float planes, values 0..255. */
export interface Planes { channels: number; height: number; width: number; data: Float32Array }

export type ImageFormat = 'png' | 'jpeg';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

/** Largest image accepted, in megapixels (jpeg-js's own guard; PNG is checked after decoding). */
export const MAX_MEGAPIXELS = 100;

/** Decodes a PNG or JPEG file's bytes to 8-bit RGBA; throws an Error with the decoder's reason. */
export function decodeImage(bytes: Uint8Array): Rgba {
  const format = sniffFormat(bytes);
  if (format === 'png') {
    // 16-bit PNGs are scaled to 8 bits; palette, grey and grey+alpha are expanded to RGBA.
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (png.width * png.height > MAX_MEGAPIXELS * 1e6) throw new Error(`image is ${png.width}x${png.height}, over ${MAX_MEGAPIXELS} megapixels`);
    return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  }
  if (format === 'jpeg') {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
    if (!img.width || !img.height || img.data.length !== img.width * img.height * 4) throw new Error('the decoder returned no pixels');
    return { width: img.width, height: img.height, data: img.data };
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new Error(bytes.length === 0 ? 'the file is empty' : `not a PNG or JPEG file (it starts with bytes ${head})`);
}

/**
 * RGBA -> channels-first planes. channels 3: R, G, B; channels 1: luminance
 * L = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as Pillow's convert('L')). Alpha is dropped,
 * as torchvision's ImageFolder does (Pillow's convert('RGB')).
 */
export function toPlanes(img: Rgba, channels: 1 | 3): Planes {
  const n = img.width * img.height;
  const data = new Float32Array(channels * n);
  const d = img.data;
  if (channels === 3) {
    for (let i = 0; i < n; i++) {
      data[i] = d[4 * i];
      data[n + i] = d[4 * i + 1];
      data[2 * n + i] = d[4 * i + 2];
    }
  } else {
    for (let i = 0; i < n; i++) data[i] = 0.299 * d[4 * i] + 0.587 * d[4 * i + 1] + 0.114 * d[4 * i + 2];
  }
  return { channels, height: img.height, width: img.width, data };
}

interface Coeffs { start: Int32Array; count: Int32Array; weights: Float32Array; taps: number }

/** Pillow's precompute_coeffs with the bilinear (triangle) filter, support 1. */
function coefficients(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const t = Math.abs((x - center + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      weights[i * taps + x - lo] = w;
      sum += w;
    }
    for (let x = lo; x < hi; x++) weights[i * taps + x - lo] /= sum || 1;
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, taps };
}

/** Bilinear resize of channels-first planes (Pillow's BILINEAR, in float; see the file comment). */
export function resizeBilinear(src: Planes, outH: number, outW: number): Planes {
  const { channels: c, height: h, width: w } = src;
  if (h === outH && w === outW) return src;
  const cx = coefficients(w, outW);
  const cy = coefficients(h, outH);
  // Horizontal pass: c x h x outW, then vertical: c x outH x outW.
  const mid = new Float32Array(c * h * outW);
  for (let p = 0; p < c * h; p++) {
    const row = p * w;
    for (let j = 0; j < outW; j++) {
      let acc = 0;
      const s = cx.start[j];
      for (let k = 0; k < cx.count[j]; k++) acc += src.data[row + s + k] * cx.weights[j * cx.taps + k];
      mid[p * outW + j] = acc;
    }
  }
  const out = new Float32Array(c * outH * outW);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < outH; i++) {
      const s = cy.start[i];
      for (let j = 0; j < outW; j++) {
        let acc = 0;
        for (let k = 0; k < cy.count[i]; k++) acc += mid[(ch * h + s + k) * outW + j] * cy.weights[i * cy.taps + k];
        out[(ch * outH + i) * outW + j] = acc;
      }
    }
  }
  return { channels: c, height: outH, width: outW, data: out };
}

/** Float planes -> uint8 (rounded, clamped to 0..255), written into `out` at `offset`. */
export function quantize(p: Planes, out: Uint8Array, offset: number): void {
  for (let i = 0; i < p.data.length; i++) out[offset + i] = Math.min(255, Math.max(0, Math.round(p.data[i])));
}

/** Decode + channel conversion + resize to side x side: the folder dataset's whole image path. */
export function loadImage(bytes: Uint8Array, channels: 1 | 3, side: number): Planes {
  return resizeBilinear(toPlanes(decodeImage(bytes), channels), side, side);
}
