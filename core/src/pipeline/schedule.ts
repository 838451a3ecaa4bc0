// Which steps a ControlNet acts on, as diffusers' ControlNet pipelines decide it.

/**
 * Whether a ControlNet acts on step i of n, as diffusers' `controlnet_keep`: off while i/n < start or
 * (i+1)/n > end.
 */
export function controlActive(i: number, n: number, start: number, end: number): boolean {
  return !(i / n < start || (i + 1) / n > end);
}
