// A1111 extra_networks.parse_prompt: every `<type:args>` tag leaves the text before any other parsing (the
// ", " around it stays). LoRA tags become the request's LoRAs (core/src/adapters/prompt.ts); other types
// (hypernet, …) are not supported and are reported by whoever reads a recipe.

// A1111: re_extra_net = r"<(\w+):([^>]+)>"
export const EXTRA_NETWORK = /<(\w+):([^>]+)>/g;

export interface ExtraNetworkTag {
  type: string;
  /** The tag's text after the type, split on ':' as A1111 does. */
  args: string[];
}

export function stripExtraNetworks(prompt: string): { prompt: string; networks: ExtraNetworkTag[] } {
  const networks: ExtraNetworkTag[] = [];
  const text = prompt.replace(EXTRA_NETWORK, (_, type: string, args: string) => {
    networks.push({ type, args: args.split(':') });
    return '';
  });
  return { prompt: text, networks };
}
