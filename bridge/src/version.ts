// The one version string: CLI --version, /v1/health, and the "Version" field of every recipe.
export const KIRIE_VERSION = '0.1.0';
