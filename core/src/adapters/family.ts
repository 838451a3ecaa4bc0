// Which model family an adapter file was made for, from its key names and one shape: what the bridge lists
// beside each LoRA and embedding, so a user sees before trying that an SDXL LoRA will not fit an SD1.5 model.
export type AdapterFamily = 'sd1' | 'sd2' | 'sdxl' | 'unknown';

type ShapeOf = (key: string) => readonly number[] | undefined;

/** Cross-attention context width → family (CLIP ViT-L 768, OpenCLIP ViT-H 1024, SDXL's two encoders 2048). */
function byContext(width: number | undefined): AdapterFamily {
  return width === 768 ? 'sd1' : width === 1024 ? 'sd2' : width === 2048 ? 'sdxl' : 'unknown';
}

export function loraFamily(keys: readonly string[], shapeOf: ShapeOf): AdapterFamily {
  if (keys.some((k) => /^lora_te[12]_|^text_encoder_2\./.test(k))) return 'sdxl';
  // The input side of any cross-attention key/value projection is the text encoder's width.
  const kv = keys.find((k) => /attn2[._]to_[kv]/.test(k) && /(lora_down|lora\.down|lora_linear_layer\.down|lora_A)\.weight$|hada_w1_b$|lokr_w2(_b)?$/.test(k));
  if (!kv) return 'unknown';
  const shape = shapeOf(kv);
  if (!shape) return 'unknown';
  // down / w1_b are [r, in]; a LoKr w2 holds only a factor of `in`, so it says nothing certain.
  return /lokr_w2/.test(kv) ? 'unknown' : byContext(shape[shape.length - 1]);
}

export function embeddingFamily(keys: readonly string[], shapeOf: ShapeOf): AdapterFamily {
  if (keys.includes('clip_l') || keys.includes('clip_g')) return 'sdxl';
  const key = keys.includes('emb_params') ? 'emb_params' : keys.length === 1 ? keys[0]! : undefined;
  const shape = key ? shapeOf(key) : undefined;
  return byContext(shape?.[shape.length - 1]);
}
